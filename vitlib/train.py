"""Training and evaluating a classifier on the CPU (notebook 06): the classification task on the engine.

:func:`fit` trains any ``(B, C, H, W) -> logits`` model (a ViT, a CNN) with :func:`vitlib.engine.run_training`,
the library's one loop: it adds the loss (cross-entropy with label smoothing, on mixup pairs), the
augmentation (:func:`augment`) and, per epoch, the training loss and the validation accuracy. :func:`evaluate`
gives accuracy, predictions and a confusion matrix; :func:`train_digits` puts it together for the digits::

    run = vitlib.train.train_digits(seed=0)
    run.evaluation.accuracy         # held-out test accuracy
    run.history.loss                # one value per step, for the loss curve

The recipe for small data from scratch (:class:`TrainConfig`'s defaults): AdamW with a one-epoch linear
warm-up and a cosine decay, weight decay on the weight matrices only, label smoothing, mixup, random sub-pixel
shifts and small smooth (elastic) warps of the images, and (in the ``digits_p4`` preset) light stochastic
depth. With it the digits classifier reaches about 99 % held-out accuracy (at least 98.6 % on each of the
splits 0-9) in about 14 s of one CPU thread (``benchmarks/bench_train.py``).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn

from . import checks
from .data import Digits, DigitSplits, load_digit_splits, load_digits
from .engine import History, Recipe, epoch_batches, evaluating, run_training
from .model import ViT

__all__ = [
    "DigitsRun",
    "Evaluation",
    "TrainConfig",
    "augment",
    "check_images",
    "check_labels",
    "confusion_matrix",
    "evaluate",
    "fit",
    "predict",
    "train_digits",
    "train_on_digits",
]


@dataclass(frozen=True)
class TrainConfig(Recipe):
    """The classifier's recipe: :class:`~vitlib.engine.Recipe`'s fields (tuned for the digits) and its own.

    ``warmup_steps=None`` warms up over one epoch. Checked when made.
    """

    lr: float = 2e-3
    min_lr: float = 1e-5
    epochs: int = 40
    label_smoothing: float = 0.1
    # Augmentation: a random affine move of each training image, in pixels / degrees / fraction.
    max_shift: float = 0.5
    max_rotate: float = 0.0
    max_scale: float = 0.0
    elastic: float = 0.5  # largest local displacement of a smooth random warp, in pixels; 0: off
    mixup: float = 0.2  # Beta(a, a) mixing of image pairs and their labels; 0: off
    ema_decay: float | None = None  # e.g. 0.99: evaluate an exponential moving average of the weights
    # bf16 autocast of the forward pass (benchmarks/bench_train.py --bf16): it pays only on a CPU with native
    # bf16 (AVX-512 BF16 or AMX) and a model wider than the digits'; elsewhere it is slower, so off by default.
    bf16: bool = False

    def __post_init__(self):
        super().__post_init__()
        checks.positive_int(self.epochs, "epochs", example=10)
        checks.fraction(self.label_smoothing, "label_smoothing", high_open=True, example=0.1)
        for name in ("max_shift", "max_rotate", "max_scale", "elastic", "mixup"):
            checks.nonnegative_float(getattr(self, name), name, example=0.5)
        if self.ema_decay is not None:
            checks.fraction(self.ema_decay, "ema_decay", low_open=True, high_open=True, example=0.99)
        if not isinstance(self.bf16, bool):
            raise TypeError(f"bf16 must be True or False; got {self.bf16!r}. Pass e.g. bf16=False.")


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


# --- data at the task's boundary ------------------------------------------------------------------------------


def _num_classes(model: nn.Module) -> int | None:
    k = getattr(getattr(model, "config", None), "num_classes", None)
    return k if isinstance(k, int) and not isinstance(k, bool) and k > 0 else None


def _classifier(model: nn.Module) -> int | None:
    """The model's class count; a model built without a head (``num_classes=0``) is refused: its outputs are
    features, and reading them as class scores would train something meaningless."""
    if getattr(getattr(model, "config", None), "num_classes", None) == 0:
        raise ValueError(
            f"this {type(model).__name__} has no classification head (num_classes=0): it returns features, not class "
            "scores. Build it with the number of classes, e.g. num_classes=10."
        )
    return _num_classes(model)


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


# --- the task ---------------------------------------------------------------------------------------------------


def fit(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    config: TrainConfig | None = None,
    val_images: torch.Tensor | None = None,
    val_labels: torch.Tensor | None = None,
    train_accuracy: bool = False,
    progress: bool = True,
    **overrides,
) -> History:
    """Train a classifier in place on ``(N, C, H, W)`` images and ``(N,)`` labels; return the engine's History.

    ``model`` is any ``nn.Module`` mapping ``(B, C, H, W)`` to logits ``(B, classes)`` (a ViT, a CNN...).
    Keywords override fields of ``config`` (``fit(model, x, y, epochs=5)``). ``config.epochs`` passes over
    the data become ``epochs * ceil(N / batch_size)`` steps of the engine; per epoch the history logs
    ``train_loss`` (its mean), with validation data ``val_accuracy``, and with ``train_accuracy=True`` the
    accuracy on the training images themselves (as given, without augmentation), ``train_accuracy``: beside
    ``val_accuracy``, the signature of overfitting, from one run. Everything random (order,
    augmentation, mixup, dropout) is drawn from ``config.seed``; the global random state is left as it was.
    With ``ema_decay`` set, the model ends up holding the averaged weights.
    """
    config = checks.configured(TrainConfig, config, overrides)
    k, dtype = _classifier(model), _param_dtype(model)
    images, labels = _check_data(images, labels, "training", k, dtype)
    if (val_images is None) != (val_labels is None):
        raise ValueError("give both val_images and val_labels, or neither.")
    if val_images is not None:
        val_images, val_labels = _check_data(val_images, val_labels, "validation", k, dtype)
    n, bs = images.shape[0], config.batch_size
    per_epoch = math.ceil(n / bs)
    recipe = config if config.warmup_steps is not None else replace(config, warmup_steps=per_epoch)  # one epoch
    ema = copy.deepcopy(model).eval().requires_grad_(False) if config.ema_decay else None
    mix = torch.distributions.Beta(config.mixup, config.mixup) if config.mixup > 0 else None
    batches = epoch_batches(n, bs)
    smoothing = config.label_smoothing

    def loss_fn(model: nn.Module, idx: torch.Tensor, generator: torch.Generator, step: int):
        x, y = images[idx], labels[idx]
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
            return F.cross_entropy(logits.float(), y, label_smoothing=smoothing), {}
        # mixup: a blend of two images must predict the same blend of their labels
        lam, partner = mix.sample().item(), torch.randperm(len(y), generator=generator)
        with autocast:
            logits = model(lam * x + (1 - lam) * x[partner]).float()
        loss = lam * F.cross_entropy(logits, y, label_smoothing=smoothing)
        return loss + (1 - lam) * F.cross_entropy(logits, y[partner], label_smoothing=smoothing), {}

    def after_step(step: int) -> None:
        if ema is not None:  # the average warms up fast at first, like a bias-corrected EMA
            decay_now = min(config.ema_decay, (1 + step) / (10 + step))
            with torch.no_grad():
                for e, p in zip(ema.parameters(), model.parameters(), strict=True):
                    e.lerp_(p, 1.0 - decay_now)

    def on_log(history: History) -> dict:
        sizes = [min(bs, n - j * bs) for j in range(per_epoch)]  # the epoch's mean loss, each batch by its size
        epoch = history.steps["loss"][-per_epoch:]
        history.logs.setdefault("train_loss", []).append(sum(v * s for v, s in zip(epoch, sizes, strict=True)) / n)
        postfix = {"loss": f"{history.logs['train_loss'][-1]:.3f}"}
        if val_images is not None:
            accuracy = evaluate(ema or model, val_images, val_labels).accuracy
            history.logs.setdefault("val_accuracy", []).append(accuracy)
            postfix["val acc"] = f"{accuracy:.3f}"
        if train_accuracy:
            history.logs.setdefault("train_accuracy", []).append(evaluate(ema or model, images, labels).accuracy)
        return postfix

    history = run_training(
        model,
        loss_fn,
        batches,
        steps=config.epochs * per_epoch,
        recipe=recipe,
        log_every=per_epoch,
        on_log=on_log,
        after_step=after_step,
        progress=progress,
        desc="training",
    )
    if ema is not None:
        model.load_state_dict(ema.state_dict())
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
    max_shift, max_rotate, max_scale, elastic = (
        checks.nonnegative_float(value, name, example=0.5)
        for name, value in (
            ("max_shift", max_shift),
            ("max_rotate", max_rotate),
            ("max_scale", max_scale),
            ("elastic", elastic),
        )
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


def predict(model: nn.Module, images: torch.Tensor, *, batch_size: int = 512) -> torch.Tensor:
    """Class predictions in eval mode: ``(N, C, H, W) -> (N,)`` int64 (``(0,)`` for no images)."""
    batch_size = checks.positive_int(batch_size, "batch_size", example=512)
    images = check_images(images, "images", dtype=_param_dtype(model), allow_empty=True)
    if images.shape[0] == 0:
        return torch.zeros(0, dtype=torch.int64, device=images.device)
    with evaluating(model):
        return torch.cat([model(images[i : i + batch_size]).argmax(-1) for i in range(0, len(images), batch_size)])


def confusion_matrix(labels: torch.Tensor, predictions: torch.Tensor, num_classes: int | None = None) -> torch.Tensor:
    """Counts ``(K, K)`` from ``(N,)`` labels and predictions: entry ``[i, j]`` is how many of class ``i`` were
    predicted as ``j``. With no labels at all, ``num_classes`` zeros a side (it cannot be guessed from nothing)."""
    for name, t in (("labels", labels), ("predictions", predictions)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(
                f"{name} must be a torch tensor of class indices; got {type(t).__name__}. "
                f"Convert it: torch.as_tensor({name})."
            )
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
        if not labels.numel():
            raise ValueError("labels and predictions are empty: no class to count. Pass num_classes to get zeros.")
        num_classes = int(max(labels.max(), predictions.max())) + 1
    k = num_classes
    return torch.bincount(labels.long() * k + predictions.long(), minlength=k * k).reshape(k, k)


def evaluate(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, *, num_classes: int | None = None):
    """Accuracy, predictions and the confusion matrix of ``model`` on ``(N, C, H, W)`` images, ``(N,)`` labels."""
    k = num_classes or _classifier(model)
    images, labels = _check_data(images, labels, "evaluation", k, _param_dtype(model))
    predictions = predict(model, images)
    confusion = confusion_matrix(labels, predictions, k)
    return Evaluation((predictions == labels).float().mean().item(), predictions, labels, confusion)


@dataclass
class DigitsRun:
    """A trained model with its data, history and test evaluation."""

    model: ViT
    data: Digits | DigitSplits
    history: History
    evaluation: Evaluation


def train_on_digits(
    seed: int, build: Callable[[], nn.Module], train: Callable[[nn.Module, Digits], History], *, validation=False
):
    """The digits drivers' one path: load the split ``seed``, build the model under a forked global seed, train.

    ``build()`` makes the model (its initial weights drawn from ``seed``, the global random state left alone);
    ``train(model, data)`` trains it and returns its history. ``validation=True`` loads the three parts of
    :func:`~vitlib.data.load_digit_splits` instead (a fifth of the training digits set aside to validate on; the
    same test part). Returns ``(data, model, history)``.
    """
    seed = checks.nonnegative_int(seed, "seed", example=0)
    data = load_digit_splits(seed=seed) if validation else load_digits(seed=seed)
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

    ``seed`` fixes the split, the initial weights, the shuffling and the augmentation; the global random state
    is left as it was. ``validate=True`` sets a fifth of the training digits aside as a validation part
    (:func:`~vitlib.data.load_digit_splits`: 1,149 to train on, 288 to validate on) and logs the accuracy on it every
    epoch, for the curve and for choices; the test part is read once, at the end, either way.
    """
    config = checks.configured(TrainConfig, config, {"seed": seed, **overrides})

    def train(model: nn.Module, data: Digits) -> History:
        val = {"val_images": data.x_val, "val_labels": data.y_val} if validate else {}  # never the test part
        return fit(model, data.x_train, data.y_train, config=config, progress=progress, **val)

    build = lambda: ViT.from_preset(preset, **(model_overrides or {}))  # noqa: E731
    data, model, history = train_on_digits(seed, build, train, validation=validate)
    return DigitsRun(model, data, history, evaluate(model, data.x_test, data.y_test))
