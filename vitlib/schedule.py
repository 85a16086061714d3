"""The learning-rate schedule every trainer of the library uses: linear warm-up, then cosine decay.

``warmup_cosine(step, total_steps, lr=..., warmup_steps=..., min_lr=...)``
gives the rate of one optimiser step; :func:`vitlib.train.fit`,
:func:`vitlib.vae.train_vae` and :func:`vitlib.masking.train_mae` all set
their optimiser's rate from it (through :func:`vitlib.train.run_training`).
"""

from __future__ import annotations

import math

from . import checks

__all__ = ["warmup_cosine"]


def warmup_cosine(step: int, total_steps: int, *, lr: float, warmup_steps: int, min_lr: float = 0.0) -> float:
    """Learning rate at ``step`` (0-based): linear warm-up to ``lr`` over ``warmup_steps``, then cosine to ``min_lr``.

    Scalars in, a float out. During the warm-up the rate is ``lr * (step + 1) / warmup_steps`` (the first step
    already moves); after it, ``min_lr + (lr - min_lr) * (1 + cos(pi * progress)) / 2`` with ``progress``
    going from 0 at the end of the warm-up to 1 at ``total_steps`` (where the rate is ``min_lr``).
    """
    step = checks.nonnegative_int(step, "step", example=0)
    total_steps = checks.positive_int(total_steps, "total_steps", example=100)
    warmup_steps = checks.nonnegative_int(warmup_steps, "warmup_steps", example=10)
    lr = checks.positive_float(lr, "lr", example=1e-3)
    min_lr = checks.nonnegative_float(min_lr, "min_lr", example=0.0)
    if min_lr > lr:
        raise ValueError(f"min_lr ({min_lr}) must not exceed lr ({lr}): the cosine decays from lr down to min_lr.")
    if step < warmup_steps:
        return lr * (step + 1) / warmup_steps
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return min_lr + 0.5 * (lr - min_lr) * (1.0 + math.cos(math.pi * progress))
