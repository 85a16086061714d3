"""Argument checks, written once for the whole library.

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
"""

from __future__ import annotations

import math
import numbers
import operator

import torch

__all__ = [
    "choice",
    "float_images",
    "fraction",
    "int_pair",
    "nonnegative_float",
    "nonnegative_int",
    "positive_float",
    "positive_int",
    "real",
    "tensor",
    "tokens",
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
    raise TypeError(f"{name} must be a torch tensor; got {type(value).__name__}.")


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
