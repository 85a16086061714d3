"""vitlib.viz.training.plot_runs: several training runs side by side (notebooks 11 and 12)."""

from __future__ import annotations

import math

import pytest
from matplotlib.figure import Figure

from vitlib import viz
from vitlib.engine import History


def _history(loss, accuracy=()):
    logs = {"val_accuracy": list(accuracy)} if accuracy else {}
    return History(steps={"loss": list(loss), "lr": [1e-3] * len(loss)}, logs=logs, log_every=2)


def test_plot_runs_draws_one_line_per_run_and_the_chance_levels():
    runs = {"a": _history([2.3, 2.1, 1.0, 0.8], [0.4, 0.9]), "b": _history([2.3, 2.3, 2.3, 2.3], [0.1, 0.1])}
    fig = viz.plot_runs(runs, chance=0.1, title="two runs")
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    loss, accuracy = fig.axes
    assert [line.get_label() for line in loss.get_lines()] == ["a", "b", "chance"]
    assert list(loss.get_lines()[0].get_ydata()) == pytest.approx([2.2, 0.9])  # epoch means
    assert loss.get_lines()[2].get_ydata()[0] == pytest.approx(math.log(10))
    assert list(accuracy.get_lines()[0].get_ydata()) == pytest.approx([40, 90])
    assert accuracy.get_lines()[2].get_ydata()[0] == pytest.approx(10)
    assert fig._suptitle.get_text() == "two runs"


def test_plot_runs_panels_and_labels():
    runs = {"train": _history([1, 1], [0.5]), "no validation": _history([1, 1])}
    fig = viz.plot_runs(runs, loss=False, accuracy_label="accuracy (%)")
    assert len(fig.axes) == 1 and fig.axes[0].get_ylabel() == "accuracy (%)"
    assert len(fig.axes[0].get_lines()) == 1  # the run without validation data has no accuracy curve
    assert len(viz.plot_runs(runs, accuracy=False).axes) == 1


@pytest.mark.parametrize(
    ("runs", "kwargs", "match"),
    [
        ({}, {}, "at least one"),
        ({"a": History()}, {}, "holds no training steps"),
        ({"a": _history([1, 1])}, {}, "no run has a validation accuracy"),
        ({"a": _history([1, 1], [0.5])}, {"loss": False, "accuracy": False}, "the loss, the accuracy or both"),
    ],
)
def test_plot_runs_refuses_what_it_cannot_draw(runs, kwargs, match):
    with pytest.raises(ValueError, match=match):
        viz.plot_runs(runs, **kwargs)
