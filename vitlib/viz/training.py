"""Pictures of notebook 06: the training curve and the confusion matrix."""

from __future__ import annotations

import numpy as np
import torch
from matplotlib.colors import SymLogNorm
from matplotlib.figure import Figure

from .core import LINE_COLORS, MARKERS, add_colorbar, epoch_means, new_figure, set_description

__all__ = ["plot_confusion_matrix", "plot_curves", "plot_loss_curve"]

MAX_ERRORS = 6  # kinds of mistake a confusion matrix's text alternative lists


def plot_loss_curve(history, *, size: float = 3.0) -> Figure:
    """A training :class:`~vitlib.train.History`: the loss per step ``(steps,)`` with its epoch means and
    the learning rate; beside it the validation accuracy per epoch ``(epochs,)``, if there is one."""
    loss = np.asarray(history.loss, dtype=float)
    if loss.size == 0:
        raise ValueError("the history holds no steps yet; train first (vitlib.train.fit).")
    accuracy = list(getattr(history, "epoch_accuracy", []))
    fig = new_figure((2 if accuracy else 1) * (size + 0.9) + 0.3, size * 0.8 + 0.4)
    axes = fig.subplots(1, 2 if accuracy else 1, squeeze=False)[0]
    steps = np.arange(1, loss.size + 1)
    ax = axes[0]
    ax.plot(steps, loss, color=LINE_COLORS[0], lw=0.6, alpha=0.4, label="per step")
    spe = history.steps_per_epoch
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
        ax.set_ylabel("accuracy on held-out data (%)", fontsize=8)
        ax.set_ylim(max(0, 100 * min(accuracy) - 5), 100.5)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        ax.set_title(f"held-out accuracy, last {100 * accuracy[-1]:.1f} %", fontsize=9)
    text = (
        f"A line chart of the training loss at each of {loss.size} steps, from {loss[0]:.3g} to {loss[-1]:.3g}"
        + (", with its epoch means" if spe and loss.size >= spe else "")
        + (" and the learning rate (dashed, right axis)" if len(history.lr) == loss.size else "")
    )
    if accuracy:
        last = 100 * accuracy[-1]
        text += f"; beside it, the held-out accuracy after each of {len(accuracy)} epochs, last {last:.1f} %"
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
    size: tuple[float, float] = (4.6, 3.0),
) -> Figure:
    """Measured curves on one axes (notebook 09: accuracy against data, time against tokens).

    ``x``: the ``(K,)`` positions, shown as the ticks; ``curves``: ``{label: (K,) values}``, one line each, in
    its own colour and marker (:data:`~vitlib.viz.core.LINE_COLORS`, :data:`~vitlib.viz.core.MARKERS`);
    ``spread``: ``{label: (x, values)}``, a vertical bar through several values at one ``x`` (e.g.
    seeds), in the colour of that curve; ``references``: ``{label: (K,) values}``, dashed black lines (e.g.
    a model's prediction); ``point_labels``: ``K`` texts written beside the first curve's points.
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
        (line,) = ax.plot(x, [float(v) for v in ys], "-", label=name, **style)
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
    if title:
        ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    values = "; ".join(f"{name}: {', '.join(f'{float(v):.3g}' for v in ys)}" for name, ys in curves.items())
    dashed = f", and dashed: {', '.join(references)}" if references else ""
    return set_description(
        fig,
        f"A line chart of {ylabel} against {xlabel}, {len(curves)} measured curve{'s' if len(curves) > 1 else ''}"
        f"{dashed}. At {xlabel} = {', '.join(f'{v:g}' for v in x)}: {values}",
    )
