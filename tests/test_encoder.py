"""The pre-norm block vs. nn.TransformerEncoderLayer, and the seed's batch_first mistake."""

import warnings

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from vitlib import Block, Mlp


def torch_layer_like(block: Block, dim: int, heads: int, hidden: int, *, batch_first: bool = True):
    """nn.TransformerEncoderLayer configured as timm's block, holding the block's weights."""
    layer = nn.TransformerEncoderLayer(
        dim,
        heads,
        hidden,
        dropout=0.0,
        activation="gelu",
        layer_norm_eps=1e-6,
        batch_first=batch_first,
        norm_first=True,
    )
    pairs = {
        "self_attn.in_proj_weight": "attn.qkv.weight",
        "self_attn.in_proj_bias": "attn.qkv.bias",
        "self_attn.out_proj.weight": "attn.proj.weight",
        "self_attn.out_proj.bias": "attn.proj.bias",
        "linear1.weight": "mlp.fc1.weight",
        "linear1.bias": "mlp.fc1.bias",
        "linear2.weight": "mlp.fc2.weight",
        "linear2.bias": "mlp.fc2.bias",
        "norm1.weight": "norm1.weight",
        "norm1.bias": "norm1.bias",
        "norm2.weight": "norm2.weight",
        "norm2.bias": "norm2.bias",
    }
    ours = block.state_dict()
    layer.load_state_dict({theirs: ours[mine] for theirs, mine in pairs.items()}, strict=True)
    return layer


def randomize(module: nn.Module, seed: int = 0) -> nn.Module:
    """Random values everywhere, LayerNorm weights and biases too (so that a swapped norm would show)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.3 + (1.0 if p.dim() == 1 and "norm" in str(p) else 0.0))
    return module


@settings(max_examples=10, deadline=None)
@given(
    batch=st.integers(1, 3),
    tokens=st.integers(1, 9),
    heads=st.sampled_from([1, 2, 4]),
    mlp_ratio=st.sampled_from([1.0, 2.0, 4.0]),
)
def test_block_equals_torch_transformer_encoder_layer(batch, tokens, heads, mlp_ratio):
    dim = 8 * heads
    block = randomize(Block(dim, num_heads=heads, mlp_ratio=mlp_ratio), seed=tokens).eval()
    layer = torch_layer_like(block, dim, heads, int(dim * mlp_ratio)).eval()
    x = torch.randn(batch, tokens, dim, generator=torch.Generator().manual_seed(batch))
    torch.testing.assert_close(block(x), layer(x), atol=1e-5, rtol=1e-5)
    # also in training mode (no dropout anywhere), where torch takes its slow path
    torch.testing.assert_close(block.train()(x), layer.train()(x), atol=1e-5, rtol=1e-5)


def test_block_is_two_residual_lines():
    torch.manual_seed(0)
    block = Block(16, num_heads=2).eval()
    x = torch.randn(2, 5, 16)
    h = x + block.attn(block.norm1(x))
    torch.testing.assert_close(block(x), h + block.mlp(block.norm2(h)))


def test_block_uses_eps_1e6_and_exact_gelu():
    block = Block(16, num_heads=2, mlp_ratio=4.0)
    assert block.norm1.eps == block.norm2.eps == 1e-6
    assert block.mlp.act.approximate == "none"
    assert block.mlp.fc1.out_features == 64
    x = torch.linspace(-3, 3, 7)
    torch.testing.assert_close(block.mlp.act(x), 0.5 * x * (1 + torch.erf(x / 2**0.5)))


def test_block_state_dict_keys_are_timms():
    keys = list(Block(16, num_heads=2).state_dict())
    assert keys == [
        "norm1.weight",
        "norm1.bias",
        "attn.qkv.weight",
        "attn.qkv.bias",
        "attn.proj.weight",
        "attn.proj.bias",
        "norm2.weight",
        "norm2.bias",
        "mlp.fc1.weight",
        "mlp.fc1.bias",
        "mlp.fc2.weight",
        "mlp.fc2.bias",
    ]


def test_forward_return_attention_matches_forward():
    torch.manual_seed(0)
    block = Block(16, num_heads=4).eval()
    x = torch.randn(2, 6, 16)
    out, weights = block(x, return_attention=True)
    assert weights.shape == (2, 4, 6, 6)
    torch.testing.assert_close(out, block(x), atol=1e-6, rtol=1e-6)


def test_mlp_shapes():
    mlp = Mlp(8, 32)
    assert mlp(torch.randn(2, 3, 8)).shape == (2, 3, 8)


def test_block_rejects_wrong_width():
    with pytest.raises(ValueError, match=r"block expects tokens of shape \(B, N, 16\); got \(2, 5, 12\)"):
        Block(16, num_heads=2)(torch.randn(2, 5, 12))
    with pytest.raises(ValueError, match="not divisible by num_heads=3"):
        Block(16, num_heads=3)


# --- the seed's encoder snippet: TransformerEncoderLayer without batch_first=True -------------------


def seed_encoder(batch_first: bool = False, num_layers: int = 6) -> nn.TransformerEncoder:
    """The seed's encoder (6 layers); fewer layers show the same facts faster."""
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "enable_nested_tensor is True, but ... batch_first was not True"
        layer = nn.TransformerEncoderLayer(d_model=512, nhead=8, dim_feedforward=2048, batch_first=batch_first)
        return nn.TransformerEncoder(layer, num_layers=num_layers).eval()


def changed_tokens(encoder: nn.Module, x: torch.Tensor, image: int, token: int) -> torch.Tensor:
    """(B, N) booleans: which output tokens move when one input token is nudged."""
    nudged = x.clone()
    nudged[image, token] += 1.0
    with torch.no_grad():
        return (encoder(nudged) - encoder(x)).abs().amax(-1) > 1e-4


def test_seed_snippet_runs_without_error_and_each_token_attends_only_to_itself():
    transformer = seed_encoder(batch_first=False)
    tokens = torch.randn(1, 5, 512)
    with torch.no_grad():
        encoded = transformer(tokens)  # no error...
    assert encoded.shape == (1, 5, 512)
    # ...yet (1, 5, 512) is read as (S=1, batch=5, E): five one-token "sequences". A token attends only to itself,
    # so nudging token 2 moves token 2 and nothing else.
    assert changed_tokens(transformer, tokens, 0, 2).tolist() == [[False, False, True, False, False]]
    # and each token's output is what it would be alone
    with torch.no_grad():
        alone = torch.cat([transformer(tokens[:, i : i + 1]) for i in range(5)], dim=1)
    torch.testing.assert_close(encoded, alone, atol=1e-5, rtol=1e-5)


def test_seed_snippet_mixes_images_of_a_batch():
    transformer = seed_encoder(batch_first=False, num_layers=2)
    x = torch.randn(4, 10, 512, generator=torch.Generator().manual_seed(1))
    # token 5 of image 0 moves token 5 of every image, and nothing else
    expected = torch.zeros(4, 10, dtype=torch.bool)
    expected[:, 5] = True
    assert torch.equal(changed_tokens(transformer, x, 0, 5), expected)
    # an image's output depends on the rest of the batch
    with torch.no_grad():
        assert (transformer(x)[:1] - transformer(x[:1])).abs().max() > 0.1


def test_batch_first_fixes_it():
    # same seed: same weights
    wrong, right = seed_encoder(batch_first=False, num_layers=2), seed_encoder(batch_first=True, num_layers=2)
    x = torch.randn(4, 10, 512, generator=torch.Generator().manual_seed(1))
    expected = torch.zeros(4, 10, dtype=torch.bool)
    expected[0] = True  # every token of image 0, no token of the other images
    assert torch.equal(changed_tokens(right, x, 0, 5), expected)
    with torch.no_grad():
        torch.testing.assert_close(right(x)[:1], right(x[:1]), atol=1e-5, rtol=1e-5)
        # the wrong layer is the right layer applied to the transposed tensor
        torch.testing.assert_close(wrong(x), right(x.transpose(0, 1)).transpose(0, 1), atol=1e-5, rtol=1e-5)
