"""The reproduction's figures, made from its results alone: the Solutions' conv curves with the published points,
one figure per Lesson setting with its published final values and an overview, and the BN paper's Figure 1. Every
seed is drawn (thin) with the median (bold): a mean of runs that split describes no run."""

from __future__ import annotations

import functools
from collections.abc import Callable

from matplotlib.figure import Figure

from bn_mnist.core import runfiles
from bn_mnist.core.plots import laid_out, subplots
from bn_mnist.core.plots.seed_curves import (
    SEEDS_NOTE,
    Curve,
    Published,
    Series,
    accuracy_axis,
    curve_values,
    draw_seeds,
    panels_figure,
    seed_curves_figure,
)
from bn_mnist.core.tensorboard import tags
from bn_mnist.lab.plan import Plan
from bn_mnist.lab.text import seeds_text
from bn_mnist.studies.reproduce.claims import lesson_figures
from bn_mnist.studies.reproduce.experiments import (
    CONV,
    CONV_STEPS,
    LESSON,
    LESSON_ARMS,
    PAPER_SETTING,
    PERCENTILES,
    UNIT,
    lesson_settings,
    row_seeds,
)
from bn_mnist.studies.reproduce.results import Results


def paper_figure(test: list[Series], percentiles: dict[str, dict[int, Curve]], title: str) -> Figure:
    """The BN paper's Fig. 1: (a) test accuracy over seeds, (b, c) percentiles of one sigmoid's input."""
    figure, axes = subplots(1, 3, figsize=(15, 4.6))
    draw_seeds(axes[0], test)
    accuracy_axis(axes[0], f"(a) test accuracy\n({SEEDS_NOTE})", "test accuracy")
    axes[0].title.set_fontsize(10)
    axes[0].legend(loc="lower right", fontsize=8)
    for axis, (label, curves), letter in zip(axes[1:], percentiles.items(), "bc"):
        for percentile, c in curves.items():
            axis.plot(c.step, curve_values(c), label=f"{percentile}th percentile")
        axis.set(title=f"({letter}) {label}", xlabel="training step", ylabel=f"input to sigmoid unit {UNIT}")
        axis.grid(True, alpha=0.4)
        axis.legend(loc="best", fontsize=8)
    shared = [axis.get_ylim() for axis in axes[1:]]
    for axis in axes[1:]:
        axis.set_ylim(min(lo for lo, _ in shared), max(hi for _, hi in shared))
    figure.suptitle(title)
    return laid_out(figure)


def last_step(series: list[Series]) -> int:
    return max(c.step[-1] for one in series for c in one.curves)


class Figures:
    """The figures of one results record, whose curves are found through the plan that made them."""

    def __init__(self, results: Results, plan: Plan):
        self.results, self.plan = results, plan
        self.budget = results.meta.budget()
        self.quick = f" (--quick: fewer steps, {seeds_text(self.budget.seeds)})" if self.budget.quick else ""  # titles

    def curves(self, study: str, arm: str, seeds: range, panel: str = "", name: str = "val") -> list[Curve]:
        return [self.results.curves[self.plan.key(study, arm, seed, panel)][name] for seed in seeds]

    def conv(self) -> Figure:
        seeds = range(self.budget.seeds["conv"])
        series = [Series(row.label, row.arm.colour, self.curves("conv", row.arm.key, seeds)) for row in CONV]
        end = last_step(series)
        published = [
            Published(row.label, row.arm.colour, [s + 1 for s in CONV_STEPS] + [end], [*row.curve, row.val])
            for row in CONV
        ]
        title = f"Solutions conv net{self.quick} (published points drawn after k + 1 steps, as the tutorial evaluated)"
        return seed_curves_figure(series, title, published)

    def lesson_panel(self, setting: str) -> tuple[list[Series], list[Published]]:
        """Every seed of both networks, and the published final validation accuracies of every row of the setting."""
        seeds = row_seeds(lesson_settings()[setting], self.budget)
        series = [Series(arm.label, arm.colour, self.curves("lesson", arm.key, seeds, setting)) for arm in LESSON_ARMS]
        end, rows = last_step(series), [row for row in LESSON if row.setting == setting]
        published = [
            Published(arm.label, arm.colour, [end] * len(rows), [row.published(arm)[0] for row in rows])
            for arm in LESSON_ARMS
        ]
        return series, published

    def lesson(self, setting: str) -> Figure:
        """A setting's seeds, its published finals, and each of its rows' published curve, digitised from the
        notebook's figure (gaps: points hidden there by the other curve or the legend)."""
        series, published = self.lesson_panel(setting)
        rows = [row for row in LESSON if row.setting == setting]
        digitised = [
            Published(f"{arm.label}, row {row.row}'s figure", arm.colour, figure["x"], figure["curves"][arm.key], style)
            for row, style in zip(rows, ("--", ":"))
            for figure in [lesson_figures()[row.row]]
            for arm in LESSON_ARMS
            if not self.budget.quick  # a --quick run's shorter runs are not the figure's
        ]
        title = f"Lesson: {lesson_settings()[setting].title}{self.quick}"
        return seed_curves_figure(series, title, [*published, *digitised])

    def lesson_overview(self) -> Figure:
        panels = {row.title: self.lesson_panel(setting) for setting, row in lesson_settings().items()}
        return panels_figure(panels, f"Lesson: validation accuracy, all settings{self.quick}")

    def paper(self) -> Figure:
        seeds = range(self.budget.seeds["long"])
        test = [
            Series(arm.label, arm.colour, self.curves("paper", arm.key, seeds, name=runfiles.TEST_ACCURACY))
            for arm in LESSON_ARMS
        ]
        percentiles = {
            f"{arm.label} (seed 0)": {
                p: self.results.curves[self.plan.key("paper", arm.key, 0)][tags.percentile_tag(p)] for p in PERCENTILES
            }
            for arm in LESSON_ARMS
        }
        rate = PAPER_SETTING["train"]["learning_rate"]
        title = f"BN paper's MNIST net: sigmoid, binary input, SGD {rate:g}, batches of 60{self.quick}"
        return paper_figure(test, percentiles, title)


def drawings(results: Results, plan: Plan) -> dict[str, Callable[[], Figure]]:
    """Every figure of the reported experiments, by name, each drawn when called."""
    drawn, experiments = Figures(results, plan), results.meta.experiments
    made: dict[str, Callable[[], Figure]] = {}
    if "conv" in experiments:
        made["conv"] = drawn.conv
    if "lesson" in experiments:
        made.update({f"lesson-{setting}": functools.partial(drawn.lesson, setting) for setting in lesson_settings()})
        made["lesson-overview"] = drawn.lesson_overview
    if "paper" in experiments:
        made["paper"] = drawn.paper
    return made
