"""Curves over seeds: the mean as a line, min..max as a band; a run that stopped early is held at its last value."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from bn_mnist.plots import save

Curve = dict[str, list]  # {"step": [...], "value": [...]} as in results.json
BAND_COLORS = ("tab:orange", "tab:blue", "tab:green")


def curve_values(curve: Curve) -> list[float]:
    """A curve's values with NaN where results.json has null (a diverged run's percentile)."""
    return [np.nan if v is None else v for v in curve["value"]]


def seed_matrix(curves: list[Curve]) -> tuple[np.ndarray, np.ndarray]:
    """Steps of the longest curve and a (seeds, steps) array; a run that stopped early (diverged) is held at its
    last value, which is how it scores from then on."""
    steps = max((c["step"] for c in curves), key=len)
    rows = []
    for c in curves:
        values = curve_values(c)
        rows.append(values + values[-1:] * (len(steps) - len(values)))
    return np.asarray(steps), np.asarray(rows, dtype=float)


def draw_bands(axis, series: dict[str, list[Curve]]) -> None:
    for (label, curves), color in zip(series.items(), BAND_COLORS):
        steps, values = seed_matrix(curves)
        axis.plot(steps, np.nanmean(values, axis=0), color=color, label=f"{label} (mean of {len(curves)})")
        if len(curves) > 1:
            axis.fill_between(
                steps, np.nanmin(values, axis=0), np.nanmax(values, axis=0), color=color, alpha=0.25, linewidth=0
            )


def accuracy_axis(axis, title: str, ylabel: str = "validation accuracy") -> None:
    axis.set(title=title, xlabel="training step", ylabel=ylabel, ylim=(0, 1))
    axis.grid(True, alpha=0.4)


def plot_seed_bands(
    series: dict[str, list[Curve]],
    path: Path,
    title: str,
    published: dict[str, tuple[list[int], list[float]]] | None = None,
) -> Path:
    """The Lesson's plot (validation accuracy against step, one curve per network) with seed bands; published
    points, when given, as dashed markers in the same colours."""
    figure, axis = plt.subplots(figsize=(7, 4.2))
    draw_bands(axis, series)
    for (label, (steps, values)), color in zip((published or {}).items(), BAND_COLORS):
        axis.plot(steps, values, "o--", color=color, alpha=0.7, markersize=4, label=f"{label} (published)")
    accuracy_axis(axis, "Validation Accuracy During Training")
    axis.legend(loc="best", fontsize=8)
    figure.suptitle(title, fontsize=10)
    return save(figure, path)


def plot_grid(panels: dict[str, dict[str, list[Curve]]], path: Path, title: str) -> Path:
    """One small seed-band panel per setting, four to a row."""
    rows = -(-len(panels) // 4)
    figure, axes = plt.subplots(rows, 4, figsize=(16, 3.2 * rows), squeeze=False)
    for axis, (name, series) in zip(axes.flat, panels.items()):
        draw_bands(axis, series)
        accuracy_axis(axis, name)
        axis.title.set_fontsize(9)
    for axis in axes.flat[len(panels) :]:
        axis.axis("off")
    axes.flat[0].legend(loc="lower right", fontsize=7)
    figure.suptitle(title)
    return save(figure, path)
