"""The library's one training loop (notebook 06): every task is a model, a loss and its batches, passed to it.

:func:`run_training` counts optimiser steps, as nanoGPT's loop does: AdamW over :func:`decay_groups`, the
learning rate of :func:`get_lr` (a linear warm-up, then a cosine decay), gradient clipping, one seed for
everything random, a guard against a non-finite loss, a text progress bar, and a :class:`History` of what
happened. The tasks built on it only say what a step computes:

- the classifier, :func:`vitlib.train.fit` (any ``(B, C, H, W) -> logits`` model: the ViT, the CNN), which
  lets the learner speak in epochs;
- the ViT-VAE, :func:`vitlib.vae.train_vae` (reconstruction + β·KL);
- the masked autoencoder, :func:`vitlib.masking.train_mae` (random batches, the hidden patches' error).

:class:`Recipe` holds what every task shares; each task's config extends it with its own fields and checks them.
"""

from __future__ import annotations

import contextlib
import math
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import torch
from torch import nn
from tqdm.std import tqdm  # a text bar: a stored notebook shows its last state, where a widget bar would not

from . import checks

__all__ = [
    "NO_DECAY_NAMES",
    "History",
    "NonFiniteLossError",
    "Recipe",
    "decay_groups",
    "epoch_batches",
    "evaluating",
    "get_lr",
    "run_training",
]


@dataclass(frozen=True)
class Recipe:
    """How every model of the library is optimised: AdamW, a linear warm-up then a cosine decay, clipping, one seed.

    A task's config (:class:`vitlib.train.TrainConfig`, :class:`vitlib.vae.VAETrainConfig`,
    :class:`vitlib.masking.MAETrainConfig`) extends it with its own fields and its own defaults, and checks its
    own fields itself. Checked when made: a bad value raises, naming the field, the value and a fix.
    """

    lr: float = 1e-3
    min_lr: float = 0.0  # the rate at the last step, where the cosine ends
    warmup_steps: int | None = None  # None: the task's own default (one epoch; for the MAE a 40th of its steps)
    weight_decay: float = 0.05  # AdamW's, on the weight matrices only (decay_groups)
    grad_clip: float | None = 1.0  # the largest gradient norm; None: no clipping
    batch_size: int = 64
    seed: int = 0  # order, augmentation, masks, noise, dropout: everything random

    def __post_init__(self):
        lr = checks.positive_float(self.lr, "lr", example=1e-3)
        if checks.nonnegative_float(self.min_lr, "min_lr", example=1e-5) > lr:
            raise ValueError(
                f"min_lr ({self.min_lr}) must not exceed lr ({lr}): the cosine decays from lr to min_lr. "
                f"Pass e.g. min_lr={lr / 100:g}."
            )
        if self.warmup_steps is not None:
            checks.nonnegative_int(self.warmup_steps, "warmup_steps", example=20)
        checks.nonnegative_float(self.weight_decay, "weight_decay", example=0.05)
        if self.grad_clip is not None and checks.real(self.grad_clip, "grad_clip", example=1.0) <= 0:
            raise ValueError(
                f"grad_clip must be > 0 (the largest gradient norm) or None (no clipping); got {self.grad_clip}. "
                "Pass e.g. grad_clip=1.0."
            )
        checks.positive_int(self.batch_size, "batch_size", example=64)
        checks.nonnegative_int(self.seed, "seed", example=0)


def get_lr(step: int, steps: int, recipe: Recipe) -> float:
    """The learning rate of optimiser step ``step`` (0-based) of ``steps``: warm-up, then cosine.

    During the warm-up (``recipe.warmup_steps``, which must be set) the rate is ``lr * (step + 1) / warmup``
    (the first step already moves); after it ``min_lr + (lr - min_lr) * (1 + cos(pi * progress)) / 2``, with
    ``progress`` from 0 at the end of the warm-up to 1 at ``steps`` (where the rate is ``min_lr``).
    """
    warmup = recipe.warmup_steps or 0
    if step < warmup:
        return recipe.lr * (step + 1) / warmup
    progress = (step - warmup) / max(1, steps - warmup)
    return recipe.min_lr + 0.5 * (recipe.lr - recipe.min_lr) * (1.0 + math.cos(math.pi * progress))


# Parameters that are positions or learned tokens, by the end of their name (timm's and MAE's names): no decay.
NO_DECAY_NAMES = ("cls_token", "pos_embed", "mask_token", "dist_token", "reg_token")


def decay_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """AdamW's two parameter groups: decay on weight matrices and kernels, none on the rest.

    No decay on parameters with fewer than 2 dimensions (biases, norms) and on those whose name ends in one of
    :data:`NO_DECAY_NAMES` (``cls_token``, ``pos_embed``, ``decoder_pos_embed``, ``mask_token``...), as timm,
    DeiT and MAE do. Frozen parameters (``requires_grad=False``) are left out.
    """
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if p.requires_grad:
            (no_decay if p.dim() < 2 or name.endswith(NO_DECAY_NAMES) else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


class NonFiniteLossError(FloatingPointError):
    """The loss became NaN or infinite during training (raised by :func:`run_training`)."""


@dataclass
class History:
    """What a training run recorded: ``steps`` per optimiser step (always ``loss`` and ``lr``, plus the task's own
    terms, e.g. the VAE's ``kl``) and ``logs`` every ``log_every`` steps (e.g. ``val_accuracy`` per epoch).

    Each series reads as an attribute too: ``history.loss``, ``history.kl``, ``history.val_accuracy``.
    """

    steps: dict[str, list[float]] = field(default_factory=lambda: {"loss": [], "lr": []})
    logs: dict[str, list[float]] = field(default_factory=dict)
    log_every: int = 1  # steps between two logs: one epoch for fit and train_vae
    seconds: float = 0.0  # wall-clock time of the loop
    cpu_seconds: float = 0.0  # CPU time of this process (all threads): less sensitive to a busy machine

    def __getattr__(self, name: str) -> list[float]:
        for series in (self.__dict__.get("steps", {}), self.__dict__.get("logs", {})):
            if name in series:
                return series[name]
        raise AttributeError(
            f"this History has no {name!r}; it recorded per step {sorted(self.__dict__.get('steps', {}))} and per log "
            f"{sorted(self.__dict__.get('logs', {}))}."
        )


@contextlib.contextmanager
def evaluating(model: nn.Module):
    """Run a block of code with ``model`` in eval mode and without gradients; afterwards every submodule is back in
    the mode it had, even when the block raised."""
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        with torch.no_grad():
            yield model
    finally:
        for module, training in modes:
            module.training = training


def epoch_batches(n: int, batch_size: int) -> Callable[[torch.Generator], Iterator[torch.Tensor]]:
    """Index batches of ``n`` examples, reshuffled every epoch, for as long as the loop asks:
    ``generator -> iterator of (B,) int64``. The last batch of an epoch may be smaller."""

    def batches(generator: torch.Generator) -> Iterator[torch.Tensor]:
        while True:
            order = torch.randperm(n, generator=generator)
            yield from (order[i : i + batch_size] for i in range(0, n, batch_size))

    return batches


LossFn = Callable[[nn.Module, object, torch.Generator, int], tuple[torch.Tensor, dict[str, float]]]


def run_training(
    model: nn.Module,
    loss_fn: LossFn,
    batches: Callable[[torch.Generator], Iterable],
    *,
    steps: int,
    recipe: Recipe,
    log_every: int | None = None,
    on_log: Callable[[History], dict | None] | None = None,
    after_step: Callable[[int], None] | None = None,
    progress: bool = True,
    desc: str = "training",
) -> History:
    """Train ``model`` in place for ``steps`` optimiser steps; return the :class:`History`.

    - ``batches(generator)`` yields batches (anything ``loss_fn`` understands), at least ``steps`` of them;
    - ``loss_fn(model, batch, generator, step)`` returns the scalar loss and a dict of floats to record per step;
    - AdamW over :func:`decay_groups`, the rate :func:`get_lr` of ``recipe``, gradients clipped to
      ``recipe.grad_clip``;
    - every ``log_every`` steps ``on_log(history)`` may record in ``history.logs`` and return the bar's postfix;
    - ``after_step(step)`` runs after each optimiser step (e.g. a moving average of the weights);
    - everything random is seeded with ``recipe.seed``: ``generator`` (a CPU ``torch.Generator``) for the batches
      and ``loss_fn``, and the global generator (dropout, drop-path), forked, so the caller's state is left alone;
    - a non-finite loss stops training with :class:`NonFiniteLossError`, naming the step and the likely cause.

    The model is handed back in eval mode.
    """
    steps = checks.positive_int(steps, "steps", example=100)
    log_every = checks.positive_int(log_every or steps, "log_every", example=50)
    params = [p for p in model.parameters() if p.requires_grad]
    # foreach: one update for all tensors, the same numbers, faster on the CPU for many small tensors
    optimizer = torch.optim.AdamW(decay_groups(model, recipe.weight_decay), lr=recipe.lr, foreach=True)
    generator = torch.Generator().manual_seed(recipe.seed)  # drawn on the CPU: the same run on any device
    history = History(log_every=log_every)
    cuda = sorted({p.device.index or 0 for p in params if p.device.type == "cuda"})
    start, cpu_start = time.perf_counter(), time.process_time()
    with (
        torch.random.fork_rng(devices=cuda),
        tqdm(total=steps, desc=desc, unit="step", disable=not progress, file=sys.stdout, mininterval=0.5) as bar,
    ):
        torch.manual_seed(recipe.seed)  # dropout, drop-path and mixup weights use the global generator
        model.train()
        for step, batch in zip(range(steps), batches(generator), strict=False):
            lr = get_lr(step, steps, recipe)
            for group in optimizer.param_groups:
                group["lr"] = lr
            loss, logs = loss_fn(model, batch, generator, step)
            value = loss.item()
            if not math.isfinite(value):
                raise NonFiniteLossError(_diverged(value, step, lr))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if recipe.grad_clip:
                nn.utils.clip_grad_norm_(params, recipe.grad_clip, foreach=True)
            optimizer.step()
            if after_step is not None:
                after_step(step)
            for name, v in {"loss": value, "lr": lr, **logs}.items():
                history.steps.setdefault(name, []).append(v)
            bar.update()
            if (step + 1) % log_every == 0 and on_log is not None:
                postfix = on_log(history)
                model.train()  # on_log may have evaluated the model
                if postfix:
                    bar.set_postfix(postfix, refresh=False)
    model.eval()
    if len(history.steps["loss"]) < steps:
        raise ValueError(f"batches(generator) ran out after {len(history.steps['loss'])} of steps={steps} batches.")
    history.seconds, history.cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    return history


def _diverged(value: float, step: int, lr: float) -> str:
    if step == 0:
        cause = (
            "It is the very first step, so the data are the likely cause: check the images and targets with "
            "torch.isfinite(x).all(), or the model's initial weights."
        )
    else:
        cause = (
            f"The training diverged: the learning rate ({lr:.3g} at this step) is probably too high; try a tenth "
            "of it, a longer warm-up, or grad_clip=1.0. Non-finite values in the data can also do this."
        )
    return f"the loss became {value} at step {step}. {cause}"
