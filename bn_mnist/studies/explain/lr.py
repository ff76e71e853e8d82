"""The learning-rate study: BN and no BN over a log-spaced grid of learning rates in three nets, judged on Bjorck et
al.'s claim that BN's benefit is the larger rates it allows."""

from __future__ import annotations

from collections import Counter

from bn_mnist.core.config import merged
from bn_mnist.lab.arms import BN, NO_BN
from bn_mnist.lab.text import effect_text, k_of_n
from bn_mnist.lab.verdicts import AGREE, Fraction, Paired, Rule, Verdict, every, verdict_policy
from bn_mnist.studies.explain.common import CONV_BASE, FC_BASE, SIGMOID
from bn_mnist.studies.explain.grid import Grid, Panel, grid_explain_study
from bn_mnist.studies.explain.results import GridPanel, GridStudy

GRID = Grid(
    "lr",
    (
        Panel("fc-relu", "FC, ReLU, SGD", FC_BASE, "train.learning_rate"),
        Panel("fc-sigmoid", "FC, sigmoid, SGD", merged(FC_BASE, SIGMOID), "train.learning_rate"),
        Panel("conv", "conv, ReLU, Adam", CONV_BASE, "train.learning_rate", "conv"),
    ),
    "Learning-rate range",
    "learning rate",
    "Final validation accuracy over a log-spaced grid of learning rates, with and without BN.",
)
HIGHER, NOT_HIGHER = "higher", "not higher"  # BN's largest stable learning rate against no BN's, over seeds
AHEAD, EVEN, BEHIND = "BN ahead", "even", "BN behind"  # BN's accuracy against no BN's at the smallest rate
STABLE_PART, SMALL_PART = "largest stable rate", "at the smallest rate"  # the rule's parts, per panel
RULE = Rule(
    "BN's benefit is the larger learning rates it allows: its largest stable rate is higher, and at a matched "
    "small rate its advantage disappears (Bjorck et al. 2018)",
    (
        Fraction(
            STABLE_PART,
            "BN's largest stable rate (the largest grid rate up to which none of the seed's runs diverged) exceeds no "
            "BN's (a seed stable at the grid's top with and without BN is left out: the grid cannot judge it)",
            HIGHER,
            NOT_HIGHER,
        ),
        Paired(
            SMALL_PART, "BN's final validation accuracy minus no BN's at the grid's smallest rate", AHEAD, EVEN, BEHIND
        ),
    ),
    verdict_policy(
        supported=(every(HIGHER, of=(STABLE_PART,)), every(EVEN, BEHIND, of=(SMALL_PART,))),
        partly=(every(HIGHER, of=(STABLE_PART,)), every(AHEAD, of=(SMALL_PART,))),
        not_supported=every(NOT_HIGHER, of=(STABLE_PART,)),
    ),
    per="panel",
    across=AGREE,
    note="Partly supported: BN helps at the small rate too",
)


def numbers(panel: GridPanel) -> dict[str, object]:
    """What the rule judges in a panel (results made before the panel kept them cannot decide)."""
    return {STABLE_PART: panel.stable_higher, SMALL_PART: next(iter(panel.advantage), None)}


AHEAD_NOTE = (  # BN ahead at the smallest rate: what that lead is
    " (a lead within the budget at the grid's smallest rate: a benefit of BN that the larger-rates account does not "
    "explain)"
)


def stable_text(values: list[float | None]) -> str:
    """Per-seed largest stable values, counted: '1 in 8 seeds, 3 in 2'."""
    counts = sorted(Counter(values).items(), key=lambda item: -1.0 if item[0] is None else item[0])
    found = [f"{'none' if value is None else f'{value:g}'} in {n}" for value, n in counts]
    return ", ".join(found) + " seeds"


def stable_lines(study: GridStudy, verdict: Verdict, swept: str) -> list[str]:
    """Per panel, the two parts of the stability rule and the panel's word (results that have them)."""
    lines, parts = [], verdict.parts
    for name, panel in study.panels.items():
        if f"{name}: {STABLE_PART}" not in parts:
            continue
        higher = (
            f"BN's is the higher in {k_of_n(panel.stable_higher)} of the seeds the grid can judge"
            if panel.stable_higher is not None
            else "every seed is stable at the grid's top with and without BN, so the grid cannot judge it"
        )
        stable, small = panel.largest_stable, parts.get(f"{name}: {SMALL_PART}", "-")
        lines.append(
            f"- {panel.title}: the largest stable {swept} (no run of the seed diverged up to it) is with BN "
            f"{stable_text(stable[BN.key])}, without {stable_text(stable[NO_BN.key])}; {higher}: "
            f"{parts[f'{name}: {STABLE_PART}']}. At the smallest {swept}, {panel.values[0]:g}, BN minus no BN is "
            f"{effect_text(panel.advantage[0])}: {small}{AHEAD_NOTE * (small == AHEAD)}. This panel: "
            f"{parts.get(name, '-')}."
        )
    return [*lines, ""] if lines else []


STUDY = grid_explain_study(GRID, RULE, numbers, stable_lines)
