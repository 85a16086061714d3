"""vitlib against timm itself: the same state dict loads strictly and gives the same numbers.

timm cannot be imported beside the CPU build of torch of the learner's
environment (PyPI's torchvision fails to load next to it), so there these
tests are reported as skipped. ``.ci/run`` runs this file a second time in a
virtual environment of its own with timm's stack (``.venv-timm``: torch,
torchvision and timm from the registry) and ``VITLIB_REQUIRE_TIMM=1``, which
turns the skip into a failure: on CI the timm claims are checked on the CPU
every run. The state-dict table itself is checked everywhere, from timm's
documented names and shapes, in tests/test_model.py.
"""

from __future__ import annotations

import os

import pytest
import torch

from vitlib import PRESETS, ViT, resize_pos_embed
from vitlib.hub import load_checkpoint

pytestmark = pytest.mark.usefixtures("exact_fp32")


def import_timm():
    try:
        import timm
    except Exception as error:  # ImportError, or torchvision's "operator torchvision::nms does not exist"
        message = f"timm does not import here ({type(error).__name__}: {error})"
        if os.environ.get("VITLIB_REQUIRE_TIMM") == "1":  # .ci/run's timm environment: a skip would hide a failure
            pytest.fail(f"{message}, but VITLIB_REQUIRE_TIMM=1 requires it", pytrace=False)
        pytest.skip(message)
    return timm


@pytest.fixture(scope="module")
def timm():
    return import_timm()


def devices() -> list[str]:
    return ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("name", ["vit_tiny_patch16_224", "vit_small_patch16_224", "vit_base_patch16_224"])
def test_timms_model_loads_strictly_and_gives_the_same_logits(timm, name, device):
    torch.manual_seed(0)
    reference = timm.create_model(name, pretrained=False).eval().to(device)
    ours = ViT.from_preset(name).to(device)
    assert set(ours.state_dict()) == set(reference.state_dict())
    ours.load_state_dict(reference.state_dict(), strict=True)
    ours.eval()
    images = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(1)).to(device)
    with torch.no_grad():
        torch.testing.assert_close(ours.forward_features(images), reference.forward_features(images))
        torch.testing.assert_close(ours(images), reference(images), rtol=1e-4, atol=1e-4)


def test_the_digits_model_is_a_timm_vision_transformer(timm):
    config = PRESETS["digits_p4"]
    from timm.models.vision_transformer import VisionTransformer

    torch.manual_seed(0)
    reference = VisionTransformer(
        img_size=config.image_size,
        patch_size=config.patch_size,
        in_chans=config.in_chans,
        num_classes=config.num_classes,
        embed_dim=config.embed_dim,
        depth=config.depth,
        num_heads=config.num_heads,
        mlp_ratio=config.mlp_ratio,
    ).eval()
    ours = ViT(config)
    ours.load_state_dict(reference.state_dict(), strict=True)
    ours.eval()
    images = torch.rand(16, 1, 8, 8, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        torch.testing.assert_close(ours(images), reference(images))


def test_a_saved_timm_checkpoint_loads_with_its_config_inferred(timm, tmp_path):
    torch.manual_seed(0)
    reference = timm.create_model("vit_tiny_patch16_224", pretrained=False, num_classes=7).eval()
    path = tmp_path / "vit_tiny.pth"
    torch.save(reference.state_dict(), path)
    ours = load_checkpoint(path, num_heads=3)
    assert ours.config.embed_dim == 192 and ours.config.num_classes == 7 and ours.config.eps == 1e-6
    images = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        torch.testing.assert_close(ours(images), reference(images), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(("new", "old"), [((24, 24), (14, 14)), ((7, 7), (14, 14)), ((10, 16), (14, 14))])
def test_resize_pos_embed_matches_timms_resample_abs_pos_embed(timm, new, old):
    from timm.layers import resample_abs_pos_embed

    table = torch.randn(1, 1 + old[0] * old[1], 32, generator=torch.Generator().manual_seed(4))
    expected = resample_abs_pos_embed(table, new_size=list(new), old_size=list(old), num_prefix_tokens=1)
    torch.testing.assert_close(resize_pos_embed(table, new, old), expected)


def test_a_timm_checkpoint_at_a_new_image_size_matches_timms_own_resize(timm, tmp_path):
    torch.manual_seed(0)
    source = timm.create_model("vit_tiny_patch16_224", pretrained=False)
    path = tmp_path / "vit_tiny.pth"
    torch.save(source.state_dict(), path)
    # timm: a model built at 384 px resamples the 224 px table when it loads the checkpoint.
    reference = timm.create_model("vit_tiny_patch16_224", pretrained=False, img_size=384)
    from timm.models.vision_transformer import checkpoint_filter_fn

    reference.load_state_dict(checkpoint_filter_fn(source.state_dict(), reference), strict=True)
    reference.eval()
    ours = load_checkpoint(path, num_heads=3, image_size=384)
    assert ours.pos_embed.shape == reference.pos_embed.shape == (1, 577, 192)
    torch.testing.assert_close(ours.pos_embed, reference.pos_embed)
    images = torch.randn(1, 3, 384, 384, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        torch.testing.assert_close(ours(images), reference(images), rtol=1e-4, atol=1e-4)
