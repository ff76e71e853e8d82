"""The reproduction's figures, made from results.json's content alone: the Solutions' conv curves with the published
points, one figure per Lesson setting with its published final values and an overview, and the BN paper's
Figure 1. Every seed is drawn (thin) with the median (bold): a mean of runs that split describes no run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt

from bn_mnist.plots import save
from bn_mnist.plots.seed_curves import (
    SEEDS_NOTE,
    Curve,
    Points,
    accuracy_axis,
    curve_values,
    draw_seeds,
    plot_grid,
    plot_seed_curves,
)
from bn_mnist.reproduction import probes
from bn_mnist.reproduction.experiments import (
    CONV,
    CONV_STEPS,
    LESSON,
    NETWORK_LABELS,
    NETWORKS,
    PAPER_SETTING,
    lesson_settings,
    run_key,
)
from bn_mnist.training import runlog

Results = dict[str, Any]


def plot_paper(test: dict[str, list[Curve]], percentiles: dict[str, dict[int, Curve]], path: Path, title: str) -> Path:
    """The BN paper's Fig. 1: (a) test accuracy over seeds, (b, c) percentiles of one sigmoid's input."""
    figure, axes = plt.subplots(1, 3, figsize=(15, 4.6))
    draw_seeds(axes[0], test)
    accuracy_axis(axes[0], f"(a) test accuracy\n({SEEDS_NOTE})", "test accuracy")
    axes[0].title.set_fontsize(10)
    axes[0].legend(loc="lower right", fontsize=8)
    for axis, (label, curves), letter in zip(axes[1:], percentiles.items(), "bc"):
        for percentile, c in curves.items():
            axis.plot(c["step"], curve_values(c), label=f"{percentile}th percentile")
        axis.set(title=f"({letter}) {label}", xlabel="training step", ylabel=f"input to sigmoid unit {probes.UNIT}")
        axis.grid(True, alpha=0.4)
        axis.legend(loc="best", fontsize=8)
    shared = [axis.get_ylim() for axis in axes[1:]]
    for axis in axes[1:]:
        axis.set_ylim(min(lo for lo, _ in shared), max(hi for _, hi in shared))
    figure.suptitle(title)
    return save(figure, path)


def seed_curves(results: Results, group: str, network: str, seeds: int, name: str = "val") -> list[Curve]:
    return [results["curves"][run_key(group, network, seed)][name] for seed in range(seeds)]


def last_step(curves: list[Curve]) -> int:
    return max(c["step"][-1] for c in curves)


def lesson_panel(results: Results, setting: str, seeds: int) -> tuple[dict[str, list[Curve]], dict[str, Points]]:
    """Every seed of both networks, and the published final validation accuracies of every row of the setting."""
    series = {NETWORK_LABELS[net]: seed_curves(results, f"lesson/{setting}", net, seeds) for net in NETWORKS}
    end = last_step([c for curves in series.values() for c in curves])
    rows = [row for row in LESSON if row.setting == setting]
    published = {NETWORK_LABELS[net]: ([end] * len(rows), [getattr(row, net)[0] for row in rows]) for net in NETWORKS}
    return series, published


def conv_figure(results: Results, out_dir: Path, quick: str) -> str:
    seeds = results["meta"]["seeds"]["conv"]
    series = {row.label: seed_curves(results, "conv", row.key, seeds) for row in CONV}
    end = last_step([c for curves in series.values() for c in curves])
    published = {row.label: ([s + 1 for s in CONV_STEPS] + [end], [*row.curve, row.val]) for row in CONV}
    title = f"Solutions conv net{quick} (published points drawn after k + 1 steps, as the tutorial evaluated)"
    return plot_seed_curves(series, out_dir / "conv.png", title, published).name


def lesson_figures(results: Results, out_dir: Path, quick: str) -> dict[str, str]:
    made, panels = {}, {}
    for setting, row in lesson_settings().items():
        seeds = results["meta"]["seeds"]["short" if row.short else "long"]
        series, published = panels[row.title] = lesson_panel(results, setting, seeds)
        made[f"lesson-{setting}"] = plot_seed_curves(
            series, out_dir / f"lesson-{setting}.png", f"Lesson: {row.title}{quick}", published
        ).name
    made["lesson-overview"] = plot_grid(
        panels, out_dir / "lesson-overview.png", f"Lesson: validation accuracy, all settings{quick}"
    ).name
    return made


def paper_figure(results: Results, out_dir: Path, quick: str) -> str:
    seeds = results["meta"]["seeds"]["long"]
    test = {NETWORK_LABELS[net]: seed_curves(results, "paper", net, seeds, runlog.TEST_ACCURACY) for net in NETWORKS}
    percentiles = {
        f"{NETWORK_LABELS[net]} (seed 0)": {
            p: results["curves"][run_key("paper", net, 0)][probes.percentile_tag(p)] for p in probes.PERCENTILES
        }
        for net in NETWORKS
    }
    rate = PAPER_SETTING["train"]["learning_rate"]
    title = f"BN paper's MNIST net: sigmoid, binary input, SGD {rate:g}, batches of 60{quick}"
    return plot_paper(test, percentiles, out_dir / "paper.png", title).name


def figures(results: Results, out_dir: Path) -> dict[str, str]:
    """Write every figure of the selected experiments; returns name -> file name (relative to out_dir)."""
    experiments, made = results["meta"]["experiments"], {}
    quick = " (--quick: fewer steps, one seed)" if results["meta"]["quick"] else ""
    if "conv" in experiments:
        made["conv"] = conv_figure(results, out_dir, quick)
    if "lesson" in experiments:
        made.update(lesson_figures(results, out_dir, quick))
    if "paper" in experiments:
        made["paper"] = paper_figure(results, out_dir, quick)
    return made
