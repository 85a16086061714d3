"""vitlib.masking: MAE-style random masking keeps exactly the asked-for tokens and can undo its shuffle."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import vitlib
from vitlib.masking import (
    Masked,
    MaskedAutoencoder,
    encode_visible,
    num_kept,
    random_masking,
    restore_order,
    train_mae,
)


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
        ("0.75", TypeError, "mask_ratio must be a real number"),
        (True, TypeError, "mask_ratio must be a real number"),
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
    expected, _ = model.encode(torch.cat([cls, kept], dim=1))  # the blocks and the final norm, as the ViT runs them
    torch.testing.assert_close(latent, expected)
    # ratio 0 keeps everything, in a shuffled order; restoring it gives the full forward
    full, masked0 = encode_visible(model, images, 0.0, seed=1)
    restored = torch.cat([full[:, :1], restore_order(full[:, 1:], masked0.ids_restore)], dim=1)
    torch.testing.assert_close(restored, model.forward_features(images), atol=1e-5, rtol=0)
    assert math.isclose(masked0.mask.sum().item(), 0.0)


# --- MaskedAutoencoder: MAE's decoder on a vitlib.ViT encoder -----------------------------------------------


def tiny_mae(seed: int = 0, **kwargs) -> MaskedAutoencoder:
    torch.manual_seed(seed)
    encoder = vitlib.ViT(
        image_size=8, patch_size=2, in_chans=1, num_classes=0, embed_dim=16, depth=1, num_heads=2, pos_embed="sincos"
    )
    return MaskedAutoencoder(encoder, **{"decoder_dim": 16, "decoder_heads": 2, "mask_ratio": 0.5, **kwargs})


def digits_like(n: int = 8, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(seed))


def test_mae_predicts_every_patch_and_uses_maes_names():
    mae = tiny_mae()
    out = mae(digits_like(3), seed=0)
    assert out.pred.shape == (3, 16, 4)  # (B, N, C*P*P): 16 patches of 2 x 2 x 1 pixels
    assert out.mask.shape == (3, 16) and out.mask.sum(dim=1).tolist() == [8.0, 8.0, 8.0]
    names = {name.split(".")[0] for name, _ in mae.named_parameters()} | {"decoder_pos_embed"}
    assert {"decoder_embed", "mask_token", "decoder_blocks", "decoder_norm", "decoder_pred"} <= names
    assert mae.decoder_pos_embed.shape == (1, 17, 16) and not mae.decoder_pos_embed.requires_grad


def test_mae_hides_the_patches_random_masking_hides_for_the_same_seed():
    mae, images = tiny_mae(), digits_like(2)
    tokens = mae.encoder.patch_embed(images)
    torch.testing.assert_close(mae(images, seed=5).mask, random_masking(tokens, 0.5, seed=5).mask)
    torch.testing.assert_close(mae(images, seed=5).pred, mae(images, seed=5).pred)
    assert not torch.equal(mae(images, seed=5).mask, mae(images, seed=6).mask)


def test_mae_loss_comes_from_the_hidden_patches_only():
    mae, images = tiny_mae(), digits_like(4)
    out = mae(images, seed=1)
    out.pred.retain_grad()
    out.loss.backward()
    per_patch_grad = out.pred.grad.abs().sum(dim=-1)  # (B, N)
    hidden = out.mask.bool()
    assert torch.all(per_patch_grad[~hidden] == 0)  # a visible patch's prediction costs nothing
    assert torch.all(per_patch_grad[hidden] > 0)


def test_mae_hidden_predictions_read_the_visible_patches():
    mae, images = tiny_mae().eval(), digits_like(1)
    out = mae(images, seed=2)
    visible = (~out.mask.bool())[0].nonzero()[0].item()  # one visible patch, changed below
    row, col = divmod(visible, 4)
    changed = images.clone()
    changed[..., 2 * row : 2 * row + 2, 2 * col : 2 * col + 2] += 0.5
    after = mae(changed, seed=2)
    hidden = out.mask.bool()[0]
    assert not torch.allclose(after.pred[0, hidden], out.pred[0, hidden])  # the decoder attended to it


def test_reconstruct_keeps_the_visible_pixels_and_fills_the_hidden_ones():
    mae, images = tiny_mae(), digits_like(3)
    seen, redrawn = mae.reconstruct(images, seed=3, fill=0.25)
    out = mae.eval()(images, seed=3)
    hidden = vitlib.unpatchify(out.mask[..., None].expand(-1, -1, 4), 2, (8, 8)).bool()  # (B, 1, 8, 8)
    assert seen.shape == redrawn.shape == images.shape
    torch.testing.assert_close(seen[~hidden], images[~hidden])
    torch.testing.assert_close(redrawn[~hidden], images[~hidden])
    assert torch.all(seen[hidden] == 0.25)
    torch.testing.assert_close(redrawn[hidden], vitlib.unpatchify(out.pred, 2, (8, 8))[hidden])


def test_train_mae_lowers_the_hidden_patch_error_and_is_repeatable():
    images = torch.linspace(0, 1, 8).expand(32, 1, 8, 8).clone()  # 32 copies of one left-to-right ramp
    first = tiny_mae()
    history = train_mae(first, images, steps=60, batch_size=8, lr=1e-2, seed=0, progress=False)
    losses = history.loss
    assert len(losses) == len(history.lr) == 60 and not first.training
    assert history.lr[0] == pytest.approx(1e-2 / 1)  # warm-up over a 40th of the steps: 1 step
    assert sum(losses[-10:]) < 0.2 * sum(losses[:10])
    again = train_mae(tiny_mae(), images, steps=60, batch_size=8, lr=1e-2, seed=0, progress=False)
    assert again.loss == losses


@pytest.mark.parametrize(
    ("build", "error", "message"),
    [
        (lambda: MaskedAutoencoder(torch.nn.Linear(2, 2)), TypeError, "vitlib.ViT"),
        (lambda: tiny_mae(mask_ratio=1.0), ValueError, "mask_ratio"),
        (lambda: tiny_mae(decoder_dim=10, decoder_heads=4), ValueError, "divisible"),
        (lambda: tiny_mae(decoder_depth=0), ValueError, "decoder_depth"),
        (lambda: tiny_mae()(digits_like(2), mask_ratio=0), ValueError, "hides nothing"),
        (lambda: train_mae(tiny_mae(), torch.rand(4, 3, 8, 8), progress=False), ValueError, r"\(N, 1, 8, 8\)"),
        (lambda: train_mae(tiny_mae(), digits_like(4), steps=0, progress=False), ValueError, "steps"),
        (lambda: train_mae(tiny_mae(), digits_like(4), lr=-1.0, progress=False), ValueError, "lr must be > 0"),
        (lambda: train_mae(tiny_mae(), digits_like(4)[:0], progress=False), ValueError, "hold no images"),
        (lambda: train_mae(tiny_mae(), digits_like(4).numpy(), progress=False), TypeError, "torch.from_numpy"),
        (lambda: train_mae(tiny_mae(), digits_like(4).round().byte(), progress=False), TypeError, "/ 255"),
        (lambda: train_mae(tiny_mae(), digits_like(4) / 0, progress=False), ValueError, r"NaN or infinite"),
        (lambda: train_mae(torch.nn.Linear(2, 2), digits_like(4), progress=False), TypeError, "MaskedAutoencoder"),
        (lambda: tiny_mae()(digits_like(4)[:0]), ValueError, "empty batch"),
    ],
)
def test_mae_bad_inputs_are_named(build, error, message):
    with pytest.raises(error, match=message):
        build()


def test_train_mae_decays_only_the_weight_matrices():
    from vitlib.engine import decay_groups

    model = tiny_mae()
    names = {id(p): n for n, p in model.named_parameters()}
    decay, no_decay = decay_groups(model, 0.05)
    kept = {names[id(p)] for p in no_decay["params"]}
    assert {"mask_token", "decoder_norm.weight", "decoder_pred.bias", "encoder.cls_token"} <= kept
    assert all(p.dim() >= 2 for p in decay["params"]) and "decoder_pred.weight" not in kept
