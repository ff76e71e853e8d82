"""The convergence plot of one comparison: validation accuracy and training loss against step, per network."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt

from bn_mnist.plots import save
from bn_mnist.training import runlog

MARKED_THRESHOLDS = (0.5, 0.9)
COLORS = {runlog.ARMS["bn"]: "tab:blue", runlog.ARMS["no_bn"]: "tab:orange"}


def plot_convergence(runs: dict[str, list[dict[str, Any]]], path: Path, title: str) -> Path:
    """Write a PNG of validation accuracy (steps reaching 50%/90% marked) and training loss per run."""
    figure, (acc_axis, loss_axis) = plt.subplots(1, 2, figsize=(11, 4.2))
    for label, records in runs.items():
        color = COLORS.get(label)
        steps, accuracy = runlog.series(records, runlog.VAL_ACCURACY)
        acc_axis.plot(steps, accuracy, label=label, color=color)
        for threshold in MARKED_THRESHOLDS:
            step = runlog.first_step_reaching(records, threshold)
            if step is not None:
                value = accuracy[steps.index(step)]
                acc_axis.plot([step], [value], "o", color=color, markersize=6)
                acc_axis.annotate(
                    f">={threshold:.0%} at step {step}",
                    (step, value),
                    textcoords="offset points",
                    xytext=(6, -14),
                    fontsize=8,
                    color=color,
                )
        loss_axis.plot(*runlog.series(records, runlog.TRAIN_LOSS), label=label, color=color)
    acc_axis.set(
        title="Validation Accuracy During Training", xlabel="training step", ylabel="validation accuracy", ylim=(0, 1)
    )
    loss_axis.set(title="Training Loss", xlabel="training step", ylabel="training loss (log scale)", yscale="log")
    for axis in (acc_axis, loss_axis):
        axis.grid(True, alpha=0.4)
        axis.legend(loc="best")
    figure.suptitle(title)
    return save(figure, path)
