"""vitlib.variants: the labs' blocks and ViTs with one part changed, and what they measure (notebooks 11 and 12)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from test_encoder import randomize, torch_layer_like
from torch import nn

import vitlib
from vitlib import Attention, Block, ViT
from vitlib.engine import NonFiniteLossError
from vitlib.train import evaluate, fit
from vitlib.variants import (
    BLOCK_OPTIONS,
    DEEP_CONFIG,
    LAB_RECIPE,
    VariantAttention,
    VariantBlock,
    VariantViT,
    attention_entropy,
    block_grad_norms,
    depth_profile,
    reinitialize,
    token_spread,
)


def torch_layer(block: nn.Module, dim: int, heads: int, hidden: int, *, norm_first: bool, batch_first: bool = True):
    """nn.TransformerEncoderLayer holding ``block``'s weights (tests/test_encoder.py's), in eval mode."""
    return torch_layer_like(block, dim, heads, hidden, batch_first=batch_first, norm_first=norm_first).eval()


def tokens(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


# ---------------------------------------------------------------------------- at the defaults, the core itself


def test_variant_attention_at_its_defaults_is_vitlib_attention():
    torch.manual_seed(0)
    core = Attention(24, num_heads=3)
    variant = VariantAttention(24, num_heads=3)
    variant.load_state_dict(core.state_dict())
    x = tokens(2, 5, 24)
    assert variant.is_default
    assert torch.equal(variant(x)[0], core(x)[0]) and variant(x)[1] is None
    for a, b in zip(variant(x, need_weights=True), core(x, need_weights=True), strict=True):
        assert torch.equal(a, b)


def test_variant_block_at_its_defaults_is_vitlib_block_number_for_number():
    torch.manual_seed(0)
    core = randomize(Block(16, num_heads=2, mlp_ratio=2.0))
    variant = VariantBlock(16, num_heads=2, mlp_ratio=2.0, **BLOCK_OPTIONS)
    assert list(variant.state_dict()) == list(core.state_dict())  # timm's names, in timm's order
    variant.load_state_dict(core.state_dict())
    x = tokens(3, 7, 16)
    assert variant.is_default
    assert torch.equal(variant.eval()(x)[0], core.eval()(x)[0])
    out, weights = variant(x, need_weights=True)
    ref_out, ref_weights = core(x, need_weights=True)
    assert torch.equal(out, ref_out) and torch.equal(weights, ref_weights)


def test_variant_vit_at_its_defaults_is_the_plain_vit_of_the_same_seed():
    torch.manual_seed(3)
    plain = ViT.from_preset("digits_p4").eval()
    torch.manual_seed(3)
    variant = VariantViT(vitlib.PRESETS["digits_p4"]).eval()
    assert variant.state_dict().keys() == plain.state_dict().keys()
    for name, value in plain.state_dict().items():
        assert torch.equal(variant.state_dict()[name], value), name
    images = torch.rand(4, 1, 8, 8)
    assert torch.equal(variant(images), plain(images))
    logits, maps = variant(images, return_attention=True)
    assert torch.equal(maps, plain(images, return_attention=True)[1])


def test_a_variant_vit_starts_from_the_plain_vits_weights():
    torch.manual_seed(5)
    plain = ViT(DEEP_CONFIG)
    torch.manual_seed(5)
    no_mlp = VariantViT(DEEP_CONFIG, block={"mlp": False, "norm": "post"})
    kept = no_mlp.state_dict()
    assert not any(".mlp." in k or ".norm2." in k for k in kept)
    assert set(kept) < set(plain.state_dict())
    for name, value in kept.items():
        assert torch.equal(value, plain.state_dict()[name]), name


# ---------------------------------------------------------------------------- each option, against PyTorch or by hand


@pytest.mark.parametrize("heads", [1, 2, 4])
def test_post_norm_is_torchs_post_norm_layer(heads):
    dim = 8 * heads
    block = randomize(VariantBlock(dim, num_heads=heads, mlp_ratio=4.0, norm="post"), seed=heads).eval()
    layer = torch_layer(block, dim, heads, 4 * dim, norm_first=False)
    x = tokens(2, 6, dim)
    torch.testing.assert_close(block(x)[0], layer(x), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(block.train()(x)[0], layer.train()(x), atol=1e-5, rtol=1e-5)  # torch's slow path


def test_batch_first_false_is_the_seeds_layer_without_batch_first():
    block = randomize(VariantBlock(16, num_heads=2, mlp_ratio=4.0, batch_first=False)).eval()
    layer = torch_layer(block, 16, 2, 64, norm_first=True, batch_first=False)
    x = tokens(4, 5, 16)
    torch.testing.assert_close(block(x)[0], layer(x), atol=1e-5, rtol=1e-5)
    out, weights = block(x, need_weights=True)
    assert weights.shape == (5, 2, 4, 4)  # per token, per head: images x images
    torch.manual_seed(0)
    block = reinitialize(VariantBlock(16, num_heads=2, batch_first=False)).eval()  # PyTorch's init
    nudged = x.clone()
    nudged[0, 2] += tokens(16, seed=1)  # not a constant: LayerNorm would take a constant away
    with torch.no_grad():
        moved = (block(nudged)[0] - block(x)[0]).abs().amax(-1) > 1e-6  # (B, N)
    assert moved[:, 2].all() and not moved[:, [0, 1, 3, 4]].any()  # token 2 of every image, no other token


def test_no_scale_is_attention_with_q_multiplied_by_sqrt_head_dim():
    torch.manual_seed(1)
    variant = VariantAttention(24, num_heads=3, scale=False)
    core = Attention(24, num_heads=3)
    core.load_state_dict(variant.state_dict())
    with torch.no_grad():  # the q rows are the first D outputs of qkv
        core.qkv.weight[:24] *= 8**0.5
        core.qkv.bias[:24] *= 8**0.5
    x = tokens(2, 5, 24)
    torch.testing.assert_close(variant(x)[0], core(x)[0])


def test_softmax_over_the_queries_makes_columns_sum_to_one():
    torch.manual_seed(2)
    attn = VariantAttention(16, num_heads=2, softmax_dim=-2)
    x = tokens(2, 5, 16)
    out, weights = attn(x, need_weights=True)
    torch.testing.assert_close(weights.sum(-2), torch.ones(2, 2, 5))
    assert (weights.sum(-1) - 1).abs().max() > 0.01  # the rows no longer do
    q, k, v = attn.qkv(x).reshape(2, 5, 3, 2, 8).permute(2, 0, 3, 1, 4)
    torch.testing.assert_close(weights, (q @ k.transpose(-2, -1) / 8**0.5).softmax(-2))
    torch.testing.assert_close(out, attn.proj((weights @ v).transpose(1, 2).reshape(2, 5, 16)))


def test_without_layernorm_residual_or_mlp_by_hand():
    x = tokens(2, 5, 16)
    torch.manual_seed(0)
    free = VariantBlock(16, num_heads=2, norm="none").eval()
    assert not any("norm" in k for k in free.state_dict())
    h = x + free.attn(x)[0]
    torch.testing.assert_close(free(x)[0], h + free.mlp(h))
    plain = VariantBlock(16, num_heads=2, residual=False).eval()
    h = plain.attn(plain.norm1(x))[0]
    torch.testing.assert_close(plain(x)[0], plain.mlp(plain.norm2(h)))
    half = VariantBlock(16, num_heads=2, mlp=False).eval()
    assert not any(k.startswith(("mlp.", "norm2.")) for k in half.state_dict())
    torch.testing.assert_close(half(x)[0], x + half.attn(half.norm1(x))[0])
    post_plain = VariantBlock(16, num_heads=2, norm="post", residual=False, mlp=False).eval()
    torch.testing.assert_close(post_plain(x)[0], post_plain.norm1(post_plain.attn(x)[0]))


def test_cls_index_is_the_token_the_head_reads():
    torch.manual_seed(0)
    model = VariantViT(vitlib.PRESETS["digits_p4"], cls_index=-1).eval()
    images = torch.rand(3, 1, 8, 8)
    with torch.no_grad():
        features = model.forward_features(images)
        torch.testing.assert_close(model(images), model.head(features[:, -1]))
    assert "cls_index=-1" in repr(model)


def test_ignore_eval_keeps_dropout_on_and_can_be_switched_off():
    torch.manual_seed(0)
    model = VariantViT(vitlib.PRESETS["digits_p4"], drop_rate=0.5, ignore_eval=True)
    images = torch.rand(8, 1, 8, 8)
    model.eval()
    assert model.training
    with torch.no_grad():
        assert not torch.equal(model(images), model(images))  # dropout is still on
    model.ignore_eval = False
    model.eval()
    assert not model.training
    with torch.no_grad():
        assert torch.equal(model(images), model(images))


def test_variants_train_with_the_one_engine():
    data = vitlib.data.load_digit_splits(seed=0)
    for options in ({"block": {"norm": "post"}}, {"block": {"batch_first": False}}, {"cls_index": 1}):
        torch.manual_seed(0)
        model = VariantViT(vitlib.PRESETS["digits_p4"], depth=1, **options)
        history = fit(model, data.x_train[:128], data.y_train[:128], config=LAB_RECIPE, epochs=1, progress=False)
        assert len(history.loss) == 2 and all(math.isfinite(v) for v in history.loss)
        assert 0.0 <= evaluate(model, data.x_val, data.y_val).accuracy <= 1.0


def test_a_diverging_variant_stops_with_the_engines_error():
    data = vitlib.data.load_digit_splits(seed=0)
    torch.manual_seed(0)
    model = reinitialize(VariantViT(DEEP_CONFIG, block={"norm": "none"}), 3.0)  # huge weights, no LayerNorm
    with pytest.raises(NonFiniteLossError):
        fit(model, data.x_train[:64], data.y_train[:64], config=LAB_RECIPE, lr=1.0, grad_clip=None, progress=False)


@pytest.mark.parametrize(
    ("build", "error", "match"),
    [
        (lambda: VariantBlock(16, num_heads=2, norm="middle"), ValueError, "norm must be one of 'pre', 'post', 'none'"),
        (lambda: VariantBlock(16, num_heads=2, residual=1), TypeError, "residual must be True or False"),
        (lambda: VariantAttention(16, num_heads=2, softmax_dim=0), ValueError, "softmax_dim must be -1 or -2"),
        (lambda: VariantAttention(16, num_heads=2, scale="yes"), TypeError, "scale must be True or False"),
        (lambda: VariantViT(vitlib.PRESETS["digits_p4"], block={"layernorm": False}), TypeError, "unknown block"),
        (lambda: VariantViT(vitlib.PRESETS["digits_p4"], cls_index=5), ValueError, "one of the 5 tokens"),
        (lambda: VariantViT(vitlib.PRESETS["digits_p4"], cls_index=0.5), TypeError, "cls_index must be a whole"),
        (lambda: VariantViT(vitlib.PRESETS["digits_p4"], ignore_eval="no"), TypeError, "ignore_eval must be"),
        (lambda: reinitialize(nn.Linear(2, 2), 0.0), ValueError, "std must be"),
    ],
)
def test_bad_options_are_refused_with_the_fix(build, error, match):
    with pytest.raises(error, match=match):
        build()


# ---------------------------------------------------------------------------- initialisation and measurements


def test_reinitialize_draws_pytorchs_default_or_a_normal():
    torch.manual_seed(0)
    layer = nn.Linear(768, 768)
    nn.init.zeros_(layer.weight)
    reinitialize(layer)
    bound = 1 / 768**0.5
    assert layer.weight.abs().max() <= bound and layer.bias.abs().max() <= bound
    assert layer.weight.var().item() == pytest.approx(1 / (3 * 768), rel=0.02)
    x = torch.randn(4096, 768)
    with torch.no_grad():  # notebook 05's "variance 1" corrected: a default nn.Linear gives about 1/3
        assert (x @ layer.weight.T).var().item() == pytest.approx(1 / 3, rel=0.05)
    reinitialize(layer, 0.02)
    assert layer.weight.std().item() == pytest.approx(0.02, rel=0.02) and not layer.bias.any()
    model = ViT.from_preset("digits_p4")
    conv = model.patch_embed.proj.weight.clone()
    reinitialize(model, 0.5)
    assert torch.equal(model.patch_embed.proj.weight, conv)  # only nn.Linear layers
    assert model.head.weight.std().item() == pytest.approx(0.5, rel=0.1)


def test_attention_entropy_in_nats():
    uniform = torch.full((2, 3, 4, 4), 0.25)
    torch.testing.assert_close(attention_entropy(uniform), torch.full((2, 3, 4), math.log(4)))
    one_hot = torch.eye(4).expand(2, 4, 4)
    torch.testing.assert_close(attention_entropy(one_hot), torch.zeros(2, 4))
    with pytest.raises(ValueError, match="must be"):
        attention_entropy(torch.ones(2, 3, 4))


def test_token_spread_is_zero_for_equal_tokens_and_ignores_a_shared_offset():
    same = tokens(3, 1, 8).expand(3, 5, 8)
    torch.testing.assert_close(token_spread(same), torch.zeros(3), atol=1e-6, rtol=0)
    x = tokens(3, 5, 8)
    torch.testing.assert_close(token_spread(x + 10 * tokens(1, 1, 8, seed=1)), token_spread(x))
    assert (token_spread(x) > 0.3).all()


def test_depth_profile_hooks_the_models_own_forward():
    torch.manual_seed(0)
    model = ViT.from_preset("digits_p4", depth=3, drop_path_rate=0.0)
    images, labels = torch.rand(6, 1, 8, 8), torch.arange(6)
    profile = depth_profile(model, images, labels)
    assert profile.scale.shape == profile.spread.shape == profile.grad.shape == (4,)
    assert all(p.grad is None for p in model.parameters())  # .grad untouched
    x = model.embed(images)
    torch.testing.assert_close(profile.scale[0], x.pow(2).mean().sqrt())
    states = [x.detach().requires_grad_()]
    for block in model.blocks:
        states.append(block(states[-1])[0])
    loss = F.cross_entropy(model.head(model.pool(model.norm(states[-1]))), labels)
    grads = torch.autograd.grad(loss, states)
    torch.testing.assert_close(profile.grad, torch.stack([g.pow(2).mean().sqrt() * 6 for g in grads]))
    torch.testing.assert_close(profile.spread[-1], token_spread(states[-1].detach()).mean())


def test_block_grad_norms_are_each_blocks_gradient():
    torch.manual_seed(0)
    model = ViT.from_preset("digits_p4", depth=3, drop_path_rate=0.0)
    images, labels = torch.rand(6, 1, 8, 8), torch.arange(6)
    norms = block_grad_norms(model, images, labels)
    fc2 = block_grad_norms(model, images, labels, parameter="mlp.fc2.weight")
    assert all(p.grad is None for p in model.parameters())
    F.cross_entropy(model(images), labels).backward()
    for i, block in enumerate(model.blocks):
        expected = torch.stack([p.grad.pow(2).sum() for p in block.parameters()]).sum().sqrt()
        torch.testing.assert_close(norms[i], expected)
        torch.testing.assert_close(fc2[i], block.mlp.fc2.weight.grad.norm())
    with pytest.raises(ValueError, match="one of"):
        block_grad_norms(model, images, labels, parameter="mlp.fc3.weight")
    with pytest.raises(TypeError, match="vitlib.ViT"):
        block_grad_norms(nn.Linear(2, 2), images, labels)


def test_block_grad_norms_refuses_a_weight_the_blocks_lack():
    torch.manual_seed(0)
    model = VariantViT(vitlib.PRESETS["digits_p4"], depth=2, block={"mlp": False})
    with pytest.raises(ValueError, match="one of"):
        block_grad_norms(model, torch.rand(2, 1, 8, 8), torch.arange(2), parameter="mlp.fc2.weight")
