"""The reproduction's figures, made from its results alone: the Solutions' conv curves with the published points,
one figure per Lesson setting with its published final values and an overview, and the BN paper's Figure 1. Every
seed is drawn (thin) with the median (bold): a mean of runs that split describes no run."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt

from bn_mnist import runfiles
from bn_mnist.lab.plan import Plan
from bn_mnist.lab.text import seeds_text
from bn_mnist.plots import save
from bn_mnist.plots.seed_curves import (
    SEEDS_NOTE,
    Curve,
    Published,
    Series,
    accuracy_axis,
    curve_values,
    draw_seeds,
    plot_grid,
    plot_seed_curves,
)
from bn_mnist.reproduction.experiments import (
    CONV,
    CONV_STEPS,
    LESSON,
    LESSON_ARMS,
    PAPER_SETTING,
    PERCENTILES,
    UNIT,
    Budget,
    lesson_settings,
    row_seeds,
)
from bn_mnist.reproduction.results import Results
from bn_mnist.tensorboard import tags


def plot_paper(test: list[Series], percentiles: dict[str, dict[int, Curve]], path: Path, title: str) -> Path:
    """The BN paper's Fig. 1: (a) test accuracy over seeds, (b, c) percentiles of one sigmoid's input."""
    figure, axes = plt.subplots(1, 3, figsize=(15, 4.6))
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
    return save(figure, path)


def last_step(series: list[Series]) -> int:
    return max(c.step[-1] for one in series for c in one.curves)


def quick_note(budget: Budget) -> str:
    """What a figure's title says of a smoke run's budget."""
    return f" (--quick: fewer steps, {seeds_text(budget.seeds)})" if budget.quick else ""


class Figures:
    """The figures of one results record, whose curves are found through the plan that made them."""

    def __init__(self, results: Results, plan: Plan, out_dir: Path):
        self.results, self.plan, self.out_dir = results, plan, out_dir
        self.budget = results.meta.budget()
        self.quick = quick_note(self.budget)

    def curves(self, study: str, arm: str, seeds: range, panel: str = "", name: str = "val") -> list[Curve]:
        return [self.results.curves[self.plan.key(study, arm, seed, panel)][name] for seed in seeds]

    def conv(self) -> str:
        seeds = range(self.budget.seeds["conv"])
        series = [Series(row.label, row.arm.colour, self.curves("conv", row.arm.key, seeds)) for row in CONV]
        end = last_step(series)
        published = [
            Published(row.label, row.arm.colour, [s + 1 for s in CONV_STEPS] + [end], [*row.curve, row.val])
            for row in CONV
        ]
        title = f"Solutions conv net{self.quick} (published points drawn after k + 1 steps, as the tutorial evaluated)"
        return plot_seed_curves(series, self.out_dir / "conv.png", title, published).name

    def lesson_panel(self, setting: str, seeds: range) -> tuple[list[Series], list[Published]]:
        """Every seed of both networks, and the published final validation accuracies of every row of the setting."""
        series = [Series(arm.label, arm.colour, self.curves("lesson", arm.key, seeds, setting)) for arm in LESSON_ARMS]
        end, rows = last_step(series), [row for row in LESSON if row.setting == setting]
        published = [
            Published(arm.label, arm.colour, [end] * len(rows), [row.published(arm)[0] for row in rows])
            for arm in LESSON_ARMS
        ]
        return series, published

    def lesson(self) -> dict[str, str]:
        made, panels = {}, {}
        for setting, row in lesson_settings().items():
            series, published = panels[row.title] = self.lesson_panel(setting, row_seeds(row, self.budget))
            path = self.out_dir / f"lesson-{setting}.png"
            made[f"lesson-{setting}"] = plot_seed_curves(
                series, path, f"Lesson: {row.title}{self.quick}", published
            ).name
        title = f"Lesson: validation accuracy, all settings{self.quick}"
        made["lesson-overview"] = plot_grid(panels, self.out_dir / "lesson-overview.png", title).name
        return made

    def paper(self) -> str:
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
        return plot_paper(test, percentiles, self.out_dir / "paper.png", title).name


def figures(results: Results, plan: Plan, out_dir: Path) -> dict[str, str]:
    """Write every figure of the reported experiments; returns name -> file name (relative to out_dir)."""
    drawn, made = Figures(results, plan, out_dir), {}
    experiments = results.meta.experiments
    if "conv" in experiments:
        made["conv"] = drawn.conv()
    if "lesson" in experiments:
        made.update(drawn.lesson())
    if "paper" in experiments:
        made["paper"] = drawn.paper()
    return made
