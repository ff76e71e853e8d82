"""Curves over seeds: every seed a thin line, the median over seeds bold (a median describes a typical run; a mean
of runs that split into learners and failures describes none). A run that stopped early (diverged) is held at its
last value, which is how it scores from then on."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from bn_mnist.core.plots import laid_out, subplots
from bn_mnist.core.records import Record

SEEDS_NOTE = "thin lines: each seed; bold: the median over seeds"


@dataclass(frozen=True)
class Curve(Record):
    """One metric of one run against the training step (None: a diverged run's value)."""

    step: list[int]
    value: list[float | None]


@dataclass(frozen=True)
class Series:
    """One arm's curves over seeds, as a figure draws them."""

    label: str
    colour: str
    curves: list[Curve]


@dataclass(frozen=True)
class Published:
    """Published points of one arm: (steps, values)."""

    label: str
    colour: str
    steps: list[int]
    values: list[float | None]  # None: a point not known (hidden in a digitised figure), drawn as a gap
    style: str = "o--"  # matplotlib's format: open markers joined by a dashed line; "--" or ":" for a whole curve


def curve_values(curve: Curve) -> list[float]:
    """A curve's values with NaN where results.json has null (a diverged run's value)."""
    return [np.nan if v is None else v for v in curve.value]


def seed_matrix(curves: list[Curve], steps: list[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A (seeds, steps) array over `steps` (default: the longest curve's); a run that stopped early (diverged) is
    held at its last value, which is how it scores from then on."""
    steps = steps or max((c.step for c in curves), key=len)
    rows = [values + values[-1:] * (len(steps) - len(values)) for values in map(curve_values, curves)]
    return np.asarray(steps), np.asarray(rows, dtype=float)


def draw_seeds(axis: Axes, series: list[Series]) -> None:
    """Each arm's seeds thin and their median bold, in the arm's colour, all over the longest run's steps."""
    longest = max((c.step for one in series for c in one.curves), key=len)
    for one in series:
        steps, values = seed_matrix(one.curves, longest)
        if len(one.curves) > 1:
            for row in values:
                axis.plot(steps, row, color=one.colour, linewidth=0.7, alpha=0.35)
        count = f"median of {len(one.curves)} seeds" if len(one.curves) > 1 else "one seed"
        axis.plot(steps, np.nanmedian(values, axis=0), color=one.colour, linewidth=2, label=f"{one.label} ({count})")


def draw_published(axis: Axes, published: list[Published]) -> None:
    """Published points (open markers joined by a dashed line, or a digitised curve) in the colours of `draw_seeds`."""
    for points in published:
        axis.plot(
            points.steps,
            [np.nan if v is None else v for v in points.values],
            points.style,
            color=points.colour,
            alpha=0.8,
            markersize=5,
            markerfacecolor="white",
            label=f"{points.label} (published)",
        )


def accuracy_axis(axis: Axes, title: str, ylabel: str = "validation accuracy") -> None:
    axis.set(title=title, xlabel="training step", ylabel=ylabel, ylim=(0, 1))
    axis.grid(True, alpha=0.4)


def seed_curves_figure(series: list[Series], title: str, published: list[Published] | None = None) -> Figure:
    """Validation accuracy against step, one colour per network, every seed and the median; published points (the
    tutorial's evaluations and its final value) as open markers."""
    figure, axis = subplots(figsize=(7.5, 4.6))
    draw_seeds(axis, series)
    draw_published(axis, published or [])
    accuracy_axis(axis, f"Validation Accuracy During Training\n({SEEDS_NOTE})")
    axis.title.set_fontsize(10)
    axis.legend(loc="best", fontsize=8)
    figure.suptitle(title, fontsize=11)
    return laid_out(figure)


def panels_figure(panels: dict[str, tuple[list[Series], list[Published]]], title: str) -> Figure:
    """One small panel per setting (its seeds and published final values), four to a row, one legend below."""
    rows = -(-len(panels) // 4)
    figure, axes = subplots(rows, 4, figsize=(16, 3.3 * rows + 0.9), squeeze=False)
    for axis, (name, (series, published)) in zip(axes.flat, panels.items()):
        draw_seeds(axis, series)
        draw_published(axis, published)
        accuracy_axis(axis, name)
        axis.title.set_fontsize(9)
    for axis in axes.flat[len(panels) :]:
        axis.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=10, frameon=False)
    figure.suptitle(f"{title}\n{SEEDS_NOTE}; open markers: published final values")
    return laid_out(figure, rect=(0, 0.05, 1, 1))
