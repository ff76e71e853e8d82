"""`explain`'s figures, one PNG per study, drawn from the typed results alone.

Everywhere: a line is the mean over seeds, the shaded band spans the seeds' min..max, dots are single seeds; each
arm has its colour and name from `lab.arms` (as in `compare`'s figures).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from bn_mnist.core.plots import laid_out, subplots
from bn_mnist.core.tensorboard import tags
from bn_mnist.lab.arms import NOISY_BN, Arm
from bn_mnist.lab.stats import Spread
from bn_mnist.lab.study import Drawings
from bn_mnist.studies.explain.results import (
    BatchStudy,
    GridStudy,
    IcsStudy,
    InsideStudy,
    LandscapeStudy,
    Outcomes,
    PlainStudy,
    Results,
    measure_name,
)
from bn_mnist.studies.explain.studies import ARMS, PAIRED_ARMS, REACH

BAND_NOTE = "line: mean over seeds; band: min..max"
DOTS_NOTE = "dots: seeds"


def field(spreads: list[Spread | None], name: str) -> np.ndarray:
    return np.array([np.nan if s is None else getattr(s, name) for s in spreads], dtype=float)


def draw_spread(axis: Axes, x: Sequence[float], spreads: list[Spread | None], arm: Arm) -> None:
    """Mean over seeds as a line with markers, min..max as a band."""
    axis.fill_between(x, field(spreads, "min"), field(spreads, "max"), color=arm.colour, alpha=0.2, linewidth=0)
    axis.plot(x, field(spreads, "mean"), "o-", color=arm.colour, markersize=4, label=arm.short)


def draw_seed_dots(axis: Axes, x: Sequence[float], points: list[Outcomes], arm: Arm) -> None:
    for value, point in zip(x, points):
        seeds = [v for v in point.seeds if v is not None]
        axis.scatter([value] * len(seeds), seeds, color=arm.colour, s=9, alpha=0.6, zorder=3)


def grid_figure(study: GridStudy, xlabel: str, title: str) -> Figure:
    """Final validation accuracy against the swept value, per panel, BN and no BN; the threshold dashed; the
    controls (not swept) dotted at their mean."""
    panels = study.panels
    figure, axes = subplots(1, len(panels), figsize=(5 * len(panels), 4), squeeze=False)
    for axis, panel in zip(axes[0], panels.values()):
        for key, found in panel.arms.items():
            draw_spread(axis, panel.values, [p.val_accuracy for p in found.points], ARMS[key])
            draw_seed_dots(axis, panel.values, found.points, ARMS[key])
        for key, control in panel.controls.items():
            if control.val_accuracy is not None:
                arm = ARMS[key]
                axis.axhline(control.val_accuracy.mean, color=arm.colour, linestyle=":", label=f"{arm.label} (control)")
        axis.axhline(study.threshold, color="gray", linestyle="--", linewidth=1)
        axis.set(xscale="log", ylim=(0, 1), xlabel=xlabel, ylabel="final validation accuracy", title=panel.title)
        axis.grid(alpha=0.3)
        axis.legend(loc="lower left")
    figure.suptitle(f"{title} ({BAND_NOTE}; {DOTS_NOTE}; dashed: {study.threshold:g})")
    return laid_out(figure)


INSIDE_PANELS = (
    (tags.ACTIVATION_STD, "output SD per layer", "log"),
    (tags.GRADIENT_NORM, "kernel gradient norm", "log"),
    (tags.DEAD_RELU, "dead ReLU fraction", "linear"),
)


def inside_figure(study: InsideStudy) -> Figure:
    """Per network (rows): each layer's output SD, gradient norm and dead-ReLU fraction, at step 0 (dashed) and at
    the end (solid)."""
    figure, axes = subplots(len(study), len(INSIDE_PANELS), figsize=(15, 4 * len(study)), squeeze=False)
    for row, (net, arms) in zip(axes, study.items()):
        for axis, (kind, title, scale) in zip(row, INSIDE_PANELS):
            for key, found in arms.items():
                arm = ARMS[key]
                for moment, style in (("start", "--"), ("end", "-")):
                    layers = getattr(found, moment)[kind]
                    means = field(list(layers.values()), "mean")
                    step = found.steps[0 if moment == "start" else 1]
                    label = f"{arm.short}, step {step}"
                    axis.plot(range(len(layers)), means, style, marker=".", color=arm.colour, label=label)
                    axis.fill_between(
                        range(len(layers)),
                        field(list(layers.values()), "min"),
                        field(list(layers.values()), "max"),
                        color=arm.colour,
                        alpha=0.12,
                        linewidth=0,
                    )
            names = list(next(iter(arms.values())).start[kind])
            axis.set_xticks(range(len(names)), names, rotation=90, fontsize=7)
            axis.set(yscale=scale, title=f"{net}: {title}")
            axis.grid(alpha=0.3)
        row[0].legend(fontsize=8)
    figure.suptitle("Inside the network on a fixed validation batch, training mode (mean over seeds; band: min..max)")
    return laid_out(figure)


def landscape_figure(study: LandscapeStudy) -> Figure:
    """Each landscape measure over training (columns), on the training batch, the held-out batch and scale-invariant
    (rows, where measured), BN and no BN."""
    variants = [tags.LANDSCAPE, tags.HELD_OUT, tags.RELATIVE]
    measures = [tags.LOSS_RANGE, tags.GRADIENT_CHANGE, tags.BETA, tags.LOSS_GRADIENT_NORM]
    figure, axes = subplots(len(variants), len(measures), figsize=(18, 11), squeeze=False)
    for row, variant in zip(axes, variants):
        for axis, measure in zip(row, measures):
            tag = tags.landscape_tag(variant, measure)
            if tag not in study.paired:
                axis.set_axis_off()
                continue
            for arm in PAIRED_ARMS:
                curve = getattr(study.paired[tag], arm.key).curve
                draw_spread(axis, curve.step, curve.value, arm)
            axis.set(yscale="log", xlabel="training step", title=measure_name(tag))
            axis.grid(alpha=0.3)
            axis.legend(fontsize=8)
    distances = ", ".join(f"{d:g}" for d in study.distances)
    figure.suptitle(
        f"Loss landscape along the gradient (Santurkar et al. §3), FC ReLU, SGD {study.learning_rate:g}; "
        f"‖Δθ‖ = {distances} for both nets ({BAND_NOTE})"
    )
    return laid_out(figure)


ICS_PANELS = (("l2", "l2 difference ‖G - G'‖", "log"), ("cosine", "cosine(G, G')", "linear"))


def ics_figure(study: IcsStudy) -> Figure:
    """Per layer, BN and no BN. The l2 panel leaves out the first layer: 0 by definition, off a log axis."""
    figure, axes = subplots(1, 2, figsize=(10, 4))
    layers = study.layers
    for axis, (kind, title, scale) in zip(axes, ICS_PANELS):
        shown = range(1 if scale == "log" else 0, len(layers))
        for arm in PAIRED_ARMS:
            shifts = getattr(study, kind)
            draw_spread(axis, list(shown), [getattr(shifts[layers[i]], arm.key) for i in shown], arm)
        if kind == "l2" and study.noisy is not None:
            draw_spread(axis, list(shown), [study.noisy.l2[layers[i]] for i in shown], ARMS[NOISY_BN.key])
        axis.set_xticks(list(shown), [layers[i] for i in shown])
        axis.set(yscale=scale, xlabel="layer", title=title)
        axis.grid(alpha=0.3)
        axis.legend()
    figure.suptitle("Internal covariate shift (Santurkar et al. Def. 2.1), median over training per seed")
    return laid_out(figure)


def batch_figure(study: BatchStudy) -> Figure:
    """Accuracy against batch size per arm: inference, training mode (results that have it) and single-sample."""
    panels = {"val_accuracy": "final validation accuracy (inference)"}
    if any(point.train_accuracy for points in study.arms.values() for point in points):
        panels["train_accuracy"] = "training mode, last training batches"
    panels["single_sample_accuracy"] = "single-sample accuracy"
    figure, axes = subplots(1, len(panels), figsize=(5 * len(panels), 4))
    for axis, (name, title) in zip(axes, panels.items()):
        for key, points in study.arms.items():
            draw_spread(axis, study.sizes, [getattr(p, name) for p in points], ARMS[key])
        axis.set(xscale="log", ylim=(0, 1), xlabel="batch size", title=title)
        axis.set_xticks(study.sizes, [str(s) for s in study.sizes])
        axis.minorticks_off()
        axis.grid(alpha=0.3)
        axis.legend(loc="lower right")
    rates = f"{study.learning_rates[0]:.2g}..{study.learning_rates[-1]:.4g}"
    setting = f"{study.examples:,} examples seen, FC ReLU, SGD {rates} (scaled with the batch)"
    figure.suptitle(f"Batch size, {setting}\n({BAND_NOTE})")
    return laid_out(figure)


def plain_figure(study: PlainStudy) -> Figure:
    """Each arm's final validation accuracy per seed (dots) and their mean (bar), the learn threshold dashed."""
    figure, axis = subplots(1, 1, figsize=(8, 4))
    for x, (key, found) in enumerate(study.arms.items()):
        arm = ARMS[key]
        if found.val_accuracy is not None:
            axis.bar(x, found.val_accuracy.mean, color=arm.colour, alpha=0.35, width=0.6)
        seeds = [v for v in found.seeds if v is not None]
        axis.scatter([x] * len(seeds), seeds, color=arm.colour, s=14, zorder=3)
        axis.annotate(f"{found.trains.k}/{found.trains.n}", (x, 1.01), ha="center", fontsize=9)
    axis.axhline(REACH, color="gray", linestyle="--", linewidth=1)
    axis.set_xticks(range(len(study.arms)), [ARMS[key].label for key in study.arms], rotation=15, fontsize=8)
    axis.set(ylim=(0, 1.08), ylabel="final validation accuracy")
    axis.grid(alpha=0.3, axis="y")
    figure.suptitle(
        f"The 19-layer conv net, {study.steps:,} batches (bar: mean; {DOTS_NOTE}; k/n: seeds reaching {REACH:g})"
    )
    return laid_out(figure)


DRAWINGS: dict[str, Callable[[Any], Figure]] = {
    "lr": lambda study: grid_figure(study, "learning rate", "Learning-rate range"),
    "init": lambda study: grid_figure(study, "initial weight SD", "Initialisation scale"),
    "inside": inside_figure,
    "landscape": landscape_figure,
    "ics": ics_figure,
    "batch": batch_figure,
    "plain": plain_figure,
}


def drawings(results: Results) -> Drawings:
    """Each study's figure, by its name."""
    return {name: functools.partial(DRAWINGS[name], getattr(results.studies, name)) for name in results.meta.studies}
