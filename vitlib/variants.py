"""The teaching harness of the labs (notebooks 11 and 12): the block and the ViT with one part changed.

Not part of the reference model: :mod:`vitlib.attention`, :mod:`vitlib.encoder` and :mod:`vitlib.model`
stay as they are. These are small subclasses of them that keep timm's parameter names, so weights copy
across with ``load_state_dict``, and that with every option at its default *are* the core: they call
its ``forward``. A variant is a model; it trains with the one engine (:func:`vitlib.train.fit`).

- :class:`VariantAttention`: attention without the ``1/sqrt(d)`` scale, with the softmax over the wrong
  axis (the queries instead of the keys), or reading ``(B, N, D)`` as ``(N, B, D)`` the way
  ``nn.MultiheadAttention`` does without ``batch_first=True`` (the seed's bug of notebook 05);
- :class:`VariantBlock`: the block post-norm (LayerNorm after the residual sum, as in the original
  Transformer and ``nn.TransformerEncoderLayer(norm_first=False)``), without LayerNorm, without the
  residual connections, or without the MLP, plus the attention options above;
- :class:`VariantViT`: a :class:`vitlib.ViT` whose blocks are such variants, with the same initial weights
  as the plain model of the same seed; it can also read the "[CLS]" output from another index, or ignore
  ``eval()`` (an evaluation that forgot ``model.eval()``, so dropout stays on);
- measurements of what the changes do, through the model's one forward (hooks, never a copy of it):
  :func:`depth_profile` (the signal and the gradient block by block), :func:`block_grad_norms`
  (the gradient norm of each block's weights), :func:`attention_entropy`, :func:`token_spread`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn

from . import checks
from .attention import Attention
from .encoder import Block
from .model import PRESETS, ViT
from .train import TrainConfig

__all__ = [
    "BLOCK_OPTIONS",
    "DEEP_CONFIG",
    "LAB_RECIPE",
    "DepthProfile",
    "VariantAttention",
    "VariantBlock",
    "VariantViT",
    "attention_entropy",
    "block_grad_norms",
    "depth_profile",
    "reinitialize",
    "token_spread",
]

# Every option of VariantBlock with its default (the block of vitlib.Block).
BLOCK_OPTIONS = {
    "norm": "pre",
    "residual": True,
    "mlp": True,
    "scale": True,
    "softmax_dim": -1,
    "batch_first": True,
}


# Notebook 11's model: 12 thin blocks (D = 32, 4 heads, an MLP 8 times as wide) on the digits cut as in notebook 06
# (2 x 2 patches of 4 px + [CLS]), without stochastic depth. Deep enough for pre- and post-norm to part within
# 72 steps of training (benchmarks/bench_labs.py).
DEEP_CONFIG = replace(PRESETS["digits_p4"], depth=12, embed_dim=32, mlp_ratio=8.0, drop_path_rate=0.0)

# The labs' recipe: notebook 06's engine and defaults (AdamW, warm-up + cosine, lr 2e-3), 6 epochs, and nothing that
# hides a bug or costs time: no mixup, label smoothing, shifts or warps.
LAB_RECIPE = TrainConfig(epochs=6, mixup=0.0, label_smoothing=0.0, max_shift=0.0, elastic=0.0)


def _flag(value, name: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False; got {value!r}.")
    return value


class VariantAttention(Attention):
    """:class:`vitlib.Attention` with a part changed: ``(B, N, D) -> (B, N, D)``, the same ``qkv`` and ``proj``.

    - ``scale=False``: scores ``q · k`` without the division by ``sqrt(head_dim)``;
    - ``softmax_dim=-2``: the softmax runs over the queries (the columns of the ``(N, N)`` scores) instead of
      the keys, so each *column* of the weights sums to 1 and a row does not (a wrong axis that still runs);
    - ``batch_first=False``: the input is read as ``(sequence, batch, D)``, as ``nn.MultiheadAttention``
      reads it without ``batch_first=True``: token ``i`` of an image attends to token ``i`` of every image in
      the batch, never to the other tokens of its own image. The weights are then ``(N, heads, B, B)``.

    With every option at its default, the forward is :class:`vitlib.Attention`'s own.
    """

    def __init__(
        self,
        dim: int,
        *,
        num_heads: int = 8,
        qkv_bias: bool = True,
        attn_drop: float = 0.0,
        proj_drop: float = 0.0,
        scale: bool = True,
        softmax_dim: int = -1,
        batch_first: bool = True,
    ):
        super().__init__(dim, num_heads=num_heads, qkv_bias=qkv_bias, attn_drop=attn_drop, proj_drop=proj_drop)
        self.scale = _flag(scale, "scale")
        self.softmax_dim = checks.choice(softmax_dim, "softmax_dim", (-1, -2))
        self.batch_first = _flag(batch_first, "batch_first")

    @property
    def is_default(self) -> bool:
        """Whether every option is at its default (then this is :class:`vitlib.Attention`)."""
        return self.scale and self.softmax_dim == -1 and self.batch_first

    def forward(self, x: torch.Tensor, *, need_weights: bool = False):
        """``(B, N, D) -> (B, N, D)`` and the weights ``(B, heads, N, N)`` (``(N, heads, B, B)`` with
        ``batch_first=False``), or ``None`` unless ``need_weights``, as :class:`vitlib.Attention` returns them."""
        if self.is_default:
            return super().forward(x, need_weights=need_weights)
        checks.tokens(x, "x", dim=self.qkv.in_features)
        if not self.batch_first:
            x = x.transpose(0, 1)  # (B, N, D) read as (sequence = B, batch = N, D)
        b, n, d = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4).unbind(0)
        scores = q @ k.transpose(-2, -1)  # (b, heads, n, n)
        if self.scale:
            scores = scores * self.head_dim**-0.5
        weights = scores.softmax(dim=self.softmax_dim)
        out = self.attn_drop(weights) @ v  # (b, heads, n, head_dim); the dropout is off in eval mode
        out = self.proj_drop(self.proj(out.transpose(1, 2).reshape(b, n, d)))
        if not self.batch_first:
            out = out.transpose(0, 1)  # back to (B, N, D)
        return out, weights if need_weights else None

    def extra_repr(self) -> str:
        return f"scale={self.scale}, softmax_dim={self.softmax_dim}, batch_first={self.batch_first}"


class VariantBlock(Block):
    """:class:`vitlib.Block` with one part (or more) changed: ``(B, N, D) -> (B, N, D)``, timm's names.

    - ``norm``: ``"pre"`` (the ViT's: ``x + f(LN(x))``), ``"post"`` (the original Transformer's and
      ``nn.TransformerEncoderLayer(norm_first=False)``'s: ``LN(x + f(x))``) or ``"none"`` (``x + f(x)``, no
      ``norm1``/``norm2`` at all);
    - ``residual=False``: ``f(LN(x))`` instead of ``x + f(LN(x))``, in both halves (the input is not added back);
    - ``mlp=False``: the block is only its attention half (no ``norm2``, no ``mlp``);
    - ``scale``, ``softmax_dim``, ``batch_first``: the options of :class:`VariantAttention`.

    Keyword arguments of :class:`vitlib.Block` (``mlp_ratio``, ``qkv_bias``, ``eps``, dropout, drop-path)
    pass through. With every option at its default, the forward is :class:`vitlib.Block`'s own.
    """

    def __init__(
        self,
        dim: int,
        *,
        num_heads: int,
        norm: str = "pre",
        residual: bool = True,
        mlp: bool = True,
        scale: bool = True,
        softmax_dim: int = -1,
        batch_first: bool = True,
        **block_kwargs,
    ):
        super().__init__(dim, num_heads=num_heads, **block_kwargs)
        self.norm = checks.choice(norm, "norm", ("pre", "post", "none"))
        self.residual = _flag(residual, "residual")
        self.has_mlp = _flag(mlp, "mlp")
        attn = VariantAttention(
            dim,
            num_heads=num_heads,
            qkv_bias=self.attn.qkv.bias is not None,
            attn_drop=self.attn.attn_drop.p,
            proj_drop=self.attn.proj_drop.p,
            scale=scale,
            softmax_dim=softmax_dim,
            batch_first=batch_first,
        )
        attn.load_state_dict(self.attn.state_dict())  # the weights Block drew: a variant starts where the block does
        self.attn = attn
        if norm == "none":
            self.norm1, self.norm2 = nn.Identity(), nn.Identity()
        if not mlp:
            self.norm2, self.mlp, self.drop_path2 = None, None, None

    @property
    def is_default(self) -> bool:
        """Whether every option is at its default (then this is :class:`vitlib.Block`)."""
        return self.norm == "pre" and self.residual and self.has_mlp and self.attn.is_default

    def _add(self, x: torch.Tensor, branch: torch.Tensor, norm: nn.Module) -> torch.Tensor:
        """One residual line's end: ``x + branch`` (or ``branch`` alone), then LN if post-norm."""
        y = x + branch if self.residual else branch
        return norm(y) if self.norm == "post" else y

    def forward(self, x: torch.Tensor, *, need_weights: bool = False):
        """``(B, N, D) -> (B, N, D)`` and the attention weights (``None`` unless ``need_weights``), as
        :class:`vitlib.Block` returns them."""
        if self.is_default:
            return super().forward(x, need_weights=need_weights)
        checks.tokens(x, "x", dim=self.attn.qkv.in_features)
        attended, weights = self.attn(x if self.norm == "post" else self.norm1(x), need_weights=need_weights)
        x = self._add(x, self.drop_path1(attended), self.norm1)
        if self.has_mlp:
            x = self._add(x, self.drop_path2(self.mlp(x if self.norm == "post" else self.norm2(x))), self.norm2)
        return x, weights

    def extra_repr(self) -> str:
        return f"norm={self.norm!r}, residual={self.residual}, mlp={self.has_mlp}"


class VariantViT(ViT):
    """A :class:`vitlib.ViT` whose blocks are :class:`VariantBlock` s: ``(B, C, H, W) -> (B, num_classes)``.

    Built like ``ViT`` (a config, or keywords), plus:

    - ``block``: options of :class:`VariantBlock` for every block, e.g. ``{"norm": "post"}``
      (:data:`BLOCK_OPTIONS` lists them with their defaults);
    - ``cls_index``: the token the head reads (0 is [CLS]; ``1`` is the first patch's token, ``-1`` the last);
    - ``ignore_eval=True``: ``model.eval()`` changes nothing, so dropout stays on wherever the model is
      evaluated (:func:`vitlib.train.evaluate` included): the bug of an evaluation without ``model.eval()``.

    The model is first built as the plain ``ViT`` and then its blocks are swapped for variants holding the same
    weights, so under the same seed it starts from exactly the plain model's weights (those it still has).
    With every option at its default it computes what ``ViT`` computes.
    """

    def __init__(
        self, config=None, /, *, block: dict | None = None, cls_index: int = 0, ignore_eval: bool = False, **overrides
    ):
        super().__init__(config, **overrides)
        options = dict(block or {})
        unknown = sorted(set(options) - set(BLOCK_OPTIONS))
        if unknown:
            raise TypeError(f"unknown block option(s) {unknown}; the options are {BLOCK_OPTIONS}.")
        self.block_options = {**BLOCK_OPTIONS, **options}
        c = self.config
        blocks = []
        for old in self.blocks:
            new = VariantBlock(
                c.embed_dim,
                num_heads=c.num_heads,
                mlp_ratio=c.mlp_ratio,
                qkv_bias=c.qkv_bias,
                eps=c.eps,
                proj_drop=c.drop_rate,
                attn_drop=c.attn_drop_rate,
                drop_path=old.drop_path1.p,
                **options,
            )
            missing, _ = new.load_state_dict(old.state_dict(), strict=False)  # a block without its MLP drops it
            assert not missing, missing
            blocks.append(new)
        self.blocks = nn.ModuleList(blocks)
        tokens = self.patch_embed.num_patches + 1
        index = checks.whole(cls_index, "cls_index", example=0)
        if not -tokens <= index < tokens:
            raise ValueError(f"cls_index must index one of the {tokens} tokens ([CLS] is 0); got {index}.")
        self.cls_index = index
        self.ignore_eval = _flag(ignore_eval, "ignore_eval")

    def pool(self, tokens: torch.Tensor) -> torch.Tensor:
        """``(B, N+1, D) -> (B, D)``: the token at ``cls_index`` (or the mean of the patches with ``pool="mean"``)."""
        return tokens[:, self.cls_index] if self.config.pool == "token" else super().pool(tokens)

    def train(self, mode: bool = True):
        """As ``nn.Module.train``; with ``ignore_eval`` the model stays in training mode whatever ``mode`` says."""
        return super().train(True if getattr(self, "ignore_eval", False) else mode)

    def extra_repr(self) -> str:
        changed = {k: v for k, v in self.block_options.items() if BLOCK_OPTIONS[k] != v}
        extra = [f"block={changed}"] if changed else []
        extra += [f"cls_index={self.cls_index}"] if self.cls_index else []
        extra += ["ignore_eval=True"] if self.ignore_eval else []
        return ", ".join([super().extra_repr(), *extra])


def reinitialize(model: nn.Module, std: float | None = None) -> nn.Module:
    """Draw every ``nn.Linear`` of ``model`` again, in place, from the global generator; returns ``model``.

    - ``std=None``: PyTorch's own default for ``nn.Linear`` (its ``reset_parameters``): weights and biases
      uniform in ``±1/sqrt(fan_in)``, so a weight's variance is ``1 / (3 fan_in)`` and a layer fed unit-variance
      inputs gives outputs of variance about 1/3; what ``nn.TransformerEncoderLayer`` starts from;
    - ``std``: weights from a normal distribution of that standard deviation, biases zero (vitlib's own
      initialisation, :meth:`vitlib.ViT.reset_parameters`, is a truncated normal of std 0.02).

    The patch embedding (a ``Conv2d``), [CLS] and the position table are left as they are.
    """
    if std is not None:
        std = checks.positive_float(std, "std", example=0.02)
    for module in model.modules():
        if isinstance(module, nn.Linear):
            if std is None:
                module.reset_parameters()
            else:
                nn.init.normal_(module.weight, std=std)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
    return model


# ---------------------------------------------------------------------------- measurements


def attention_entropy(weights: torch.Tensor) -> torch.Tensor:
    """The entropy of each row of attention weights, in nats: ``(..., N, N) -> (..., N)``.

    ``ln N`` for a row spread evenly over the ``N`` keys, 0 for a row that puts all its weight on one key.
    """
    weights = checks.tensor(weights, "weights")
    if weights.dim() < 2 or weights.shape[-1] != weights.shape[-2]:
        raise ValueError(f"weights must be (..., N, N) attention weights; got shape {tuple(weights.shape)}.")
    return -(weights * weights.clamp_min(1e-30).log()).sum(-1)


def token_spread(tokens: torch.Tensor) -> torch.Tensor:
    """How different the tokens of each image are: ``(B, N, D) -> (B,)``, in ``[0, 1]``.

    One minus the mean cosine similarity of the tokens to their mean token, per image: 0 when every token
    of an image is the same vector (the tokens have collapsed into one), near 1 for unrelated tokens.
    """
    tokens = checks.tokens(tokens, "tokens")
    tokens = tokens - tokens.mean(dim=(0, 1), keepdim=True)  # a vector added to every token (a bias) says nothing
    mean = tokens.mean(dim=1, keepdim=True)
    return 1.0 - F.cosine_similarity(tokens, mean.expand_as(tokens), dim=-1).mean(dim=1)


@dataclass(frozen=True)
class DepthProfile:
    """The signal and the gradient at each depth of a ViT: index 0 is the embedding (the input of the first
    block), index ``i`` the output of block ``i - 1``; each field is ``(depth + 1,)``."""

    scale: torch.Tensor  # RMS of the token values
    spread: torch.Tensor  # token_spread, averaged over the images: 0 when the tokens of an image are all alike
    grad: torch.Tensor  # RMS of the gradient of each image's loss with respect to its tokens


def _check_model(model) -> ViT:
    if not isinstance(model, ViT):
        raise TypeError(f"model must be a vitlib.ViT (or a VariantViT); got {type(model).__name__}.")
    if len(model.blocks) == 0:
        raise ValueError("the model has no blocks (depth=0): there is nothing to measure through depth.")
    return model


def depth_profile(model: ViT, images: torch.Tensor, labels: torch.Tensor) -> DepthProfile:
    """One forward and backward pass of ``model`` (as it is: train or eval mode) on ``(B, C, H, W)`` images
    and ``(B,)`` labels with the cross-entropy loss; the tokens and their gradient recorded around every block
    by hooks, so the model's own forward runs. The parameters' ``.grad`` are left as they were.
    """
    model = _check_model(model)
    seen: list[torch.Tensor] = []

    def before(module, args):
        seen.append(args[0]) if not seen else None

    def after(module, args, output):
        seen.append(output[0] if isinstance(output, tuple) else output)

    hooks = [model.blocks[0].register_forward_pre_hook(before)]
    hooks += [block.register_forward_hook(after) for block in model.blocks]
    try:
        with torch.enable_grad():
            loss = F.cross_entropy(model(images), labels)
            grads = torch.autograd.grad(loss, seen)
    finally:
        for hook in hooks:
            hook.remove()
    b = seen[0].shape[0]
    rms = [t.detach().pow(2).mean().sqrt() for t in seen]
    spread = [token_spread(t.detach()).mean() for t in seen]
    grad = [g.pow(2).mean().sqrt() * b for g in grads]  # the loss is the mean over the images: undo the 1 / B
    return DepthProfile(torch.stack(rms), torch.stack(spread), torch.stack(grad))


def block_grad_norms(model: ViT, images: torch.Tensor, labels: torch.Tensor, *, parameter: str | None = None):
    """The norm of the cross-entropy loss's gradient for each block's weights: ``-> (depth,)``.

    One forward and backward pass of ``model`` as it is on ``(B, C, H, W)`` images and ``(B,)`` labels, with
    ``torch.autograd.grad`` (the parameters' ``.grad`` are left as they were). ``parameter`` picks one weight
    of every block by its name inside the block (e.g. ``"mlp.fc2.weight"``, the one Xiong et al. (2020) plot);
    ``None`` takes all of a block's parameters together.
    """
    model = _check_model(model)
    names = [n for n, _ in model.blocks[0].named_parameters()]
    if parameter is not None and parameter not in names:
        raise ValueError(f"parameter must name a weight of every block, one of {names}; got {parameter!r}.")
    groups = [[p for n, p in block.named_parameters() if parameter is None or n == parameter] for block in model.blocks]
    with torch.enable_grad():
        loss = F.cross_entropy(model(images), labels)
        grads = torch.autograd.grad(loss, [p for group in groups for p in group], allow_unused=True)
    norms, at = [], 0
    for group in groups:
        squares = [g.pow(2).sum() for g in grads[at : at + len(group)] if g is not None]
        norms.append(torch.stack(squares).sum().sqrt() if squares else torch.tensor(0.0))
        at += len(group)
    return torch.stack(norms)
