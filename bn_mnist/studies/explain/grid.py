"""The grid studies' common part (`lr` and `init`): each panel's BN and non-BN runs at every value of one swept config
key, with controls at the base setting; per panel where each arm trains, per seed the largest stable value and the
sensitivity to the swept value, and BN's paired advantage at each value; the report's tables and the figure."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

from matplotlib.figure import Figure

from bn_mnist.core.config import Config, from_dict
from bn_mnist.core.plots import laid_out, subplots
from bn_mnist.lab import stats
from bn_mnist.lab.arms import BN, NO_BN, Arm
from bn_mnist.lab.plan import Plan, RunId
from bn_mnist.lab.stats import PairedEffect
from bn_mnist.lab.text import effect_text, k_of_n, number, sci, spread_text
from bn_mnist.lab.verdicts import Rule, Verdict
from bn_mnist.studies.explain.common import (
    ARMS,
    BAND_NOTE,
    DOTS_NOTE,
    PAIRED_ARMS,
    REACH,
    Budget,
    ExplainStudy,
    Runs,
    Settings,
    claim_heading,
    config_of,
    differences,
    dotted,
    draw_seed_dots,
    draw_spread,
    outcomes,
)
from bn_mnist.studies.explain.results import GridArm, GridPanel, GridStudy, Outcomes, Usable, Verdicts


@dataclass(frozen=True)
class Panel:
    """One network setting swept over one config key (a panel of a grid study's figure); the budget gives its grid."""

    name: str  # e.g. "fc-relu"
    title: str
    base: Settings
    key: str  # the swept config key, "train.learning_rate" or "model.init_std"
    arch: str = "fc"
    controls: tuple[Arm, ...] = ()  # no BN from a variance-preserving init, at the base setting (not swept)


@dataclass(frozen=True)
class Grid:
    """A grid study: its panels, and its report's and figure's words."""

    name: str  # "lr", "init"
    panels: tuple[Panel, ...]
    title: str
    swept: str  # what the grid sweeps, in words
    measured: str  # what the report says is measured


def plan_grid(grid: Grid, plan: Plan, budget: Budget) -> None:
    """Each panel's BN and non-BN runs at every grid value, and its controls at the base setting."""
    study = grid.name
    for panel in grid.panels:
        steps, seeds, name = budget.steps[panel.arch], range(budget.seeds[panel.arch]), f"explain-{study}-{panel.name}"
        for value in budget.grid(study, panel.name):
            group = f"{study}/{panel.name}/{panel.key.rsplit('.', 1)[-1]}{value:g}"  # lr/fc-relu/learning_rate0.1
            for arm in PAIRED_ARMS:
                for seed in seeds:
                    config = config_of(name, panel.base, arm, seed, steps, budget, dotted(panel.key, value))
                    plan.add(RunId(study, arm.key, seed, panel.name, value), group, config)
        for arm in panel.controls:
            for seed in seeds:
                config = config_of(name, panel.base, arm, seed, steps, budget)
                plan.add(RunId(study, arm.key, seed, panel.name), f"{study}/{panel.name}/control", config)


def usable_range(values: list[float], points: list[Outcomes]) -> Usable:
    """The grid values at which the network trains (to REACH) in more than half of the seeds, and their span."""
    usable = [value for value, point in zip(values, points) if 2 * point.trains.k > point.trains.n]
    if not usable:
        return Usable([], None, None, None)
    return Usable(usable, min(usable), max(usable), math.log10(max(usable) / min(usable)))


def largest_stable(values: list[float], diverged: list[list[bool]]) -> list[float | None]:
    """Per seed, the largest grid value up to which none of its runs diverged (diverged: per value, per seed)."""
    found = []
    for seed_diverged in zip(*diverged, strict=True):
        stable = None
        for value, failed in zip(values, seed_diverged, strict=True):
            if failed:
                break
            stable = value
        found.append(stable)
    return found


def stable_higher(bn: list[float | None], no_bn: list[float | None], top: float) -> stats.FractionVerdict | None:
    """Seeds whose BN runs stay stable to a higher grid value than the non-BN runs (a None: not even the first),
    among the seeds the grid can judge: one whose two arms are both stable at the grid's top is left out, since the
    grid ends before either diverges. None: no seed can be judged."""
    judged = [(b or 0.0) > (n or 0.0) for b, n in zip(bn, no_bn, strict=True) if not b == n == top]
    return stats.judge_fraction(judged) if judged else None


def seed_extremes(points: list[Outcomes]) -> tuple[list[float | None], list[float | None]]:
    """Per seed, its best and its worst final validation accuracy over the grid (None if a run has none)."""
    per_seed = list(zip(*(point.seeds for point in points), strict=True))
    best = [None if None in finals else max(finals) for finals in per_seed]
    worst = [None if None in finals else min(finals) for finals in per_seed]
    return best, worst


def sensitivity(points: dict[str, list[Outcomes]]) -> tuple[dict[str, PairedEffect], PairedEffect]:
    """Per arm, best minus worst over the grid, per seed; and no BN's minus BN's (how much less BN cares)."""
    extremes = {key: seed_extremes(found) for key, found in points.items()}
    spread_of = {key: stats.paired_effect(best, worst) for key, (best, worst) in extremes.items()}
    return spread_of, stats.paired_effect(differences(*extremes[NO_BN.key]), differences(*extremes[BN.key]))


def effective_rates(panel: Panel, values: list[float]) -> list[float]:
    """learning rate / (SD^2 x the first hidden kernel's weights) per initial SD: E||W||^2 of a normal init."""
    from bn_mnist.core.nets.models import FC_UNITS, IMAGE_SHAPE  # TensorFlow: only where runs are analysed

    if panel.key != "model.init_std":
        return []
    rate, weights = from_dict(Config, panel.base).train.learning_rate, math.prod(IMAGE_SHAPE) * FC_UNITS[0]
    return [rate / (sd * sd * weights) for sd in values]


def paired_panel(
    panel: Panel,
    values: list[float],
    points: dict[str, list[Outcomes]],
    diverged: dict[str, list[list[bool]]],
    controls: dict[str, Outcomes] | None = None,
) -> GridPanel:
    """A panel from its arms' outcomes per grid value and which runs diverged (per value, per seed): each arm's
    usable range, per-seed largest stable value and sensitivity to the swept value, and per value BN's paired
    advantage."""
    arms = {key: GridArm(found, usable_range(values, found)) for key, found in points.items()}
    stable = {key: largest_stable(values, found) for key, found in diverged.items()}
    advantage = [
        stats.paired_effect(bn.seeds, no_bn.seeds) for bn, no_bn in zip(points[BN.key], points[NO_BN.key], strict=True)
    ]
    higher = stable_higher(stable[BN.key], stable[NO_BN.key], values[-1])
    spread_of, less = sensitivity(points)
    rates = effective_rates(panel, values)
    return GridPanel(
        panel.title, panel.key, values, arms, advantage, stable, higher, spread_of, less, controls or {}, rates
    )


def grid_panel(plan: Plan, runs: Runs, study: str, panel: Panel, budget: Budget) -> GridPanel:
    values = list(budget.grid(study, panel.name))
    points, diverged = {}, {}
    for arm in PAIRED_ARMS:
        keys = [plan.seeds(study, arm.key, panel.name, value) for value in values]
        points[arm.key] = [outcomes(runs, found) for found in keys]
        diverged[arm.key] = [[runs[key].summary.diverged_at_step is not None for key in found] for found in keys]
    controls = {arm.key: outcomes(runs, plan.seeds(study, arm.key, panel.name)) for arm in panel.controls}
    return paired_panel(panel, values, points, diverged, controls)


def grid_study(grid: Grid, plan: Plan, runs: Runs, budget: Budget) -> GridStudy:
    return GridStudy(REACH, {p.name: grid_panel(plan, runs, grid.name, p, budget) for p in grid.panels})


def span(usable: Usable, total: int) -> str:
    if not usable.values:
        return f"at none of the {total} values"
    if usable.low == usable.high:
        return f"at {usable.low:g} only (1 of {total} values)"
    return f"from {usable.low:g} to {usable.high:g} ({len(usable.values)} of {total} values)"


def lowest(panel: GridPanel, arm: str) -> str:
    """The arm's lowest mean final accuracy over the grid, and where."""
    means = [point.val_accuracy.mean if point.val_accuracy else float("nan") for point in panel.arms[arm].points]
    worst = min(range(len(means)), key=means.__getitem__)
    return f"{number(means[worst])} at {panel.values[worst]:g}"


def grid_found(study: GridStudy, swept: str) -> str:
    """Per panel where BN and no BN train, and each one's worst point."""
    parts = []
    for panel in study.panels.values():
        total = len(panel.values)
        bn, no_bn = panel.arms[BN.key].usable, panel.arms[NO_BN.key].usable
        parts.append(
            f"{panel.title}: with BN {span(bn, total)}, without {span(no_bn, total)} (lowest mean: with BN "
            f"{lowest(panel, BN.key)}, without {lowest(panel, NO_BN.key)})"
        )
    return (
        f"Accuracy within the budget, not stability: where the network reaches {study.threshold:g} (in more than "
        f"half of the seeds) by {swept}: " + "; ".join(parts) + "."
    )


def grid_table(panel: GridPanel, swept: str) -> list[str]:
    advantage, rates = bool(panel.advantage), bool(panel.effective_rate)  # results made before have neither
    lines = [
        f"| {swept} | "
        + (f"{EFFECTIVE_RATE} | " if rates else "")
        + " | ".join(f"{ARMS[a].short}: final val. acc. | trains | diverged" for a in panel.arms)
        + (" | BN minus no BN, same seed (95% interval)" if advantage else "")
        + " |",
        "|---" * (1 + rates + 3 * len(panel.arms) + advantage) + "|",
    ]
    for i, value in enumerate(panel.values):
        cells = [sci(panel.effective_rate[i])] if rates else []
        for found in panel.arms.values():
            point = found.points[i]
            cells += [spread_text(point.val_accuracy), k_of_n(point.trains), k_of_n(point.diverged)]
        cells += [effect_text(panel.advantage[i])] if advantage else []
        lines.append(f"| {value:g} | " + " | ".join(cells) + " |")
    return lines


EFFECTIVE_RATE = "rate / E‖W₁‖² at step 0 (the first hidden layer's effective step with BN)"


def grid_figure(grid: Grid, study: GridStudy) -> Figure:
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
        axis.set(xscale="log", ylim=(0, 1), xlabel=grid.swept, ylabel="final validation accuracy", title=panel.title)
        axis.grid(alpha=0.3)
        axis.legend(loc="lower left")
    figure.suptitle(f"{grid.title} ({BAND_NOTE}; {DOTS_NOTE}; dashed: {study.threshold:g})")
    return laid_out(figure)


def grid_explain_study(
    grid: Grid,
    rule: Rule,
    numbers: Callable[[GridPanel], dict[str, object]],
    judged_lines: Callable[[GridStudy, Verdict, str], list[str]],
) -> ExplainStudy:
    """A grid study on explain's pipeline: `rule` judges `numbers` of each panel, and the section gives its words per
    panel (`judged_lines`)."""

    def judge(study: GridStudy) -> dict[str, Verdict]:
        return {grid.name: rule.judge({name: numbers(panel) for name, panel in study.panels.items()})}

    def section(study: GridStudy, verdicts: Verdicts, figure: str) -> list[str]:
        """The claim, the rule's words per panel, what the grid found, its figure and a table per panel."""
        verdict = verdicts.of(grid.name)
        lines = [
            *claim_heading(grid.title, verdict),
            *judged_lines(study, verdict, grid.swept),
            grid.measured + " " + grid_found(study, grid.swept),
            "",
            f"![{grid.title}]({figure})",
            "",
        ]
        for panel in study.panels.values():
            lines += [f"**{panel.title}**", "", *grid_table(panel, grid.swept), ""]
        return lines

    plan, analyse = functools.partial(plan_grid, grid), functools.partial(grid_study, grid)
    return ExplainStudy(grid.name, plan, analyse, judge, section, functools.partial(grid_figure, grid), (rule,))
