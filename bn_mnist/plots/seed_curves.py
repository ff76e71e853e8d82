"""Curves over seeds: every seed a thin line, the median over seeds bold (a median describes a typical run; a mean
of runs that split into learners and failures describes none). A run that stopped early (diverged) is held at its
last value, which is how it scores from then on."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from bn_mnist.plots import save

Curve = dict[str, list]  # {"step": [...], "value": [...]} as in results.json
Points = tuple[list[int], list[float]]  # published (steps, values)
COLORS = ("tab:orange", "tab:blue", "tab:green")
SEEDS_NOTE = "thin lines: each seed; bold: the median over seeds"


def curve_values(curve: Curve) -> list[float]:
    """A curve's values with NaN where results.json has null (a diverged run's value)."""
    return [np.nan if v is None else v for v in curve["value"]]


def seed_matrix(curves: list[Curve], steps: list[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A (seeds, steps) array over `steps` (default: the longest curve's); a run that stopped early (diverged) is
    held at its last value, which is how it scores from then on."""
    steps = steps or max((c["step"] for c in curves), key=len)
    rows = []
    for c in curves:
        values = curve_values(c)
        rows.append(values + values[-1:] * (len(steps) - len(values)))
    return np.asarray(steps), np.asarray(rows, dtype=float)


def draw_seeds(axis: plt.Axes, series: dict[str, list[Curve]], colors: tuple[str, ...] = COLORS) -> None:
    """Each label's seeds thin and their median bold, in one colour per label, all over the longest run's steps."""
    longest = max((c["step"] for curves in series.values() for c in curves), key=len)
    for (label, curves), color in zip(series.items(), colors):
        steps, values = seed_matrix(curves, longest)
        if len(curves) > 1:
            for row in values:
                axis.plot(steps, row, color=color, linewidth=0.7, alpha=0.35)
        count = f"median of {len(curves)} seeds" if len(curves) > 1 else "one seed"
        axis.plot(steps, np.nanmedian(values, axis=0), color=color, linewidth=2, label=f"{label} ({count})")


def draw_published(axis: plt.Axes, published: dict[str, Points], colors: tuple[str, ...] = COLORS) -> None:
    """Published points as open markers joined by a dashed line, in the colours of `draw_seeds`."""
    for (label, (steps, values)), color in zip(published.items(), colors):
        axis.plot(
            steps,
            values,
            "o--",
            color=color,
            alpha=0.8,
            markersize=5,
            markerfacecolor="white",
            label=f"{label} (published)",
        )


def accuracy_axis(axis: plt.Axes, title: str, ylabel: str = "validation accuracy") -> None:
    axis.set(title=title, xlabel="training step", ylabel=ylabel, ylim=(0, 1))
    axis.grid(True, alpha=0.4)


def plot_seed_curves(
    series: dict[str, list[Curve]], path: Path, title: str, published: dict[str, Points] | None = None
) -> Path:
    """Validation accuracy against step, one colour per network, every seed and the median; published points (the
    tutorial's evaluations and its final value) as open markers."""
    figure, axis = plt.subplots(figsize=(7.5, 4.6))
    draw_seeds(axis, series)
    draw_published(axis, published or {})
    accuracy_axis(axis, f"Validation Accuracy During Training\n({SEEDS_NOTE})")
    axis.title.set_fontsize(10)
    axis.legend(loc="best", fontsize=8)
    figure.suptitle(title, fontsize=11)
    return save(figure, path)


def plot_grid(panels: dict[str, tuple[dict[str, list[Curve]], dict[str, Points]]], path: Path, title: str) -> Path:
    """One small panel per setting (its seeds and published final values), four to a row, one legend below."""
    rows = -(-len(panels) // 4)
    figure, axes = plt.subplots(rows, 4, figsize=(16, 3.3 * rows + 0.9), squeeze=False)
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
    return save(figure, path, rect=(0, 0.05, 1, 1))
