"""The convergence plot of one comparison: validation accuracy and training loss against step, per network, every
seed thin and the median bold; with one seed, the first steps reaching 50% and 90% are marked."""

from __future__ import annotations

from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from bn_mnist.core import runfiles
from bn_mnist.core.plots import laid_out, subplots
from bn_mnist.core.plots.seed_curves import SEEDS_NOTE, Curve, Series, accuracy_axis, draw_seeds

MARKED_THRESHOLDS = (0.5, 0.9)


def mark_thresholds(axis: Axes, curve: Curve, color: str) -> None:
    """Mark the first step at or above each threshold on a single run's curve."""
    for threshold in MARKED_THRESHOLDS:
        reached = [(s, v) for s, v in zip(curve.step, curve.value) if v is not None and v >= threshold]
        if reached:
            step, value = reached[0]
            axis.plot([step], [value], "o", color=color, markersize=6)
            axis.annotate(
                f">={threshold:.0%} at step {step}",
                (step, value),
                textcoords="offset points",
                xytext=(6, -14),
                fontsize=8,
                color=color,
            )


def convergence_figure(accuracy: list[Series], loss: list[Series], title: str) -> Figure:
    """Validation accuracy and training loss against step, one colour per arm."""
    figure, (acc_axis, loss_axis) = subplots(1, 2, figsize=(11, 4.6))
    draw_seeds(acc_axis, accuracy)
    draw_seeds(loss_axis, loss)
    for series in accuracy:
        if len(series.curves) == 1:
            mark_thresholds(acc_axis, series.curves[0], series.colour)
    accuracy_axis(acc_axis, "Validation Accuracy During Training")
    loss_axis.set(title="Training Loss", xlabel="training step", ylabel="training loss (log scale)", yscale="log")
    for axis in (acc_axis, loss_axis):
        axis.grid(True, alpha=0.4)
        axis.legend(loc="best", fontsize=8)
    seeds = max(len(series.curves) for series in accuracy)
    figure.suptitle(title + (f"\n{SEEDS_NOTE}" if seeds > 1 else ""))
    return laid_out(figure)


def curves_of(records: list[dict[str, Any]], name: str) -> Curve:
    """One metric of one run's metrics.jsonl records as a curve."""
    steps, values = runfiles.series(records, name)
    return Curve(steps, [runfiles.finite_or_none(value) for value in values])
