"""`pitfalls`' figures, one PNG per pitfall, drawn from the typed results alone: each panel `experiments` declares
for it shows measures of arms, a dash for the mean over seeds and a dot per seed."""

from __future__ import annotations

import functools

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from bn_mnist.core.plots import laid_out, subplots
from bn_mnist.lab.study import Drawings
from bn_mnist.studies.pitfalls.experiments import BY_NAME, Panel
from bn_mnist.studies.pitfalls.results import PitfallResult, Results

MEASURE_COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown")


def bars(axis: Axes, panel: Panel, result: PitfallResult) -> None:
    """Arms along x, and within an arm one mark per measure (coloured by measure, or by arm when there is one
    measure); with one arm, the measures along x. A mark is a dash at the mean over seeds and a dot per seed; the
    axis spans the values, not 0."""
    arms = panel.arms or tuple(result.arms)
    width = 0.8 / len(panel.measures)
    for a, key in enumerate(arms):
        arm = result.arms[key]
        for m, measure in enumerate(panel.measures):
            values = [v for v in arm.seeds.get(measure, []) if v is not None and np.isfinite(v)]
            if not values:
                continue
            x = a + (m - (len(panel.measures) - 1) / 2) * width
            colour = arm.colour if len(panel.measures) == 1 else MEASURE_COLOURS[m % len(MEASURE_COLOURS)]
            label = measure if a == 0 and len(panel.measures) > 1 and len(arms) > 1 else None
            axis.hlines(np.mean(values), x - width * 0.4, x + width * 0.4, color=colour, linewidth=2.5, label=label)
            axis.plot([x] * len(values), values, "o", color=colour, markersize=3, alpha=0.7)
    if len(arms) == 1:
        positions = [(m - (len(panel.measures) - 1) / 2) * width for m in range(len(panel.measures))]
        axis.set_xticks(positions, list(panel.measures), rotation=25, ha="right", fontsize=7)
        axis.set_xlabel(result.arms[arms[0]].label)
    else:
        labels = [result.arms[key].label for key in arms]
        axis.set_xticks(range(len(arms)), labels, rotation=20, ha="right", fontsize=8)
    axis.set_title(panel.title)
    axis.set_ylabel(panel.ylabel)
    axis.grid(alpha=0.3, axis="y")
    if len(panel.measures) > 1 and len(arms) > 1:
        axis.legend(fontsize=7)


def figure(name: str, result: PitfallResult) -> Figure:
    panels = BY_NAME[name].panels
    drawn, axes = subplots(1, len(panels), figsize=(5.5 * len(panels), 4.6), squeeze=False)
    for axis, panel in zip(axes[0], panels):
        bars(axis, panel, result)
    drawn.suptitle(f"{result.title}: {result.verdict.word} (dash: mean over seeds; dots: seeds)")
    return laid_out(drawn)


def drawings(results: Results) -> Drawings:
    """Each pitfall's figure, by its name."""
    return {name: functools.partial(figure, name, result) for name, result in results.pitfalls.items()}
