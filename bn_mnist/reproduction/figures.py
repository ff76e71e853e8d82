"""The reproduction's figures, made from results.json's content alone: the Solutions' conv curves with the published
points, one seed-band figure per Lesson setting and an overview, and the BN paper's Figure 1."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt

from bn_mnist.plots import save
from bn_mnist.plots.seed_bands import Curve, accuracy_axis, curve_values, draw_bands, plot_grid, plot_seed_bands
from bn_mnist.reproduction import probes
from bn_mnist.reproduction.experiments import (
    CONV,
    CONV_STEPS,
    NETWORK_LABELS,
    NETWORKS,
    PAPER_ROW,
    lesson_settings,
    run_key,
)
from bn_mnist.training import runlog

Results = dict[str, Any]


def plot_paper(test: dict[str, list[Curve]], percentiles: dict[str, dict[int, Curve]], path: Path, title: str) -> Path:
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


def seed_curves(results: Results, group: str, network: str, name: str = "val") -> list[Curve]:
    return [results["curves"][run_key(group, network, seed)][name] for seed in results["meta"]["seeds"]]


def lesson_series(results: Results, setting: str) -> dict[str, list[Curve]]:
    return {NETWORK_LABELS[net]: seed_curves(results, f"lesson/{setting}", net) for net in NETWORKS}


def figures(results: Results, out_dir: Path) -> dict[str, str]:
    """Write every figure of the selected experiments; returns name -> file name (relative to out_dir)."""
    experiments, made = results["meta"]["experiments"], {}
    quick = " (--quick: fewer steps)" if results["meta"]["quick"] else ""
    if "conv" in experiments:
        series = {row.label: seed_curves(results, "conv", row.key) for row in CONV}
        published = {row.label: (list(CONV_STEPS), list(row.curve)) for row in CONV}
        made["conv"] = plot_seed_bands(series, out_dir / "conv.png", f"Solutions conv net{quick}", published).name
    if "lesson" in experiments:
        panels = {}
        for setting, row in lesson_settings().items():
            series = panels[row.title] = lesson_series(results, setting)
            made[f"lesson-{setting}"] = plot_seed_bands(
                series, out_dir / f"lesson-{setting}.png", f"Lesson: {row.title}{quick}"
            ).name
        made["lesson-overview"] = plot_grid(
            panels, out_dir / "lesson-overview.png", f"Lesson: validation accuracy, all settings{quick}"
        ).name
    if "paper" in experiments:
        group, first_seed = f"lesson/{PAPER_ROW.setting}", results["meta"]["seeds"][0]
        test = {NETWORK_LABELS[net]: seed_curves(results, group, net, runlog.TEST_ACCURACY) for net in NETWORKS}
        percentiles = {
            f"{NETWORK_LABELS[net]} (seed {first_seed})": {
                p: results["curves"][run_key(group, net, first_seed)][probes.percentile_tag(p)]
                for p in probes.PERCENTILES
            }
            for net in NETWORKS
        }
        made["paper"] = plot_paper(
            test, percentiles, out_dir / "paper.png", f"BN paper's MNIST net: {PAPER_ROW.title}{quick}"
        ).name
    return made
