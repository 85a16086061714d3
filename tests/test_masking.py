"""vitlib.masking: MAE-style random masking keeps exactly the asked-for tokens and can undo its shuffle."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import vitlib
from vitlib.masking import Masked, encode_visible, num_kept, random_masking, restore_order


@settings(max_examples=40, deadline=None)
@given(
    b=st.integers(1, 4),
    n=st.integers(1, 80),
    d=st.integers(1, 6),
    ratio=st.floats(0.0, 0.99),
    seed=st.integers(0, 2**16),
)
def test_keeps_exactly_round_n_times_one_minus_ratio_and_restores_the_order(b, n, d, ratio, seed):
    keep = round(n * (1 - ratio))
    if keep == 0:
        with pytest.raises(ValueError, match="hides all"):
            random_masking(torch.zeros(b, n, d), ratio, seed=seed)
        return
    tokens = torch.arange(b * n * d, dtype=torch.float32).reshape(b, n, d)
    kept, mask, ids_restore = random_masking(tokens, ratio, seed=seed)
    assert kept.shape == (b, keep, d)
    assert mask.shape == (b, n) and ids_restore.shape == (b, n)
    assert (mask.sum(dim=1) == n - keep).all()  # exactly n - keep removed in every image
    # each kept token is the original token at its position, and those positions are mask == 0
    masked = Masked(kept, mask, ids_restore)
    ids_keep = masked.ids_keep
    torch.testing.assert_close(kept, tokens.gather(1, ids_keep[..., None].expand(-1, -1, d)))
    assert (mask.gather(1, ids_keep) == 0).all()
    assert len(set(ids_keep[0].tolist())) == keep
    # ids_restore undoes the shuffle: kept tokens + the removed ones (in shuffled order) -> the original
    ids_shuffle = ids_restore.argsort(dim=1)
    removed = tokens.gather(1, ids_shuffle[:, keep:, None].expand(-1, -1, d))
    torch.testing.assert_close(restore_order(torch.cat([kept, removed], dim=1), ids_restore), tokens)


def test_seventy_five_percent_of_196_keeps_49():
    kept, mask, _ = random_masking(torch.randn(3, 196, 8), 0.75, seed=0)
    assert kept.shape == (3, 49, 8)
    assert mask.sum().item() == 3 * 147
    assert num_kept(196, 0.75) == 49 and num_kept(16, 0.75) == 4 and num_kept(10, 0.0) == 10


def test_seeded_and_different_per_image():
    x = torch.randn(2, 64, 4)
    a, b = random_masking(x, 0.5, seed=3), random_masking(x, 0.5, seed=3)
    torch.testing.assert_close(a.mask, b.mask)
    assert not torch.equal(a.mask[0], a.mask[1])  # each image gets its own subset
    assert not torch.equal(random_masking(x, 0.5, seed=4).mask, a.mask)
    g = torch.Generator().manual_seed(3)
    torch.testing.assert_close(random_masking(x, 0.5, generator=g).mask, a.mask)


@pytest.mark.parametrize(
    ("ratio", "error", "message"),
    [
        (1.0, ValueError, r"in \[0, 1\)"),
        (-0.1, ValueError, r"in \[0, 1\)"),
        (75, ValueError, "percentage"),
        (float("nan"), ValueError, r"in \[0, 1\)"),
        ("0.75", TypeError, "must be a number"),
        (True, TypeError, "must be a number"),
        (0.99, ValueError, "hides all 16 tokens"),
    ],
)
def test_bad_ratios_are_rejected_with_a_reason(ratio, error, message):
    with pytest.raises(error, match=message):
        random_masking(torch.zeros(1, 16, 4), ratio)


def test_bad_inputs():
    with pytest.raises(ValueError, match=r"\(B, N, D\)"):
        random_masking(torch.zeros(16, 4), 0.5)
    with pytest.raises(ValueError, match="either seed or generator"):
        random_masking(torch.zeros(1, 16, 4), 0.5, seed=0, generator=torch.Generator())
    with pytest.raises(ValueError, match="mask token per removed patch"):
        restore_order(torch.zeros(1, 4, 2), torch.arange(16)[None])


def test_encode_visible_runs_the_blocks_on_the_kept_tokens_only():
    torch.manual_seed(0)
    model = vitlib.ViT.from_preset("digits").eval()
    images = torch.rand(5, 1, 8, 8)
    latent, masked = encode_visible(model, images, 0.75, seed=0)
    assert latent.shape == (5, 1 + 4, 64)  # [CLS] + 4 of 16 patches
    # the same numbers as running the blocks by hand on [CLS] + the kept, position-embedded patches
    patches = model.patch_embed(images) + model.pos_embed[:, 1:]
    kept = patches.gather(1, masked.ids_keep[..., None].expand(-1, -1, 64))
    cls = (model.cls_token + model.pos_embed[:, :1]).expand(5, -1, -1)
    expected = model.norm(model.blocks(torch.cat([cls, kept], dim=1)))
    torch.testing.assert_close(latent, expected)
    # ratio 0 keeps everything, in a shuffled order; restoring it gives the full forward
    full, masked0 = encode_visible(model, images, 0.0, seed=1)
    restored = torch.cat([full[:, :1], restore_order(full[:, 1:], masked0.ids_restore)], dim=1)
    torch.testing.assert_close(restored, model.forward_features(images), atol=1e-5, rtol=0)
    assert math.isclose(masked0.mask.sum().item(), 0.0)
