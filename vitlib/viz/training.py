"""Pictures of training (notebooks 06, 11, 12): the training curve, the confusion matrix, several runs compared."""

from __future__ import annotations

import numpy as np
import torch
from matplotlib.colors import SymLogNorm
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .core import LINE_COLORS, MARKERS, add_colorbar, epoch_means, new_figure, set_description

__all__ = ["plot_confusion_matrix", "plot_curves", "plot_loss_curve", "plot_runs"]

MAX_ERRORS = 6  # kinds of mistake a confusion matrix's text alternative lists


def plot_loss_curve(history, *, size: float = 3.0) -> Figure:
    """A training :class:`~vitlib.engine.History` of :func:`vitlib.train.fit`: the loss per step ``(steps,)``
    with its epoch means and the learning rate; beside it the validation accuracy per epoch, if there is one."""
    loss = np.asarray(history.loss, dtype=float)
    if loss.size == 0:
        raise ValueError("the history holds no steps yet; train first (vitlib.train.fit).")
    accuracy = list(history.logs.get("val_accuracy", []))  # fit logs it every epoch when given validation data
    fig = new_figure((2 if accuracy else 1) * (size + 0.9) + 0.3, size * 0.8 + 0.4)
    axes = fig.subplots(1, 2 if accuracy else 1, squeeze=False)[0]
    steps = np.arange(1, loss.size + 1)
    ax = axes[0]
    ax.plot(steps, loss, color=LINE_COLORS[0], lw=0.6, alpha=0.4, label="per step")
    spe = history.log_every  # fit logs once an epoch
    if spe and loss.size >= spe:
        x, means = epoch_means(loss, spe)
        ax.plot(x, means, color=LINE_COLORS[0], lw=1.8, marker="o", ms=2.5, label="epoch mean")
    ax.set_xlabel("step", fontsize=8)
    ax.set_ylabel("training loss (cross-entropy)", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper right")
    ax.set_title(f"training loss, {loss.size} steps", fontsize=9)
    if len(history.lr) == loss.size:
        twin = ax.twinx()
        twin.plot(steps, history.lr, color="gray", lw=1.0, ls="--")
        twin.set_ylabel("learning rate (dashed)", fontsize=8, color="gray")
        twin.tick_params(labelsize=7, colors="gray")
        twin.ticklabel_format(axis="y", style="sci", scilimits=(0, 0))
    if accuracy:
        ax = axes[1]
        epochs = np.arange(1, len(accuracy) + 1)
        ax.plot(epochs, 100 * np.asarray(accuracy), color=LINE_COLORS[2], marker="o", ms=3)
        ax.set_xlabel("epoch", fontsize=8)
        ax.set_ylabel("validation accuracy (%)", fontsize=8)
        ax.set_ylim(max(0, 100 * min(accuracy) - 5), 100.5)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        ax.set_title(f"validation accuracy, last {100 * accuracy[-1]:.1f} %", fontsize=9)
    text = (
        f"A line chart of the training loss at each of {loss.size} steps, from {loss[0]:.3g} to {loss[-1]:.3g}"
        + (", with its epoch means" if spe and loss.size >= spe else "")
        + (" and the learning rate (dashed, right axis)" if len(history.lr) == loss.size else "")
    )
    if accuracy:
        last = 100 * accuracy[-1]
        text += f"; beside it, the validation accuracy after each of {len(accuracy)} epochs, last {last:.1f} %"
    return set_description(fig, text)


def plot_confusion_matrix(
    confusion: torch.Tensor, *, class_names=None, title: str | None = None, size: float = 3.6
) -> Figure:
    """A ``(K, K)`` confusion matrix: row = true class, column = predicted; counts written in, colour on a
    log scale (so that a single error still shows beside the large diagonal) with a colour bar."""
    if not isinstance(confusion, torch.Tensor) or confusion.dim() != 2 or confusion.shape[0] != confusion.shape[1]:
        shape = tuple(confusion.shape) if isinstance(confusion, torch.Tensor) else type(confusion).__name__
        raise ValueError(f"confusion must be a square (K, K) matrix of counts; got {shape}.")
    counts = confusion.detach().cpu().numpy()
    k = counts.shape[0]
    names = [str(i) for i in range(k)] if class_names is None else [str(c) for c in class_names]
    if len(names) != k:
        raise ValueError(f"got {len(names)} class names for {k} classes.")
    fig = new_figure(size + 1.3, size + 0.4)
    ax = fig.add_subplot()
    norm = SymLogNorm(linthresh=1, vmin=0, vmax=max(float(counts.max()), 1.0))
    picture = ax.imshow(counts, cmap="Blues", norm=norm, interpolation="nearest")
    for i in range(k):
        for j in range(k):
            if counts[i, j]:
                color = "white" if i == j else "tab:red"
                ax.text(j, i, str(int(counts[i, j])), ha="center", va="center", fontsize=7, color=color)
    ax.set_xticks(range(k), names, fontsize=7)
    ax.set_yticks(range(k), names, fontsize=7)
    ax.set_xlabel("predicted class", fontsize=8)
    ax.set_ylabel("true class", fontsize=8)
    total, right = counts.sum(), np.trace(counts)
    ax.set_title(title or f"{int(right)}/{int(total)} correct ({100 * right / max(total, 1):.1f} %)", fontsize=9)
    add_colorbar(fig, picture, ax, label="count (log scale)")
    errors = [(int(counts[i, j]), names[i], names[j]) for i in range(k) for j in range(k) if i != j and counts[i, j]]
    errors.sort(key=lambda error: -error[0])  # the most frequent first
    listed = "; ".join(f"{n} of class {t} predicted as {p}" for n, t, p in errors[:MAX_ERRORS])
    if len(errors) > MAX_ERRORS:
        listed += f"; and {len(errors) - MAX_ERRORS} more kinds of error"
    return set_description(
        fig,
        f"A {k} x {k} confusion matrix, row = true class, column = predicted class, each count written in its cell "
        f"(mistakes off the diagonal, in red), the colour on a log scale. "
        + (f"Mistakes: {listed}" if errors else "No mistakes: every count is on the diagonal"),
    )


def plot_curves(
    x,
    curves: dict,
    *,
    xlabel: str,
    ylabel: str,
    title: str | None = None,
    log_x: bool = False,
    log_y: bool = False,
    spread: dict | None = None,
    references: dict | None = None,
    point_labels=None,
    join: bool = True,
    ylim: tuple[float, float] | None = None,
    size: tuple[float, float] = (4.6, 3.0),
) -> Figure:
    """Measured curves on one axes (notebook 09: accuracy against data, time against tokens).

    ``x``: the ``(K,)`` positions, shown as the ticks; ``curves``: ``{label: (K,) values}``, one line each, in
    its own colour and marker (:data:`~vitlib.viz.core.LINE_COLORS`, :data:`~vitlib.viz.core.MARKERS`);
    ``spread``: ``{label: (x, values)}``, a vertical bar through several values at one ``x`` (e.g.
    seeds), in the colour of that curve; ``references``: ``{label: (K,) values}``, dashed black lines (e.g.
    a model's prediction); ``point_labels``: ``K`` texts written beside the first curve's points.
    ``join=False`` draws the points without lines between them (single measurements, whose noise a line would
    make read as a trend); ``ylim`` fixes the y range (e.g. ``(0, 100)`` for accuracies, nothing truncated).
    """
    x = [float(v) for v in x]
    if not curves:
        raise ValueError("curves must hold at least one {label: values} entry.")
    for name, ys in {**curves, **(references or {})}.items():
        if len(ys) != len(x):
            raise ValueError(f"curve {name!r} has {len(ys)} values for {len(x)} positions; give one per position.")
    fig = new_figure(*size)
    ax = fig.add_subplot()
    colors = {}
    for i, (name, ys) in enumerate(curves.items()):
        style = {"color": LINE_COLORS[i % len(LINE_COLORS)], "marker": MARKERS[i % len(MARKERS)]}
        (line,) = ax.plot(x, [float(v) for v in ys], linestyle="-" if join else "none", label=name, **style)
        colors[name] = line.get_color()
    for name, (at, values) in (spread or {}).items():
        if name not in colors:
            raise ValueError(f"spread names {name!r}, which is not one of the curves {list(curves)}.")
        ax.plot(
            [float(at)] * len(values), [float(v) for v in values], "_-", color=colors[name], markersize=12, alpha=0.6
        )
    for name, ys in (references or {}).items():
        ax.plot(x, [float(v) for v in ys], "k--", lw=1, label=name)
    if point_labels is not None:
        first = [float(v) for v in next(iter(curves.values()))]
        for xi, yi, text in zip(x, first, point_labels, strict=True):
            ax.annotate(str(text), (xi, yi), textcoords="offset points", xytext=(4, -10), fontsize=8)
    ax.set(xlabel=xlabel, ylabel=ylabel, xscale="log" if log_x else "linear", yscale="log" if log_y else "linear")
    ax.set_xticks(x, [f"{v:g}" for v in x])
    ax.set_xticks([], minor=True)
    if ylim is not None:
        ax.set_ylim(*ylim)
    if title:
        ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    values = "; ".join(f"{name}: {', '.join(f'{float(v):.3g}' for v in ys)}" for name, ys in curves.items())
    dashed = f", and dashed: {', '.join(references)}" if references else ""
    return set_description(
        fig,
        f"A {'line chart' if join else 'chart of points'} of {ylabel} against {xlabel}, {len(curves)} measured "
        f"curve{'s' if len(curves) > 1 else ''}"
        f"{dashed}. At {xlabel} = {', '.join(f'{v:g}' for v in x)}: {values}",
    )


def plot_runs(
    runs: dict,
    *,
    loss: bool = True,
    accuracy: bool = True,
    chance: float | None = None,
    title: str | None = None,
    accuracy_label: str = "validation accuracy (%)",
    size: float = 3.0,
) -> Figure:
    """Several training runs side by side (notebooks 11 and 12): ``{label: History}``, one colour per run.

    Left, each run's training loss per epoch (the mean of its steps, :func:`~vitlib.viz.core.epoch_means`);
    right, its accuracy per epoch on the data it was given for validation (its log ``val_accuracy``). ``chance``
    (e.g. 0.1 for ten classes) draws the accuracy of guessing and the loss of predicting every class alike,
    ``-ln(chance)``, as dashed grey lines. A run without validation data has no accuracy curve;
    ``accuracy_label`` names the accuracy's axis (the data ``fit`` was given as ``val_images``).
    """
    if not runs:
        raise ValueError("runs must hold at least one {label: History} entry.")
    if not (loss or accuracy):
        raise ValueError("draw the loss, the accuracy or both: loss=True or accuracy=True.")
    for name, history in runs.items():
        if not history.steps.get("loss"):
            raise ValueError(f"run {name!r} holds no training steps; pass the History that vitlib.train.fit returned.")
    if accuracy and not any(h.logs.get("val_accuracy") for h in runs.values()):
        raise ValueError("no run has a validation accuracy; train with fit(..., val_images=..., val_labels=...).")
    panels = [kind for kind, wanted in (("loss", loss), ("accuracy", accuracy)) if wanted]
    fig = new_figure(len(panels) * (size + 0.7) + 0.3, size * 0.8 + 0.5)
    axes = dict(zip(panels, fig.subplots(1, len(panels), squeeze=False)[0], strict=True))
    for index, (name, history) in enumerate(runs.items()):
        color, marker = LINE_COLORS[index % len(LINE_COLORS)], MARKERS[index % len(MARKERS)]
        if loss:
            ends, means = epoch_means(history.loss, history.log_every)  # fit logs once an epoch
            axes["loss"].plot(ends / history.log_every, means, f"{marker}-", ms=2.5, color=color, label=str(name))
        if accuracy and history.logs.get("val_accuracy"):
            accuracies = history.logs["val_accuracy"]
            epochs = np.arange(1, len(accuracies) + 1)
            axes["accuracy"].plot(
                epochs, 100 * np.asarray(accuracies), f"{marker}-", ms=2.5, color=color, label=str(name)
            )
    labels = {"loss": "training loss (epoch mean)", "accuracy": accuracy_label}
    for kind, ax in axes.items():
        if chance is not None:
            level = -np.log(chance) if kind == "loss" else 100 * chance
            ax.axhline(level, color="gray", ls="--", lw=1, label="chance")
        ax.set_xlabel("epoch", fontsize=8)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(labels[kind], fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    if accuracy:
        axes["accuracy"].set_ylim(0, 101)
    next(iter(axes.values())).legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9)
    ends = {name: f"{100 * h.logs['val_accuracy'][-1]:.1f} %" for name, h in runs.items() if h.logs.get("val_accuracy")}
    last = f" Last epoch's accuracy: {'; '.join(f'{n}: {v}' for n, v in ends.items())}." if accuracy and ends else ""
    return set_description(fig, f"{len(runs)} training runs side by side, per epoch: {', '.join(panels)}.{last}")
