"""Argument checks, written once for the whole library: the learner-facing errors of the teaching harness.

Every public function and class of ``vitlib`` checks its arguments with these
helpers, so that a bad value always gets the same kind of answer: a
``TypeError`` (wrong kind of thing) or a ``ValueError`` (right kind, wrong
value) whose message names the argument, the value it got and a fix::

    >>> positive_int(0, "num_heads", example=3)
    Traceback (most recent call last):
    ValueError: num_heads must be a positive whole number; got 0. Pass e.g. num_heads=3.

Whole numbers may come as Python ``int``, numpy integers or 0-d integer
tensors (anything with ``__index__``); ``bool`` is refused (``True`` is not a
size). Real numbers may be any real number except ``bool``, and must be finite.

The core (patches, embedding, attention, encoder, model) calls these once, at its boundary: a constructor
checks its arguments in one line, :meth:`vitlib.ViT.embed` checks the images entering the model, and the
``forward`` of a block holds only math. A block called directly with a bad input still gets a clear error:
its ``forward`` is wrapped by :func:`explained`, which runs the block's check only after something failed,
so a correct call pays nothing and a ViT's blocks are never checked again inside its forward.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import numbers
import operator
from collections.abc import Callable

import torch

__all__ = [
    "attention_maps",
    "choice",
    "configured",
    "explain_patch_size",
    "explained",
    "float_images",
    "fraction",
    "heads_divide",
    "int_pair",
    "mlp_width",
    "model_images",
    "nonnegative_float",
    "nonnegative_int",
    "positive_float",
    "positive_int",
    "rate",
    "real",
    "sincos_width",
    "sizes",
    "square_grid",
    "table_grid",
    "tensor",
    "tiling",
    "tokens",
    "valid_patch_sizes",
    "vit_config",
    "whole",
]


def _fix(name: str, example) -> str:
    return "" if example is None else f" Pass e.g. {name}={example!r}."


def whole(value, name: str, *, example=None) -> int:
    """``value`` as a Python ``int``: ints, numpy integers and 0-d integer tensors pass; bool and floats do not."""
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise TypeError(
            f"{name} must be a whole number (an int); got {value!r} of type {type(value).__name__}."
            + _fix(name, example)
        )
    try:
        return operator.index(value)
    except TypeError:  # e.g. a tensor with more than one element, or a float tensor
        raise TypeError(f"{name} must be a whole number (an int); got {value!r}.{_fix(name, example)}") from None


def positive_int(value, name: str, *, example=None) -> int:
    """A whole number >= 1 (a size, a count)."""
    value = whole(value, name, example=example)
    if value < 1:
        raise ValueError(f"{name} must be a positive whole number; got {value}.{_fix(name, example)}")
    return value


def nonnegative_int(value, name: str, *, example=None) -> int:
    """A whole number >= 0 (an index, a seed)."""
    value = whole(value, name, example=example)
    if value < 0:
        raise ValueError(f"{name} must be a whole number >= 0; got {value}.{_fix(name, example)}")
    return value


def real(value, name: str, *, example=None) -> float:
    """A finite real number as a Python ``float`` (ints, numpy and 0-d tensors pass; bool, NaN and inf do not)."""
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:  # numpy scalars and 0-d tensors
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{name} must be a real number; got {value!r} of type {type(value).__name__}.{_fix(name, example)}"
        )
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number; got {value}.{_fix(name, example)}")
    return value


def positive_float(value, name: str, *, example=None) -> float:
    """A finite real number > 0 (a learning rate, a temperature)."""
    value = real(value, name, example=example)
    if value <= 0:
        raise ValueError(f"{name} must be > 0; got {value}.{_fix(name, example)}")
    return value


def nonnegative_float(value, name: str, *, example=None) -> float:
    """A finite real number >= 0 (a weight decay, a strength where 0 turns a thing off)."""
    value = real(value, name, example=example)
    if value < 0:
        raise ValueError(f"{name} must be >= 0; got {value}.{_fix(name, example)}")
    return value


def fraction(
    value,
    name: str,
    *,
    low: float = 0.0,
    high: float = 1.0,
    low_open: bool = False,
    high_open: bool = False,
    example=None,
) -> float:
    """A finite real number in the interval ``[low, high]`` (``low_open``/``high_open`` exclude the ends)."""
    value = real(value, name, example=example)
    too_low = value <= low if low_open else value < low
    too_high = value >= high if high_open else value > high
    if too_low or too_high:
        interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        raise ValueError(f"{name} must be in {interval}; got {value}.{_fix(name, example)}")
    return value


def int_pair(size, name: str, *, example=None) -> tuple[int, int]:
    """An int or an ``(H, W)`` pair of positive whole numbers, as a tuple of two ints."""
    if isinstance(size, (bool, str)):
        raise TypeError(f"{name} must be an int or a pair (H, W) of ints; got {size!r}.{_fix(name, example)}")
    if hasattr(size, "__index__"):
        size = (size, size)
    try:
        h, w = size
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an int or a pair (H, W) of ints; got {size!r}.{_fix(name, example)}") from None
    try:
        return positive_int(h, name, example=example), positive_int(w, name, example=example)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must hold positive ints; got {size!r}.{_fix(name, example)}") from None


def choice(value, name: str, choices) -> object:
    """One of ``choices``, compared with ``==`` (and the same type: ``1`` is not ``True``)."""
    choices = tuple(choices)
    for c in choices:
        if type(value) is type(c) and value == c:
            return value
    if len(choices) == 2:
        allowed = f"{choices[0]!r} or {choices[1]!r}"
    else:
        allowed = "one of " + ", ".join(repr(c) for c in choices)
    raise ValueError(f"{name} must be {allowed}; got {value!r}.")


def tensor(value, name: str) -> torch.Tensor:
    """``value`` if it is a torch tensor; a numpy array gets the fix ``torch.from_numpy(x).float()``."""
    if isinstance(value, torch.Tensor):
        return value
    if type(value).__module__ == "numpy":
        raise TypeError(
            f"{name} must be a torch tensor; got a numpy array. Convert it: torch.from_numpy({name}).float()."
        )
    raise TypeError(f"{name} must be a torch tensor; got {type(value).__name__}. Convert it: torch.as_tensor({name}).")


def tokens(x, name: str = "x", *, dim: int | None = None, ndim: int = 3) -> torch.Tensor:
    """A floating-point token tensor ``(B, N, D)`` (``ndim`` dimensions) whose last size is ``dim``, if given.

    Cheap (no pass over the data): it looks at the type, dtype and shape only.
    """
    x = tensor(x, name)
    if not torch.is_floating_point(x):
        raise TypeError(f"{name} must be floating point; got {x.dtype}. Convert it: {name}.float().")
    if x.dim() != ndim or (dim is not None and x.shape[-1] != dim):
        layout = "(B, N, D)" if ndim == 3 else "(..., D)"
        want = layout if dim is None else layout.replace("D)", f"{dim})")
        hint = " Add a batch dimension: x.unsqueeze(0)." if x.dim() == ndim - 1 else ""
        raise ValueError(f"{name} must be tokens of shape {want}; got {tuple(x.shape)}.{hint}")
    return x


def float_images(
    images, name: str = "images", *, ndim: int = 4, dtype: torch.dtype | None = None, finite: bool = False
):
    """The library's one image-dtype policy: ``images`` as a floating-point tensor of ``ndim`` dimensions.

    - a float32 tensor is returned as it is (no copy);
    - other floating dtypes (float64 from ``torch.from_numpy``, float16, bfloat16) are converted to
      ``dtype`` when one is given (the weights' dtype), else returned as they are;
    - uint8 and other integer or bool tensors are refused: their scale is ambiguous (0-255 or 0-1?),
      so the fix ``images.float() / 255`` is named;
    - numpy arrays and other non-tensors are refused with ``torch.from_numpy(x).float()``;
    - ``finite=True`` also refuses NaN and infinite pixels, saying how many there are.
    """
    images = tensor(images, name)
    if not torch.is_floating_point(images):
        fix = f"{name}.float() / 255" if images.dtype == torch.uint8 else f"{name}.float()"
        raise TypeError(f"{name} must be floating point; got {images.dtype}. Convert them: {fix}.")
    if images.dim() != ndim:
        layout = {4: "(B, C, H, W)", 3: "(C, H, W)", 2: "(H, W)"}.get(ndim, f"{ndim}-D")
        hint = " Add a batch dimension: images.unsqueeze(0)." if ndim == 4 and images.dim() == 3 else ""
        raise ValueError(f"{name} must be {ndim}-D {layout}; got shape {tuple(images.shape)}.{hint}")
    if finite and images.numel() and not bool(torch.isfinite(images).all()):
        bad = int((~torch.isfinite(images)).sum())
        raise ValueError(
            f"{name} hold {bad} NaN or infinite value(s) of {images.numel()}; "
            f"training on them would turn every weight into NaN. Find them with (~torch.isfinite({name})).nonzero()."
        )
    return images if dtype is None or images.dtype == dtype else images.to(dtype)


def rate(value, name: str) -> float:
    """A dropout or drop-path probability: a real number in ``[0, 1)``."""
    return fraction(value, name, high_open=True, example=0.1)


def sizes(**named) -> tuple[int, ...]:
    """Each keyword a positive whole number (a width, a count), returned in order: ``sizes(dim=64, heads=4)``."""
    return tuple(positive_int(value, name, example=64 if "dim" in name else 4) for name, value in named.items())


# --- patches and grids ------------------------------------------------------------------------------------------


def valid_patch_sizes(image_size) -> list[int]:
    """The patch sizes that divide both sides of an image: ``(H, W) -> [P, ...]``."""
    h, w = int_pair(image_size, "image_size", example=(32, 32))
    g = math.gcd(h, w)
    return [p for p in range(1, g + 1) if g % p == 0]


def tiling(image_size, patch_size) -> tuple[int, int, int]:
    """``(H, W, P)`` as ints when ``P`` tiles an ``H x W`` image; else a ``ValueError`` with the sizes that do."""
    h, w = int_pair(image_size, "image_size", example=(32, 32))
    p = positive_int(patch_size, "patch_size", example=16)
    bad = [f"{name} {v}" for name, v in (("height", h), ("width", w)) if v % p]
    if bad:
        fix = (
            "a patch cannot be larger than the image"
            if p > h or p > w
            else f"or crop/resize it to {h - h % p}x{w - w % p}"
        )
        raise ValueError(
            f"patch_size={p} does not divide the image {' and '.join(bad)} (image is {h}x{w}); patches must tile "
            f"the image exactly. Patch sizes that divide {h}x{w}: {valid_patch_sizes((h, w))}; {fix}."
        )
    return h, w, p


def explain_patch_size(image_size, patch_size, *, within: tuple[int, int] | None = None) -> str | None:
    """Why a patch size does not tile an image, in one sentence; ``None`` when it does (the widgets' text).

    ``(H, W), P -> str | None``: each side that ``P`` does not divide, with its remainder (the strip of pixels
    left over), and the sizes that work, only those in ``within=(low, high)`` when given (a slider's range).
    """
    h, w = int_pair(image_size, "image_size", example=(32, 32))
    p = positive_int(patch_size, "patch_size", example=16)
    sides = [f"{name} {v} (remainder {v % p} px)" for name, v in (("height", h), ("width", w)) if v % p]
    if not sides:
        return None
    sizes_ok, where = valid_patch_sizes((h, w)), ""
    if within is not None:
        sizes_ok, where = [s for s in sizes_ok if within[0] <= s <= within[1]], f" within {within[0]}..{within[1]}"
    listed = ", ".join(map(str, sizes_ok)) or "none"
    return (
        f"patch size {p} does not divide the {' and the '.join(sides)}. Sizes that work for {h}x{w}{where}: {listed}."
    )


def image_batch(images) -> torch.Tensor:
    """A ``(B, C, H, W)`` tensor of any dtype (for :func:`vitlib.patchify`)."""
    images = tensor(images, "images")
    if images.dim() != 4:
        hint = " For a single image (C, H, W) add a batch dimension: images.unsqueeze(0)." if images.dim() == 3 else ""
        raise ValueError(f"images must be 4-D (B, C, H, W); got shape {tuple(images.shape)}.{hint}")
    return images


def patch_batch(patches, patch_size, image_size) -> torch.Tensor:
    """``(B, N, C*P*P)`` patches that fit an image of ``image_size`` cut into ``patch_size`` patches."""
    patches = tensor(patches, "patches")
    if patches.dim() != 3:
        hint = " For one image's patches (N, C*P*P) add a batch dimension: patches.unsqueeze(0)."
        raise ValueError(
            f"patches must be 3-D (B, N, C*P*P); got shape {tuple(patches.shape)}.{hint if patches.dim() == 2 else ''}"
        )
    h, w, p = tiling(image_size, patch_size)
    _, n, d = patches.shape
    if d % (p * p):
        raise ValueError(
            f"the last dimension of patches ({d}) is not C*P*P for patch_size={p}: it must be a multiple of "
            f"P*P={p * p}. Check patch_size (got shape {tuple(patches.shape)})."
        )
    if n != (h // p) * (w // p):
        raise ValueError(
            f"patches hold N={n} tokens, but a {h}x{w} image cut into {p}x{p} patches has {h // p}x{w // p}="
            f"{(h // p) * (w // p)}. Pass the image_size the patches came from."
        )
    return patches


def square_grid(n: int, what: str, fix: str) -> tuple[int, int]:
    """``(side, side)`` when ``n`` positions make a square grid; else a ``ValueError`` ending with ``fix``."""
    side = math.isqrt(n) if n > 0 else 0
    if side * side != n or n == 0:
        raise ValueError(f"{what} holds {n} grid positions, which is not a square grid; {fix}")
    return side, side


def table_grid(pos_embed, grid=None, num_prefix_tokens: int = 1, name: str = "grid") -> tuple[int, int]:
    """A position table ``(1, prefix + gh*gw, D)`` checked, and its grid ``(gh, gw)`` (square unless ``grid``)."""
    pos_embed = tensor(pos_embed, "pos_embed")
    if pos_embed.dim() != 3 or pos_embed.shape[0] != 1:
        raise ValueError(f"pos_embed must have shape (1, T, D); got {tuple(pos_embed.shape)}.")
    num_prefix_tokens = nonnegative_int(num_prefix_tokens, "num_prefix_tokens", example=1)
    n = pos_embed.shape[1] - num_prefix_tokens
    if n <= 0:
        raise ValueError(
            f"pos_embed has {pos_embed.shape[1]} rows, none left for the grid after "
            f"num_prefix_tokens={num_prefix_tokens}."
        )
    if grid is None:
        return square_grid(n, f"pos_embed (after {num_prefix_tokens} prefix token(s))", f"pass {name}=(gh, gw).")
    grid = int_pair(grid, name, example=(4, 4))
    if grid[0] * grid[1] != n:
        raise ValueError(
            f"{name}={grid} has {grid[0] * grid[1]} positions but pos_embed has {n} "
            f"(after {num_prefix_tokens} prefix token(s)); check {name} and num_prefix_tokens."
        )
    return grid


def sincos_width(embed_dim, name: str = "embed_dim") -> int:
    """A width a 2-D sin-cos table can fill: a positive multiple of 4 (sin and cos, for y and for x)."""
    embed_dim = positive_int(embed_dim, name, example=64)
    if embed_dim % 4:
        raise ValueError(
            f"a 2-D sin-cos table needs {name} divisible by 4 (sin and cos for y and x); got {embed_dim}. "
            f"Use e.g. {name}={embed_dim - embed_dim % 4 or 4} or {embed_dim + 4 - embed_dim % 4}."
        )
    return embed_dim


def sincos_args(grid, embed_dim, temperature) -> tuple[tuple[int, int], int]:
    """:func:`vitlib.sincos_pos_embed_2d`'s arguments checked: ``((gh, gw), embed_dim // 4)``."""
    positive_float(temperature, "temperature", example=10000.0)
    return int_pair(grid, "grid", example=(4, 4)), sincos_width(embed_dim) // 4


def resize_args(pos_embed, new_grid, old_grid, num_prefix_tokens, interpolation, antialias):
    """:func:`vitlib.resize_pos_embed`'s arguments checked: ``(old_grid, new_grid)``."""
    choice(interpolation, "interpolation", ("nearest", "bilinear", "bicubic"))
    if antialias and interpolation == "nearest":
        raise ValueError(
            "antialias=True needs interpolation 'bilinear' or 'bicubic'; pass antialias=False with 'nearest'."
        )
    return table_grid(pos_embed, old_grid, num_prefix_tokens, "old_grid"), int_pair(
        new_grid, "new_grid", example=(4, 4)
    )


def mlp_width(dim, mlp_ratio) -> int:
    """The MLP's hidden width, ``round(dim * mlp_ratio)``: the one rule (timm writes ``int()``, the same for every
    standard ratio; ``round`` also gives a checkpoint's width back from ``hidden / dim``). Refused if it is 0."""
    dim = positive_int(dim, "dim", example=64)
    ratio = positive_float(mlp_ratio, "mlp_ratio", example=4.0)
    if round(dim * ratio) < 1:
        raise ValueError(f"mlp_ratio={ratio} makes the MLP round({dim} * {ratio}) = 0 wide; pass e.g. mlp_ratio=4.0.")
    return round(dim * ratio)


def heads_divide(dim, num_heads, name: str = "dim") -> None:
    """A width (``name``) that ``num_heads`` divides: each head gets ``dim / num_heads`` channels."""
    dim, num_heads = positive_int(dim, name, example=64), positive_int(num_heads, "num_heads", example=4)
    if dim % num_heads:
        raise ValueError(
            f"{name}={dim} is not divisible by num_heads={num_heads}: each head gets {name}/num_heads channels. "
            f"Heads that divide {dim}: {[h for h in range(1, min(dim, 32) + 1) if dim % h == 0]}."
        )


def attention_args(dim, num_heads, attn_drop, proj_drop) -> None:
    """:class:`vitlib.Attention`'s arguments: a width that the head count divides, and two dropout rates."""
    heads_divide(dim, num_heads)
    rate(attn_drop, "attn_drop"), rate(proj_drop, "proj_drop")


# --- the model's boundary, and explanations of a failed forward ----------------------------------------------------


def model_images(images, patch_embed) -> torch.Tensor:
    """Images entering a model through ``patch_embed``: float, ``(B, C, H, W)`` of its channels and size.

    The library's dtype policy (:func:`float_images`): other floats are converted to the weights' dtype.
    """
    images = float_images(images, "images", dtype=patch_embed.proj.weight.dtype)
    images_in(patch_embed, images)
    return images


def images_in(patch_embed, images, *_, **__) -> None:
    """Why ``patch_embed`` cannot take ``images``: their type, dtype, layout, channels or size."""
    images = float_images(images, "images")
    c, h, w = images.shape[1:]
    want = patch_embed.proj.in_channels
    if images.dtype != patch_embed.proj.weight.dtype:
        raise TypeError(
            f"images are {images.dtype} but the patch embedding's weights are {patch_embed.proj.weight.dtype}: "
            f"convert the images (images.to({patch_embed.proj.weight.dtype})) or the module."
        )
    if c != want and w == want and (h, c) == tuple(patch_embed.image_size):
        raise ValueError(
            f"images have shape {tuple(images.shape)}: channels last (B, H, W, C), but the patch embedding expects "
            "channels first (B, C, H, W). Move the channels: images.permute(0, 3, 1, 2)."
        )
    if c != want:
        raise ValueError(
            f"images have {c} channels but the patch embedding expects {want}; build it with in_chans={c} or "
            "convert the images."
        )
    if (h, w) != tuple(patch_embed.image_size):
        size = patch_embed.image_size
        raise ValueError(
            f"images are {h}x{w} but the model was built for {size[0]}x{size[1]}; resize the images, or build the "
            f"model with image_size=({h}, {w}) and resize the position table (resize_pos_embed)."
        )


def _weights_of(module) -> torch.Tensor:
    """The first weight of ``module`` (its first Linear or LayerNorm): its width and dtype are what inputs need."""
    return next(m.weight for m in module.modules() if isinstance(m, (torch.nn.Linear, torch.nn.LayerNorm)))


def _input_dtype(x: torch.Tensor, weight: torch.Tensor, name: str) -> None:
    if x.dtype != weight.dtype:
        raise TypeError(
            f"{name} is {x.dtype} but the module's weights are {weight.dtype}: convert the input "
            f"({name}.to({weight.dtype})) or the module (module.to({x.dtype}))."
        )


def tokens_in(module, x, *_, **__) -> None:
    """Why an attention layer or block cannot take ``x``: not ``(B, N, D)`` floats of its width and dtype."""
    weight = _weights_of(module)
    tokens(x, "x", dim=weight.shape[-1])
    _input_dtype(x, weight, "x")


def features_in(module, x, *_, **__) -> None:
    """Why an MLP cannot take ``x``: not ``(..., D)`` floats of its width and dtype."""
    weight = _weights_of(module)
    tokens(x, "x", dim=weight.shape[-1], ndim=max(getattr(x, "ndim", 3), 1))
    _input_dtype(x, weight, "x")


def qkv_inputs(q, k, v, *_, **__) -> None:
    """Why attention by hand cannot take ``q``, ``k``, ``v``: floats, at least 2-D, sizes that fit together."""
    for name, value in (("q", q), ("k", k), ("v", v)):
        tensor(value, name)
        if not torch.is_floating_point(value):
            raise TypeError(f"{name} must be floating point; got {value.dtype}. Convert it: {name}.float().")
        if value.dim() < 2:
            raise ValueError(
                f"{name} must be at least 2-D (..., N, d): tokens by channels; got shape {tuple(value.shape)}. "
                f"For one token add a dimension: {name}.unsqueeze(0)."
            )
    if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2] or not q.shape[:-2] == k.shape[:-2] == v.shape[:-2]:
        raise ValueError(
            "q and k need the same last size, k and v the same number of tokens, and all three the same leading "
            f"(batch, heads) dimensions; got q {tuple(q.shape)}, k {tuple(k.shape)}, v {tuple(v.shape)}."
        )
    if not q.dtype == k.dtype == v.dtype:
        raise TypeError(f"q, k and v must share one dtype; got {q.dtype}, {k.dtype} and {v.dtype}.")


def cls_inputs(tokens_, cls_token) -> None:
    """Why a [CLS] token cannot go in front of ``tokens_``: ``(B, N, D)`` tokens and a ``(1, 1, D)`` token."""
    for name, value in (("tokens", tokens_), ("cls_token", cls_token)):
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor; got {type(value).__name__}.")
    if tokens_.dim() != 3:
        raise ValueError(f"tokens must be 3-D (B, N, D); got shape {tuple(tokens_.shape)}.")
    if cls_token.shape != (1, 1, tokens_.shape[-1]):
        raise ValueError(
            f"cls_token must have shape (1, 1, D) = (1, 1, {tokens_.shape[-1]}); got {tuple(cls_token.shape)}."
        )


def explained(check: Callable[..., None]):
    """Decorate a core ``forward`` (or function) so that a failure is explained in the learner's terms.

    The wrapped code runs as it is; only if it raises does ``check`` (called with the same arguments) look
    at the input and raise the clear error, naming the value and the fix, in place of the raw one. If
    ``check`` finds nothing wrong, the original error goes on. A correct call pays one function call.
    """

    def decorate(func):
        @functools.wraps(func)
        def run(*args, **kwargs):
            try:
                return func(*args, **kwargs)
            except (TypeError, ValueError, RuntimeError, IndexError, AttributeError):
                try:
                    check(*args, **kwargs)
                except (TypeError, ValueError) as clear:
                    raise clear from None  # the learner sees the explanation, not the torch internals behind it
                raise

        return run

    return decorate


def attention_maps(attention, name: str = "attention") -> torch.Tensor:
    """``(depth, B, heads, T, T)`` attention weights, as ``model(x, return_attention=True)`` returns them: a float
    tensor, square per head, finite and non-negative (softmax outputs). Returned detached, as float32."""
    if not isinstance(attention, torch.Tensor):
        raise TypeError(
            f"{name} must be a tensor (depth, B, heads, T, T); got {type(attention).__name__}. "
            f"Get it with logits, {name} = model(x, return_attention=True)."
        )
    if attention.dim() != 5:
        raise ValueError(
            f"{name} must be 5-D (depth, B, heads, T, T), as model(x, return_attention=True) returns it; "
            f"got shape {tuple(attention.shape)}. For one layer's (B, heads, T, T), pass {name}[None]."
        )
    if attention.shape[-1] != attention.shape[-2]:
        raise ValueError(
            f"{name}'s last two dimensions (queries, keys) must be equal, a square matrix per head; "
            f"got {attention.shape[-2]} x {attention.shape[-1]}."
        )
    if not attention.is_floating_point():
        raise TypeError(f"{name} must hold floating-point weights; got {attention.dtype}.")
    attention = attention.detach().float()
    if not torch.isfinite(attention).all():
        raise ValueError(f"{name} holds NaN or infinite values; attention weights are softmax outputs in [0, 1].")
    if (attention < 0).any():
        raise ValueError(
            f"{name} holds negative weights (smallest {attention.min().item():.3g}); attention weights are softmax "
            "outputs, each row non-negative and summing to 1. Pass the weights, not the scores."
        )
    return attention


# --- configs ----------------------------------------------------------------------------------------------------


def configured(cls, config, overrides: dict, *, default=None, what: str | None = None):
    """``config`` (a ``cls``; ``None`` means ``default`` or ``cls()``) with the ``overrides`` keywords replacing
    fields: the one way every model and trainer takes "a config, then keywords". An unknown keyword or a config
    of another type gets the list of settings; the values are checked by ``cls`` itself when it is made. ``what``
    names the thing being built in the message (default: the config's class)."""
    fields = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(overrides) - set(fields))
    if unknown:
        raise TypeError(f"unknown {what or cls.__name__} setting(s) {unknown}; the settings are {fields}.")
    if config is not None and not isinstance(config, cls):
        raise TypeError(
            f"config must be a {cls.__name__}; got {type(config).__name__}. Pass a {cls.__name__}(...) or keywords."
        )
    base = config if config is not None else (default if default is not None else cls())
    return dataclasses.replace(base, **overrides)


def vit_config(config) -> None:
    """Every field of a :class:`vitlib.ViTConfig`, checked (the values are kept as given)."""
    h, w, p = tiling(config.image_size, config.patch_size)
    positive_int(config.in_chans, "in_chans", example=3)
    nonnegative_int(config.num_classes, "num_classes", example=10)  # 0: no head (the pooled features)
    nonnegative_int(config.depth, "depth", example=12)
    heads_divide(config.embed_dim, config.num_heads, "embed_dim")
    rate(config.drop_rate, "drop_rate"), rate(config.attn_drop_rate, "attn_drop_rate")
    mlp_width(config.embed_dim, config.mlp_ratio)
    if not isinstance(config.qkv_bias, bool):
        raise TypeError(f"qkv_bias must be True or False; got {config.qkv_bias!r}.")
    choice(config.pos_embed, "pos_embed", ("learned", "sincos", "none"))  # "none": no positions (notebook 09)
    if config.pos_embed == "sincos":
        sincos_width(config.embed_dim)
    choice(config.pool, "pool", ("token", "mean"))
    positive_float(config.eps, "eps", example=1e-6)
    rate(config.drop_path_rate, "drop_path_rate")
