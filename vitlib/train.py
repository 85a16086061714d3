"""Training and evaluating a ViT on the CPU (notebook 06).

The library's one training loop, :func:`run_training` (AdamW with one rule for weight decay, the warm-up +
cosine schedule of :mod:`vitlib.schedule`, clipping, seeding, a guard against a non-finite loss), and
:func:`fit`, the classifier's trainer built on it, with a ``tqdm`` progress bar (a text bar, which
updates in place in a notebook and stays readable in a saved one);
:func:`evaluate` for accuracy, predictions and a confusion matrix;
:func:`train_digits` puts it together for the scikit-learn digits::

    run = vitlib.train.train_digits(seed=0)
    run.evaluation.accuracy         # held-out test accuracy
    run.history.loss                # one value per step, for the loss curve

The recipe for small data from scratch (:class:`TrainConfig`'s defaults): AdamW
with a one-epoch linear warm-up and a cosine decay, weight decay on the
weight matrices only, label smoothing, mixup, random sub-pixel shifts and
small smooth (elastic) warps of the images, and (in the ``digits_p4`` preset)
light stochastic depth. With it the digits classifier reaches about 99 %
held-out accuracy (at least 98.6 % on each of the splits 0-9) in about 14 s
of one CPU thread (``benchmarks/bench_train.py``).
"""

from __future__ import annotations

import copy
import math
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.std import tqdm  # a text bar: a stored notebook shows its last state, where a widget bar would not

from . import checks
from .data import Digits, load_digits
from .model import ViT
from .schedule import warmup_cosine

__all__ = [
    "NO_DECAY_NAMES",
    "DigitsRun",
    "Evaluation",
    "History",
    "NonFiniteLossError",
    "TrainConfig",
    "TrainingLog",
    "augment",
    "check_images",
    "check_labels",
    "check_train_config",
    "confusion_matrix",
    "decay_groups",
    "evaluate",
    "fit",
    "lr_at",
    "predict",
    "recipe",
    "run_training",
    "train_digits",
    "train_on_digits",
    "warmup_cosine",
]


@dataclass(frozen=True)
class TrainConfig:
    """The training recipe. Defaults are tuned for the digits preset. Checked when made (:func:`check_train_config`)."""

    epochs: int = 40
    batch_size: int = 64
    lr: float = 2e-3
    min_lr: float = 1e-5
    warmup_epochs: float = 1.0
    weight_decay: float = 0.05
    label_smoothing: float = 0.1
    # Augmentation: a random affine move of each training image, in pixels / degrees / fraction.
    max_shift: float = 0.5
    max_rotate: float = 0.0
    max_scale: float = 0.0
    elastic: float = 0.5  # largest local displacement of a smooth random warp, in pixels; 0: off
    mixup: float = 0.2  # Beta(a, a) mixing of image pairs and their labels; 0: off
    ema_decay: float | None = None  # e.g. 0.99: evaluate an exponential moving average of the weights
    grad_clip: float | None = 1.0
    # bf16 autocast of the forward pass on the CPU (benchmarks/bench_train.py --bf16): about 1.2x faster for a
    # ViT of D = 192 on a CPU with native bf16, but slower for the small digits model, so off by default.
    bf16: bool = False
    seed: int = 0

    def __post_init__(self):
        check_train_config(self)


def check_train_config(config) -> None:
    """The one validator of every training recipe (:class:`TrainConfig`, the VAE's and the MAE's configs).

    Checks each field the config has, by name, with :mod:`vitlib.checks`: ``TypeError`` for the wrong kind,
    ``ValueError`` for a wrong value, and the message names the field, the value and a fix.
    """

    def has(name: str) -> bool:
        return hasattr(config, name)

    for name, example in (("epochs", 10), ("steps", 800), ("batch_size", 64)):
        if has(name):
            checks.positive_int(getattr(config, name), name, example=example)
    lr = checks.positive_float(config.lr, "lr", example=1e-3)
    if has("min_lr"):
        min_lr = checks.nonnegative_float(config.min_lr, "min_lr", example=1e-5)
        if min_lr > lr:
            raise ValueError(
                f"min_lr ({min_lr}) must not exceed lr ({lr}): the cosine decays from lr to min_lr. "
                f"Pass e.g. min_lr={lr / 100:g}."
            )
    for name, example in (
        ("warmup_epochs", 1.0),
        ("weight_decay", 0.05),
        ("mixup", 0.2),
        ("max_shift", 0.5),
        ("max_rotate", 0.0),
        ("max_scale", 0.0),
        ("elastic", 0.5),
        ("beta", 1.0),
        ("kl_warmup_epochs", 6.0),
    ):
        if has(name):
            checks.nonnegative_float(getattr(config, name), name, example=example)
    if has("warmup_steps") and config.warmup_steps is not None:
        checks.nonnegative_int(config.warmup_steps, "warmup_steps", example=20)
    if has("grad_clip") and config.grad_clip is not None:
        if checks.real(config.grad_clip, "grad_clip", example=1.0) <= 0:
            raise ValueError(
                f"grad_clip must be > 0 (the largest gradient norm) or None (no clipping); got {config.grad_clip}. "
                "Pass e.g. grad_clip=1.0."
            )
    if has("label_smoothing"):
        checks.fraction(config.label_smoothing, "label_smoothing", high_open=True, example=0.1)
    if has("ema_decay") and config.ema_decay is not None:
        checks.fraction(config.ema_decay, "ema_decay", low_open=True, high_open=True, example=0.99)
    if has("mask_ratio") and config.mask_ratio is not None:
        checks.fraction(config.mask_ratio, "mask_ratio", high_open=True, example=0.75)
    if has("bf16") and not isinstance(config.bf16, bool):
        raise TypeError(f"bf16 must be True or False; got {config.bf16!r}. Pass e.g. bf16=False.")
    if has("seed"):
        checks.nonnegative_int(config.seed, "seed", example=0)


@dataclass
class History:
    """What happened during :func:`fit`: per-step loss and learning rate, per-epoch summaries."""

    loss: list[float] = field(default_factory=list)  # one per optimiser step
    lr: list[float] = field(default_factory=list)  # one per optimiser step
    epoch_loss: list[float] = field(default_factory=list)  # mean training loss of each epoch
    epoch_accuracy: list[float] = field(default_factory=list)  # validation accuracy, if validation data was given
    steps_per_epoch: int = 0
    seconds: float = 0.0  # wall-clock time of the whole loop
    cpu_seconds: float = 0.0  # CPU time of this process (all threads): less sensitive to a busy machine


@dataclass(frozen=True)
class Evaluation:
    """Accuracy on a labelled set, with everything needed for a confusion matrix."""

    accuracy: float
    predictions: torch.Tensor  # (N,) int64
    labels: torch.Tensor  # (N,) int64
    confusion: torch.Tensor  # (K, K): row = true class, column = predicted class

    @property
    def errors(self) -> torch.Tensor:
        """Indices of the misclassified examples, ``(E,)``."""
        return (self.predictions != self.labels).nonzero().flatten()

    def __repr__(self) -> str:
        n = len(self.labels)
        return f"Evaluation(accuracy={self.accuracy:.4f}, {n - len(self.errors)}/{n} correct)"


def lr_at(step: int, total_steps: int, config, steps_per_epoch: int) -> float:
    """:func:`warmup_cosine` with a recipe's ``lr``, ``min_lr`` and ``warmup_epochs``: scalars -> float."""
    warmup = round(config.warmup_epochs * steps_per_epoch)
    return warmup_cosine(step, total_steps, lr=config.lr, warmup_steps=warmup, min_lr=config.min_lr)


# --- the engine: one loop for every model of the library -------------------------------------------------------

# Parameters that are positions or learned tokens, by the end of their name (timm's and MAE's names): no decay.
NO_DECAY_NAMES = ("cls_token", "pos_embed", "mask_token", "dist_token", "reg_token")


def decay_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """AdamW's two parameter groups: decay on weight matrices and kernels, none on the rest.

    No decay on parameters with fewer than 2 dimensions (biases, norms) and on those whose name ends in one of
    :data:`NO_DECAY_NAMES` (``cls_token``, ``pos_embed``, ``decoder_pos_embed``, ``mask_token``...), as timm,
    DeiT and MAE do. Frozen parameters (``requires_grad=False``) are left out.
    Returns ``[{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]``.
    """
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if p.requires_grad:
            (no_decay if p.dim() < 2 or name.endswith(NO_DECAY_NAMES) else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


class NonFiniteLossError(FloatingPointError):
    """The loss became NaN or infinite during training (raised by :func:`run_training`)."""


@dataclass
class TrainingLog:
    """What :func:`run_training` records: per-step values by name (always ``loss`` and ``lr``), and times."""

    steps: dict[str, list[float]] = field(default_factory=lambda: {"loss": [], "lr": []})
    seconds: float = 0.0  # wall-clock time of the loop
    cpu_seconds: float = 0.0  # CPU time of this process (all threads)


LossFn = Callable[[nn.Module, Any, torch.Generator, int], tuple[torch.Tensor, dict[str, float]]]


def recipe(config, warmup_steps: int) -> dict:
    """The keywords :func:`run_training` reads from a training config (:class:`TrainConfig`,
    :class:`vitlib.vae.VAETrainConfig`, :class:`vitlib.masking.MAETrainConfig`): ``lr``, ``min_lr``,
    ``weight_decay``, ``grad_clip`` and ``seed``, with the warm-up given in steps."""
    return {
        "lr": config.lr,
        "min_lr": config.min_lr,
        "warmup_steps": warmup_steps,
        "weight_decay": config.weight_decay,
        "grad_clip": config.grad_clip,
        "seed": config.seed,
    }


def run_training(
    model: nn.Module,
    loss_fn: LossFn,
    batches: Callable[[torch.Generator], Iterable],
    *,
    epochs: int,
    steps_per_epoch: int,
    lr: float,
    min_lr: float = 0.0,
    warmup_steps: int = 0,
    weight_decay: float = 0.0,
    grad_clip: float | None = None,
    seed: int = 0,
    progress: bool = True,
    desc: str = "training",
    unit: str = "epoch",
    mininterval: float = 0.1,
    after_step: Callable[[int], None] | None = None,
    after_epoch: Callable[[int, TrainingLog], dict | None] | None = None,
) -> TrainingLog:
    """The library's one training loop; :func:`fit`, :func:`vitlib.vae.train_vae` and :func:`vitlib.masking.train_mae`
    are thin wrappers around it.

    - ``batches(generator)`` yields one epoch's batches (anything ``loss_fn`` understands, e.g. ``(B, C, H, W)``
      images and ``(B,)`` labels), ``steps_per_epoch`` of them;
    - ``loss_fn(model, batch, generator, step)`` returns the scalar loss and a dict of floats to log per step;
    - the optimiser is AdamW over :func:`decay_groups`, its rate :func:`warmup_cosine` (``lr``, ``min_lr``,
      ``warmup_steps``) over ``epochs * steps_per_epoch`` steps, gradients clipped to norm ``grad_clip`` (None: off);
    - everything random is seeded: ``generator`` (a CPU ``torch.Generator`` seeded with ``seed``) for the
      batches and ``loss_fn``, and the global generator (dropout, drop-path), forked and seeded with ``seed``,
      so the global random state is left as it was;
    - a non-finite loss stops training with :class:`NonFiniteLossError`, naming the step and the likely cause;
    - a text ``tqdm`` bar on stdout, one tick per epoch; ``after_epoch(epoch, log)`` may return its postfix;
      ``after_step(step)`` runs after each optimiser step (e.g. a moving average of the weights).

    The model is trained in place and handed back in eval mode.
    """
    epochs = checks.positive_int(epochs, "epochs", example=10)
    steps_per_epoch = checks.positive_int(steps_per_epoch, "steps_per_epoch", example=23)
    total_steps = epochs * steps_per_epoch
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(
        decay_groups(model, weight_decay),
        lr=lr,
        foreach=True,  # one update for all tensors: the same numbers, faster on the CPU for many small tensors
    )
    generator = torch.Generator().manual_seed(seed)  # order, augmentation, masks, noise: drawn on the CPU
    log = TrainingLog()
    cuda = sorted({p.device.index or 0 for p in params if p.device.type == "cuda"})
    start, cpu_start = time.perf_counter(), time.process_time()
    with torch.random.fork_rng(devices=cuda):
        torch.manual_seed(seed)  # dropout, drop-path and mixup weights use the global generator
        step = 0
        bar = tqdm(range(epochs), desc=desc, unit=unit, disable=not progress, file=sys.stdout, mininterval=mininterval)
        try:
            for epoch in bar:
                model.train()
                for batch in batches(generator):
                    rate = warmup_cosine(step, total_steps, lr=lr, warmup_steps=warmup_steps, min_lr=min_lr)
                    for group in optimizer.param_groups:
                        group["lr"] = rate
                    loss, logs = loss_fn(model, batch, generator, step)
                    value = loss.item()
                    if not math.isfinite(value):
                        raise NonFiniteLossError(_diverged(value, step, epoch, rate, steps_per_epoch))
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    if grad_clip:
                        nn.utils.clip_grad_norm_(params, grad_clip, foreach=True)
                    optimizer.step()
                    if after_step is not None:
                        after_step(step)
                    log.steps["loss"].append(value)
                    log.steps["lr"].append(rate)
                    for name, v in logs.items():
                        log.steps.setdefault(name, []).append(v)
                    step += 1
                postfix = after_epoch(epoch, log) if after_epoch is not None else None
                if postfix:
                    bar.set_postfix(postfix, refresh=False)
        finally:
            bar.close()
    model.eval()
    log.seconds = time.perf_counter() - start
    log.cpu_seconds = time.process_time() - cpu_start
    return log


def _diverged(value: float, step: int, epoch: int, rate: float, steps_per_epoch: int) -> str:
    where = f"at step {step} (epoch {epoch}, batch {step - epoch * steps_per_epoch})"
    if step == 0:
        cause = (
            "It is the very first step, so the data are the likely cause: check the images and targets with "
            "torch.isfinite(x).all(), or the model's initial weights."
        )
    else:
        cause = (
            f"The training diverged: the learning rate ({rate:.3g} at this step) is probably too high; try a "
            "tenth of it, a longer warm-up, or grad_clip=1.0. Non-finite values in the data can also do this."
        )
    return f"the loss became {value} {where}. {cause}"


# --- data checks at the engine's boundary -----------------------------------------------------------------------


def _num_classes(model: nn.Module) -> int | None:
    k = getattr(getattr(model, "config", None), "num_classes", None)
    return k if isinstance(k, int) and not isinstance(k, bool) and k > 0 else None


def check_images(images, name: str = "images", *, dtype: torch.dtype | None = None, allow_empty: bool = False):
    """Images for training or evaluation: a finite floating-point ``(N, C, H, W)`` tensor with ``N >= 1``.

    The library's dtype policy (:func:`vitlib.checks.float_images`): float32 as it is, other float dtypes
    converted to ``dtype``; integer images, numpy arrays and NaN/inf pixels refused with a fix.
    """
    images = checks.float_images(images, name, ndim=4, dtype=dtype, finite=True)
    if not allow_empty and images.shape[0] == 0:
        raise ValueError(f"{name} hold no images (shape {tuple(images.shape)}); pass at least one.")
    return images


def check_labels(labels, images: torch.Tensor, name: str = "labels", *, num_classes: int | None = None):
    """Class labels: an int64 ``(N,)`` tensor, one per image, each in ``[0, num_classes)``."""
    if not isinstance(labels, torch.Tensor):
        kind = (
            "a numpy array. Convert it: torch.from_numpy(labels).long()"
            if type(labels).__module__ == "numpy"
            else (f"{type(labels).__name__}. Use torch.as_tensor(labels).long()")
        )
        raise TypeError(f"{name} must be an int64 torch tensor of class indices; got {kind}.")
    if labels.dtype != torch.int64:
        raise TypeError(f"{name} must be int64 class indices; got {labels.dtype}. Convert them: labels.long().")
    if labels.dim() != 1 or labels.shape[0] != images.shape[0]:
        raise ValueError(
            f"{name} must be 1-D with one label per image ({images.shape[0]}); got shape {tuple(labels.shape)}."
        )
    if labels.numel():
        low, high = int(labels.min()), int(labels.max())
        if low < 0:
            raise ValueError(f"{name} must be class indices >= 0; got {low}. Map the classes to 0, 1, ...")
        if num_classes is not None and high >= num_classes:
            hint = (
                f" They look 1-based: shift them with {name} - 1."
                if low >= 1 and high == num_classes
                else f" The model has {num_classes} outputs: map the labels to 0, ..., {num_classes - 1}."
            )
            raise ValueError(
                f"{name} must be in [0, {num_classes}) for this model; got values in [{low}, {high}].{hint}"
            )
    return labels


def _check_data(images, labels, what: str, num_classes: int | None, dtype=None):
    images = check_images(images, f"{what} images", dtype=dtype)
    return images, check_labels(labels, images, f"{what} labels", num_classes=num_classes)


def _param_dtype(model: nn.Module) -> torch.dtype | None:
    p = next(model.parameters(), None)
    return p.dtype if p is not None and torch.is_floating_point(p) else None


def fit(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    config: TrainConfig | None = None,
    val_images: torch.Tensor | None = None,
    val_labels: torch.Tensor | None = None,
    progress: bool = True,
    **overrides,
) -> History:
    """Train a classifier in place on ``(N, C, H, W)`` images and ``(N,)`` labels; return the :class:`History`.

    ``model`` is any ``nn.Module`` mapping ``(B, C, H, W)`` to logits ``(B, classes)`` (a ViT, a CNN...).
    Keywords override fields of ``config`` (``fit(model, x, y, epochs=5)``).
    Everything random (order, augmentation, mixup, dropout) is drawn from
    ``config.seed``; the global random state is left as it was. With
    ``ema_decay`` set, the model ends up holding the averaged weights.
    The loop is :func:`run_training`; this function adds the classification loss, augmentation and mixup.
    """
    config = replace(config or TrainConfig(), **overrides)
    k, dtype = _num_classes(model), _param_dtype(model)
    images, labels = _check_data(images, labels, "training", k, dtype)
    if (val_images is None) != (val_labels is None):
        raise ValueError("give both val_images and val_labels, or neither.")
    if val_images is not None:
        val_images, val_labels = _check_data(val_images, val_labels, "validation", k, dtype)
    n, bs = images.shape[0], config.batch_size
    history = History(steps_per_epoch=math.ceil(n / bs))
    ema = copy.deepcopy(model).eval().requires_grad_(False) if config.ema_decay else None
    mix = torch.distributions.Beta(config.mixup, config.mixup) if config.mixup > 0 else None

    def batches(generator: torch.Generator):
        order = torch.randperm(n, generator=generator)
        for i in range(0, n, bs):
            idx = order[i : i + bs]
            yield images[idx], labels[idx]

    def loss_fn(model: nn.Module, batch, generator: torch.Generator, step: int):
        x, y = batch
        x = augment(
            x,
            generator=generator,
            max_shift=config.max_shift,
            max_rotate=config.max_rotate,
            max_scale=config.max_scale,
            elastic=config.elastic,
        )
        autocast = torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=config.bf16)
        if mix is None:
            with autocast:
                logits = model(x)
            return F.cross_entropy(logits.float(), y, label_smoothing=config.label_smoothing), {}
        # mixup: a blend of two images must predict the same blend of their labels
        lam, partner = mix.sample().item(), torch.randperm(len(y), generator=generator)
        with autocast:
            logits = model(lam * x + (1 - lam) * x[partner])
        logits = logits.float()
        loss = lam * F.cross_entropy(logits, y, label_smoothing=config.label_smoothing)
        return loss + (1 - lam) * F.cross_entropy(logits, y[partner], label_smoothing=config.label_smoothing), {}

    def after_step(step: int) -> None:
        if ema is not None:  # the average warms up fast at first, like a bias-corrected EMA
            decay_now = min(config.ema_decay, (1 + step) / (10 + step))
            with torch.no_grad():
                for e, p in zip(ema.parameters(), model.parameters(), strict=True):
                    e.lerp_(p, 1.0 - decay_now)

    def after_epoch(epoch: int, log: TrainingLog) -> dict:
        running = 0.0  # the epoch's mean loss, each batch weighed by its size
        for j, loss in enumerate(log.steps["loss"][-history.steps_per_epoch :]):
            running += loss * min(bs, n - j * bs)
        history.epoch_loss.append(running / n)
        postfix = {"loss": f"{history.epoch_loss[-1]:.3f}"}
        if val_images is not None:
            history.epoch_accuracy.append(evaluate(ema or model, val_images, val_labels).accuracy)
            postfix["val acc"] = f"{history.epoch_accuracy[-1]:.3f}"
        return postfix

    log = run_training(
        model,
        loss_fn,
        batches,
        epochs=config.epochs,
        steps_per_epoch=history.steps_per_epoch,
        **recipe(config, round(config.warmup_epochs * history.steps_per_epoch)),
        progress=progress,
        desc="training",
        after_step=after_step,
        after_epoch=after_epoch,
    )
    if ema is not None:
        model.load_state_dict(ema.state_dict())
    model.eval()
    history.loss, history.lr = log.steps["loss"], log.steps["lr"]
    history.seconds, history.cpu_seconds = log.seconds, log.cpu_seconds
    return history


def augment(
    images: torch.Tensor,
    *,
    generator: torch.Generator | None = None,
    max_shift: float = 1,
    max_rotate: float = 0.0,
    max_scale: float = 0.0,
    elastic: float = 0.0,
) -> torch.Tensor:
    """Move each image by a random small affine map and warp: ``(B, C, H, W) -> (B, C, H, W)``.

    A whole-number ``max_shift`` alone shifts by whole pixels, up to
    ``max_shift`` each way, and keeps pixel values exact; a fractional shift,
    ``max_rotate`` (degrees), ``max_scale`` (fraction) or ``elastic`` resample
    bilinearly. ``elastic`` adds a smooth random warp (an elastic distortion):
    each of 3 x 3 control points spread over the image moves by up to
    ``elastic`` pixels in x and y, and the pixels between them move smoothly
    with them. Outside the image is zero (background).
    """
    images = checks.float_images(images, "images", ndim=4)
    if max_shift < 0 or max_rotate < 0 or max_scale < 0 or elastic < 0:
        raise ValueError(
            "max_shift, max_rotate, max_scale and elastic must be >= 0; "
            f"got {max_shift}, {max_rotate}, {max_scale}, {elastic}."
        )
    b, _, h, w = images.shape
    if b == 0 or (max_shift == 0 and max_rotate == 0 and max_scale == 0 and elastic == 0):
        return images  # nothing to move

    def uniform(limit: float) -> torch.Tensor:  # (B,) in [-limit, limit]
        return (torch.rand(b, generator=generator) * 2 - 1) * limit

    exact = float(max_shift).is_integer() and max_rotate == 0 and max_scale == 0 and elastic == 0
    if exact:
        shift = torch.randint(-int(max_shift), int(max_shift) + 1, (2, b), generator=generator).float()
    else:
        shift = torch.stack([uniform(max_shift), uniform(max_shift)])
    angle = uniform(math.radians(max_rotate))
    scale = 1.0 + uniform(max_scale)
    # affine_grid works in [-1, 1] coordinates: one pixel is 2 / size.
    tx, ty = shift[0] * 2 / w, shift[1] * 2 / h
    cos, sin = angle.cos() / scale, angle.sin() / scale
    theta = torch.stack([torch.stack([cos, -sin, tx], 1), torch.stack([sin, cos, ty], 1)], 1)  # (B, 2, 3)
    # The random numbers come from the CPU generator (the same draws on any device), then move to the images.
    theta = theta.to(images.device, images.dtype)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    if elastic:  # a smooth warp: random moves at 3 x 3 control points, interpolated over the image
        coarse = (torch.rand(b, 2, 3, 3, generator=generator) * 2 - 1) * elastic
        field = F.interpolate(coarse, size=(h, w), mode="bilinear", align_corners=True)  # (B, 2, H, W) pixels
        scale_xy = torch.tensor([2 / w, 2 / h]).view(1, 2, 1, 1)
        grid = grid + (field * scale_xy).permute(0, 2, 3, 1).to(images.device, images.dtype)
    mode = "nearest" if exact else "bilinear"
    return F.grid_sample(images, grid, mode=mode, padding_mode="zeros", align_corners=False)


@torch.inference_mode()  # no autograd bookkeeping at all: evaluation is a pure forward pass
def predict(model: nn.Module, images: torch.Tensor, *, batch_size: int = 512) -> torch.Tensor:
    """Class predictions in eval mode: ``(N, C, H, W) -> (N,)`` int64 (``(0,)`` for no images)."""
    batch_size = checks.positive_int(batch_size, "batch_size", example=512)
    images = check_images(images, "images", dtype=_param_dtype(model), allow_empty=True)
    if images.shape[0] == 0:
        return torch.zeros(0, dtype=torch.int64, device=images.device)
    was_training = model.training
    model.eval()
    out = torch.cat([model(images[i : i + batch_size]).argmax(-1) for i in range(0, images.shape[0], batch_size)])
    model.train(was_training)
    return out


def confusion_matrix(labels: torch.Tensor, predictions: torch.Tensor, num_classes: int | None = None) -> torch.Tensor:
    """Counts ``(K, K)`` from ``(N,)`` labels and predictions: entry ``[i, j]`` is how many of class ``i`` were
    predicted as ``j``."""
    if labels.shape != predictions.shape or labels.dim() != 1:
        raise ValueError(
            f"labels and predictions must be 1-D of the same length; got {tuple(labels.shape)} "
            f"and {tuple(predictions.shape)}."
        )
    if num_classes is not None:
        num_classes = checks.positive_int(num_classes, "num_classes", example=10)
    for name, t in (("labels", labels), ("predictions", predictions)):
        if torch.is_floating_point(t) or t.dtype == torch.bool:
            raise TypeError(f"{name} must be integer class indices; got {t.dtype}. Use {name}.long().")
        if t.numel() and int(t.min()) < 0:
            raise ValueError(f"{name} must be class indices >= 0; got {int(t.min())}.")
        if num_classes is not None and t.numel() and int(t.max()) >= num_classes:
            raise ValueError(
                f"{name} must be in [0, {num_classes}); got {int(t.max())}. "
                f"Pass num_classes={int(t.max()) + 1}, or shift 1-based labels with {name} - 1."
            )
    if num_classes is None:
        num_classes = int(max(labels.max(), predictions.max())) + 1 if labels.numel() else 0
    k = num_classes
    return torch.bincount(labels.long() * k + predictions.long(), minlength=k * k).reshape(k, k)


def evaluate(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, *, num_classes: int | None = None):
    """Accuracy, predictions and the confusion matrix of ``model`` on ``(N, C, H, W)`` images, ``(N,)`` labels."""
    k = num_classes or _num_classes(model)
    images, labels = _check_data(images, labels, "evaluation", k, _param_dtype(model))
    predictions = predict(model, images)
    confusion = confusion_matrix(labels, predictions, k)
    return Evaluation((predictions == labels).float().mean().item(), predictions, labels, confusion)


@dataclass
class DigitsRun:
    """A trained model with its data, history and test evaluation."""

    model: ViT
    data: Digits
    history: History
    evaluation: Evaluation


def train_on_digits(seed: int, build: Callable[[], nn.Module], train: Callable[[nn.Module, Digits], Any]):
    """The digits drivers' one path: load the split ``seed``, build the model under a forked global seed, train.

    ``build()`` makes the model (its initial weights drawn from ``seed``, the global random state left alone);
    ``train(model, data)`` trains it and returns its history. Returns ``(data, model, history)``.
    """
    seed = checks.nonnegative_int(seed, "seed", example=0)
    data = load_digits(seed=seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build()
    return data, model, train(model, data)


def train_digits(
    *,
    seed: int = 0,
    preset: str = "digits_p4",
    config: TrainConfig | None = None,
    model_overrides: dict | None = None,
    progress: bool = True,
    validate: bool = False,
    **overrides,
) -> DigitsRun:
    """Train a ViT from scratch on the digits split ``seed`` and evaluate it on the held-out 20 %.

    ``seed`` fixes the split, the initial weights, the shuffling and the
    augmentation; the global random state is left as it was.
    """
    config = replace(config or TrainConfig(), seed=seed, **overrides)

    def train(model: nn.Module, data: Digits) -> History:
        val = {"val_images": data.x_test, "val_labels": data.y_test} if validate else {}
        return fit(model, data.x_train, data.y_train, config=config, progress=progress, **val)

    data, model, history = train_on_digits(seed, lambda: ViT.from_preset(preset, **(model_overrides or {})), train)
    return DigitsRun(model, data, history, evaluate(model, data.x_test, data.y_test))
