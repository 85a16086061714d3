"""The whole ViT: timm's state-dict table, presets, shapes, gradients and clear errors."""

import pytest
import torch

from vitlib import PRESETS, ViT, ViTConfig
from vitlib.encoder import DropPath


def timm_table(d: int, depth: int, *, tokens: int = 197, classes: int = 1000, chans: int = 3, patch: int = 16):
    """timm's VisionTransformer state dict, key -> shape (reference_impls.md section 1)."""
    table = {
        "cls_token": (1, 1, d),
        "pos_embed": (1, tokens, d),
        "patch_embed.proj.weight": (d, chans, patch, patch),
        "patch_embed.proj.bias": (d,),
    }
    for i in range(depth):
        table |= {
            f"blocks.{i}.norm1.weight": (d,),
            f"blocks.{i}.norm1.bias": (d,),
            f"blocks.{i}.attn.qkv.weight": (3 * d, d),
            f"blocks.{i}.attn.qkv.bias": (3 * d,),
            f"blocks.{i}.attn.proj.weight": (d, d),
            f"blocks.{i}.attn.proj.bias": (d,),
            f"blocks.{i}.norm2.weight": (d,),
            f"blocks.{i}.norm2.bias": (d,),
            f"blocks.{i}.mlp.fc1.weight": (4 * d, d),
            f"blocks.{i}.mlp.fc1.bias": (4 * d,),
            f"blocks.{i}.mlp.fc2.weight": (d, 4 * d),
            f"blocks.{i}.mlp.fc2.bias": (d,),
        }
    return table | {"norm.weight": (d,), "norm.bias": (d,), "head.weight": (classes, d), "head.bias": (classes,)}


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return ViT.from_preset("vit_tiny_patch16_224").eval()


def test_vit_tiny_state_dict_is_timms_table(tiny):
    shapes = {k: tuple(v.shape) for k, v in tiny.state_dict().items()}
    assert shapes == timm_table(192, 12)
    assert len(shapes) == 152
    assert sum(p.numel() for p in tiny.parameters()) == 5_717_416


def test_timm_layout_state_dict_loads_strictly(tiny):
    # a state dict built from the table alone (as a timm checkpoint would be) loads with strict=True
    fake = {k: torch.randn(shape) for k, shape in timm_table(192, 12).items()}
    model = ViT.from_preset("vit_tiny_patch16_224")
    model.load_state_dict(fake, strict=True)
    torch.testing.assert_close(model.blocks[3].attn.qkv.weight, fake["blocks.3.attn.qkv.weight"])


@pytest.mark.parametrize(
    ("name", "params"), [("vit_small_patch16_224", 22_050_664), ("vit_base_patch16_224", 86_567_656)]
)
def test_preset_parameter_counts_match_timm(name, params):
    with torch.device("meta"):  # shapes only: no memory, no init
        model = ViT.from_preset(name)
    assert sum(p.numel() for p in model.parameters()) == params


def test_regularisation_adds_no_parameters_and_keeps_keys():
    plain = ViT.from_preset("digits")
    regular = ViT.from_preset("digits", drop_rate=0.1, attn_drop_rate=0.1, drop_path_rate=0.2)
    assert list(plain.state_dict()) == list(regular.state_dict())
    rates = [block.drop_path1.p for block in regular.blocks]
    assert rates[0] == 0.0 and rates[-1] == pytest.approx(0.2) and rates == sorted(rates)


def test_regularisation_is_off_in_eval_mode():
    torch.manual_seed(0)
    model = ViT.from_preset("digits", drop_rate=0.3, attn_drop_rate=0.3, drop_path_rate=0.3).eval()
    plain = ViT.from_preset("digits").eval()  # the same weights, no regularisation at all
    plain.load_state_dict(model.state_dict())
    x = torch.rand(4, 1, 8, 8)
    torch.testing.assert_close(model(x), plain(x), atol=0, rtol=0)
    logits, _ = model(x, return_attention=True)
    torch.testing.assert_close(logits, plain(x), atol=1e-5, rtol=1e-5)
    torch.manual_seed(1)
    trained_mode = model.train()(x)
    assert not torch.allclose(trained_mode, plain(x), atol=1e-3)  # dropout and drop-path act in training mode


def test_drop_path_keeps_the_expected_value():
    torch.manual_seed(0)
    drop = DropPath(0.25).train()
    out = drop(torch.ones(20_000, 3))
    assert out[:, 0].unique().tolist() == pytest.approx([0.0, 4 / 3])
    assert out.mean().item() == pytest.approx(1.0, abs=0.02)
    with pytest.raises(ValueError, match=r"drop_path must be in \[0, 1\); got 1.0"):
        DropPath(1.0)
    with pytest.raises(TypeError, match="drop_path must be a real number; got '0.1' of type str"):
        DropPath("0.1")


def test_digits_shapes_and_attention_maps():
    torch.manual_seed(0)
    cfg = PRESETS["digits"]
    model = ViT.from_preset("digits").eval()
    x = torch.rand(3, 1, 8, 8)
    n = (8 // cfg.patch_size) ** 2 + 1
    assert model.embed(x).shape == (3, n, cfg.embed_dim)
    assert model.forward_features(x).shape == (3, n, cfg.embed_dim)
    logits, maps = model(x, return_attention=True)
    assert logits.shape == (3, 10)
    assert maps.shape == (cfg.depth, 3, cfg.num_heads, n, n)
    torch.testing.assert_close(maps.sum(-1), torch.ones(cfg.depth, 3, cfg.num_heads, n))
    torch.testing.assert_close(logits, model(x), atol=1e-5, rtol=1e-5)


def test_mean_pool_and_sincos_positions():
    torch.manual_seed(0)
    model = ViT(image_size=8, patch_size=2, in_chans=1, num_classes=3, embed_dim=16, depth=1, num_heads=2, pool="mean")
    tokens = model.forward_features(torch.rand(2, 1, 8, 8))
    torch.testing.assert_close(model.pool(tokens), tokens[:, 1:].mean(1))
    fixed = ViT(image_size=8, patch_size=2, in_chans=1, embed_dim=16, depth=1, num_heads=2, pos_embed="sincos")
    assert "pos_embed" in dict(fixed.named_buffers()) and "pos_embed" not in dict(fixed.named_parameters())


def test_gradient_reaches_every_parameter():
    torch.manual_seed(0)
    model = ViT.from_preset("digits")
    x, y = torch.rand(4, 1, 8, 8), torch.tensor([0, 1, 2, 3])
    torch.nn.functional.cross_entropy(model(x), y).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_timm_init():
    torch.manual_seed(0)
    model = ViT(embed_dim=192, depth=2, num_heads=3)
    assert model.cls_token.abs().max() < 1e-4
    assert 0.015 < model.pos_embed.std() < 0.025
    assert 0.015 < model.blocks[0].attn.qkv.weight.std() < 0.025
    assert model.blocks[0].mlp.fc1.bias.abs().max() == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"embed_dim": 50, "num_heads": 4}, r"embed_dim=50 is not divisible by num_heads=4"),
        ({"pos_embed": "rope"}, "pos_embed must be one of 'learned', 'sincos', 'none'"),
        ({"pool": "max"}, "pool must be 'token' or 'mean'"),
        ({"image_size": 30, "patch_size": 16}, r"patch_size=16 does not divide the image height 30 and width 30"),
        ({"depth": -1}, r"depth must be a whole number >= 0; got -1"),
        ({"mlp_ratio": 0}, r"mlp_ratio must be > 0; got 0"),
        ({"drop_path_rate": 1.5}, r"drop_path_rate must be in \[0, 1\); got 1.5"),
    ],
)
def test_bad_configs_name_the_problem(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ViT(**({"embed_dim": 32, "depth": 1, "num_heads": 2} | kwargs))


def test_unknown_field_and_preset():
    with pytest.raises(TypeError, match="heads"):
        ViT(heads=3)
    with pytest.raises(ValueError, match=r"preset must be one of 'digits', .*; got 'vit_huge'"):
        ViT.from_preset("vit_huge")


@pytest.mark.parametrize(
    ("shape", "message"),
    [
        ((2, 1, 16, 16), r"16x16 .* built for 8x8.*resize_pos_embed"),
        ((2, 3, 8, 8), r"3 channels .* expects 1"),
        ((1, 8, 8), r"4-D .*unsqueeze\(0\)"),
    ],
)
def test_wrong_inputs_name_the_fix(shape, message):
    model = ViT.from_preset("digits")
    with pytest.raises(ValueError, match=message):
        model(torch.rand(*shape))


def test_integer_images_are_refused_with_a_fix():
    model = ViT.from_preset("digits")
    with pytest.raises(TypeError, match=r"uint8.*float"):
        model(torch.zeros(1, 1, 8, 8, dtype=torch.uint8))


def test_extra_repr_lists_the_config():
    assert PRESETS["digits"].embed_dim != 48
    assert "embed_dim=48" in repr(ViT.from_preset("digits", embed_dim=48))
    assert isinstance(ViT.from_preset("digits").config, ViTConfig)


def test_a_depth_0_model_returns_an_empty_stack_of_attention():
    model = ViT.from_preset("digits", depth=0)
    logits, attention = model(torch.rand(2, 1, 8, 8), return_attention=True)
    assert logits.shape == (2, 10) and attention.shape == (0, 2, 4, 17, 17)


def test_images_are_checked_once_at_the_boundary_not_in_every_block(monkeypatch):
    from vitlib import checks

    calls = {"model_images": 0, "tokens_in": 0}
    for name in calls:
        original = getattr(checks, name)

        def counted(*args, _original=original, _name=name, **kwargs):
            calls[_name] += 1
            return _original(*args, **kwargs)

        monkeypatch.setattr(checks, name, counted)
    model = ViT.from_preset("vit_tiny_patch16_224", depth=2)
    model(torch.rand(1, 3, 224, 224), return_attention=True)
    assert calls == {"model_images": 1, "tokens_in": 0}  # the blocks' checks run only after a failure
