"""The pre-norm block vs. nn.TransformerEncoderLayer, and the seed's batch_first mistake."""

import warnings

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from vitlib import Block, Mlp


def torch_layer_like(
    block: nn.Module, dim: int, heads: int, hidden: int, *, batch_first: bool = True, norm_first: bool = True
):
    """nn.TransformerEncoderLayer with GELU, eps 1e-6 and no dropout (timm's block when ``norm_first``), holding
    the block's weights; ``norm_first=False`` is the post-norm layer (notebook 11's variant)."""
    layer = nn.TransformerEncoderLayer(
        dim,
        heads,
        hidden,
        dropout=0.0,
        activation="gelu",
        layer_norm_eps=1e-6,
        batch_first=batch_first,
        norm_first=norm_first,
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
    """Random values everywhere, LayerNorm weights and biases too (so that a swapped norm would show).

    LayerNorm weights are drawn around 1 (the others around 0), found by their module's type.
    """
    norm_weights = {f"{name}.weight" for name, m in module.named_modules() if isinstance(m, nn.LayerNorm)}
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.3 + (1.0 if name in norm_weights else 0.0))
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
    torch.testing.assert_close(block(x)[0], layer(x), atol=1e-5, rtol=1e-5)
    # also in training mode (no dropout anywhere), where torch takes its slow path
    torch.testing.assert_close(block.train()(x)[0], layer.train()(x), atol=1e-5, rtol=1e-5)


def test_block_is_two_residual_lines():
    torch.manual_seed(0)
    block = Block(16, num_heads=2).eval()
    x = torch.randn(2, 5, 16)
    h = x + block.attn(block.norm1(x))[0]
    torch.testing.assert_close(block(x)[0], h + block.mlp(block.norm2(h)))


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


def test_the_weights_come_from_the_same_forward_and_only_when_asked():
    torch.manual_seed(0)
    block = Block(16, num_heads=4).eval()
    x = torch.randn(2, 6, 16)
    out, weights = block(x, need_weights=True)
    fast, none = block(x)
    assert weights.shape == (2, 4, 6, 6) and none is None
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 4, 6))
    torch.testing.assert_close(out, fast, atol=1e-6, rtol=1e-6)


def test_mlp_shapes():
    mlp = Mlp(8, 32)
    assert mlp(torch.randn(2, 3, 8)).shape == (2, 3, 8)


def test_block_rejects_wrong_width():
    with pytest.raises(ValueError, match=r"x must be tokens of shape \(B, N, 16\); got \(2, 5, 12\)"):
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


def test_randomize_puts_layernorm_weights_around_one():
    block = randomize(Block(8, num_heads=2))
    assert block.norm1.weight.mean().item() > 0.7 and block.norm2.weight.mean().item() > 0.7
    assert abs(block.norm1.bias.mean().item()) < 0.3 and abs(block.mlp.fc1.weight.mean().item()) < 0.3


def test_drop_path_draws_its_mask_on_the_cpu_and_moves_it_to_the_input():
    from vitlib.encoder import DropPath

    layer = DropPath(0.5).train()
    torch.manual_seed(0)
    on_cpu = layer(torch.ones(64, 3, 4))
    after_cpu = torch.random.get_rng_state()
    torch.manual_seed(0)
    on_meta = layer(torch.ones(64, 3, 4, device="meta"))  # a device other than the CPU: the mask must follow x
    assert on_meta.device.type == "meta" and on_meta.shape == (64, 3, 4)
    assert torch.equal(torch.random.get_rng_state(), after_cpu)  # the same draw from the CPU's generator
    keep = on_cpu[:, 0, 0]
    assert set(keep.unique().tolist()) <= {0.0, 2.0} and 0 < (keep == 0).sum() < 64  # whole samples, scaled by 2
    assert torch.equal(on_cpu, keep[:, None, None].expand(64, 3, 4))
    assert torch.equal(layer.eval()(torch.ones(2, 3)), torch.ones(2, 3))


def test_the_mlp_width_is_one_rule_that_gives_any_checkpoint_width_back():
    assert Mlp(8, 20).fc1.out_features == 20
    assert Block(8, num_heads=2, mlp_ratio=2.0).mlp.fc1.out_features == 16
    with pytest.raises(ValueError, match="hidden_dim must be a positive whole number; got 0"):
        Mlp(8, 0)
    with pytest.raises(ValueError, match=r"mlp_ratio=0.01 makes the MLP round\(8 \* 0.01\) = 0 wide"):
        Block(8, num_heads=2, mlp_ratio=0.01)
    # round(dim * (hidden / dim)) == hidden for every width, where int() can fall one short (int(11 * 15/11) = 14)
    assert int(11 * (15 / 11)) == 14
    assert all(
        Block(d, num_heads=1, mlp_ratio=h / d).mlp.fc1.out_features == h for d in (11, 384) for h in (1, 15, 1024)
    )


def test_a_vit_with_an_odd_mlp_width_round_trips_through_its_checkpoint():
    from vitlib import ViT, ViTConfig
    from vitlib.hub import infer_config

    config = ViTConfig(image_size=8, patch_size=4, in_chans=1, num_classes=3, embed_dim=12, depth=1, num_heads=2)
    odd = ViT(config, embed_dim=22, mlp_ratio=49 / 22)  # int(22 * (49 / 22)) would be 48
    assert odd.blocks[0].mlp.fc1.out_features == 49
    inferred = infer_config(odd.state_dict(), num_heads=2)
    assert round(inferred.embed_dim * inferred.mlp_ratio) == 49
    ViT(inferred).load_state_dict(odd.state_dict(), strict=True)
    assert infer_config(ViT(config).state_dict(), num_heads=2).mlp_ratio == 4.0  # a plain ratio stays a ratio
