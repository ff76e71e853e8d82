"""Figures: the convergence plot of one comparison, and the reproduction's seed-band figures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib
import numpy as np

matplotlib.use("Agg")  # files only: works without a screen
import matplotlib.pyplot as plt  # noqa: E402 - the backend must be chosen first

from bn_mnist import runlog  # noqa: E402

MARKED_THRESHOLDS = (0.5, 0.9)
COLORS = {"With Batch Norm": "tab:blue", "Without Batch Norm": "tab:orange"}


def first_step_reaching(records: list[dict[str, Any]], threshold: float, name: str = runlog.VAL_ACCURACY
                        ) -> int | None:
    """First logged step whose validation (or another) accuracy is >= threshold, or None if never."""
    steps, values = runlog.series(records, name)
    return next((step for step, value in zip(steps, values) if value >= threshold), None)


def plot_convergence(runs: dict[str, list[dict[str, Any]]], path: Path, title: str) -> Path:
    """Write a PNG of validation accuracy (steps reaching 50%/90% marked) and training loss per run."""
    figure, (acc_axis, loss_axis) = plt.subplots(1, 2, figsize=(11, 4.2))
    for label, records in runs.items():
        color = COLORS.get(label)
        steps, accuracy = runlog.series(records, runlog.VAL_ACCURACY)
        acc_axis.plot(steps, accuracy, label=label, color=color)
        for threshold in MARKED_THRESHOLDS:
            step = first_step_reaching(records, threshold)
            if step is not None:
                value = accuracy[steps.index(step)]
                acc_axis.plot([step], [value], "o", color=color, markersize=6)
                acc_axis.annotate(f">={threshold:.0%} at step {step}", (step, value), textcoords="offset points",
                                  xytext=(6, -14), fontsize=8, color=color)
        loss_axis.plot(*runlog.series(records, runlog.TRAIN_LOSS), label=label, color=color)
    acc_axis.set(title="Validation Accuracy During Training", xlabel="training step", ylabel="validation accuracy",
                 ylim=(0, 1))
    loss_axis.set(title="Training Loss", xlabel="training step", ylabel="training loss (log scale)", yscale="log")
    for axis in (acc_axis, loss_axis):
        axis.grid(True, alpha=0.4)
        axis.legend(loc="best")
    figure.suptitle(title)
    return save(figure, path)


# --- Seed bands: the reproduction's figures (mean over seeds, min..max as a band) ---------------------------------

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
            axis.fill_between(steps, np.nanmin(values, axis=0), np.nanmax(values, axis=0), color=color, alpha=0.25,
                              linewidth=0)


def accuracy_axis(axis, title: str, ylabel: str = "validation accuracy") -> None:
    axis.set(title=title, xlabel="training step", ylabel=ylabel, ylim=(0, 1))
    axis.grid(True, alpha=0.4)


def save(figure, path: Path) -> Path:
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def plot_seed_bands(series: dict[str, list[Curve]], path: Path, title: str,
                    published: dict[str, tuple[list[int], list[float]]] | None = None) -> Path:
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
    for axis in axes.flat[len(panels):]:
        axis.axis("off")
    axes.flat[0].legend(loc="lower right", fontsize=7)
    figure.suptitle(title)
    return save(figure, path)


def plot_paper(test: dict[str, list[Curve]], percentiles: dict[str, dict[int, Curve]], path: Path, title: str
               ) -> Path:
    """The BN paper's Fig. 1: (a) test accuracy with seed bands, (b, c) percentiles of one sigmoid's input."""
    figure, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    draw_bands(axes[0], test)
    accuracy_axis(axes[0], "(a) test accuracy", "test accuracy")
    axes[0].legend(loc="lower right", fontsize=8)
    for axis, (label, curves), letter in zip(axes[1:], percentiles.items(), "bc"):
        for percentile, c in curves.items():
            axis.plot(c["step"], curve_values(c), label=f"{percentile}th percentile")
        axis.set(title=f"({letter}) {label}", xlabel="training step", ylabel="input to the sigmoid")
        axis.grid(True, alpha=0.4)
        axis.legend(loc="best", fontsize=8)
    shared = [axis.get_ylim() for axis in axes[1:]]
    for axis in axes[1:]:
        axis.set_ylim(min(lo for lo, _ in shared), max(hi for _, hi in shared))
    figure.suptitle(title)
    return save(figure, path)
