"""The initialisation-scale study: BN and no BN over initial weight SDs from 0.01 to 5 (the Lesson's bad weights),
with no-BN controls from He and LSUV starts, judged on the claim that BN makes training insensitive to the scale."""

from __future__ import annotations

from bn_mnist.core.config import merged
from bn_mnist.lab.arms import BN, HE, LSUV, NO_BN
from bn_mnist.lab.text import effect_text, spread_text
from bn_mnist.lab.verdicts import AGREE, MARGIN, Paired, Rule, Verdict, every, verdict_policy
from bn_mnist.studies.explain.common import ARMS, FC_AT_RATE, FC_LEARNING_RATE, SIGMOID
from bn_mnist.studies.explain.grid import Grid, Panel, grid_explain_study
from bn_mnist.studies.explain.results import GridPanel, GridStudy

GRID = Grid(
    "init",
    (  # He keeps a ReLU net's variance, not a sigmoid one's; LSUV measures it, for either
        Panel("fc-relu", f"FC, ReLU, SGD {FC_LEARNING_RATE:g}", FC_AT_RATE, "model.init_std", controls=(HE, LSUV)),
        Panel(
            "fc-sigmoid",
            f"FC, sigmoid, SGD {FC_LEARNING_RATE:g}",
            merged(FC_AT_RATE, SIGMOID),
            "model.init_std",
            controls=(LSUV,),
        ),
    ),
    "Initialisation scale",
    "initial weight SD",
    "Final validation accuracy over initial weight SDs from 0.01 to 5 (the Lesson's bad weights): the SD of every "
    "layer's initial weights, the output layer's too (it has no BN in either net). BN makes a layer invariant to its "
    "kernel's scale, so its effective step is the rate over the kernel's squared norm: the table gives it for the "
    "first hidden layer at step 0 (SD² x 78,400 weights; the other two have 10,000).",
)
SENSITIVE, INSENSITIVE = "sensitive", "insensitive"  # BN's final accuracy over the initial SDs
LESS, NOT_LESS = "less sensitive than without BN", "not less sensitive than without BN"
SENSITIVITY_PART, COMPARED_PART = "BN's sensitivity", "against no BN"  # the rule's parts, per panel
RULE = Rule(
    "BN makes training insensitive to the initial scale (the Lesson's bad-weight rows)",
    (
        Paired(
            SENSITIVITY_PART,
            "BN's best final validation accuracy over the grid of initial SDs minus its worst",
            above=SENSITIVE,
            below=INSENSITIVE,
            low=MARGIN,
        ),
        Paired(
            COMPARED_PART, "no BN's sensitivity (best minus worst) minus BN's", above=LESS, below=NOT_LESS, low=MARGIN
        ),
    ),
    verdict_policy(
        supported=(every(INSENSITIVE, of=(SENSITIVITY_PART,)), every(LESS, of=(COMPARED_PART,))),
        partly=(every(SENSITIVE, of=(SENSITIVITY_PART,)), every(LESS, of=(COMPARED_PART,))),
        not_supported=every(NOT_LESS, of=(COMPARED_PART,)),
    ),
    per="panel",
    across=AGREE,
    note="A best minus a worst of noisy values is above 0 even where nothing matters: about 0.005 for 7 values at "
    "this net's seed-to-seed SD of ~0.002",
)


def numbers(panel: GridPanel) -> dict[str, object]:
    """What the rule judges in a panel (results made before the panel kept them cannot decide)."""
    return {SENSITIVITY_PART: panel.sensitivity.get(BN.key), COMPARED_PART: panel.less_sensitive}


def sensitivity_lines(study: GridStudy, verdict: Verdict, swept: str) -> list[str]:
    """Per panel, the two parts of the sensitivity rule, the panel's word and its controls (results that have
    them)."""
    lines, parts = [], verdict.parts
    for name, panel in study.panels.items():
        if not panel.sensitivity or f"{name}: {SENSITIVITY_PART}" not in parts:
            continue
        controls = "; ".join(
            f"{ARMS[arm].label} {spread_text(found.val_accuracy)}" for arm, found in panel.controls.items()
        )
        lines.append(
            f"- {panel.title}: best minus worst final validation accuracy over the {swept}s, per seed: with BN "
            f"{effect_text(panel.sensitivity[BN.key])}: {parts[f'{name}: {SENSITIVITY_PART}']}; without "
            f"{effect_text(panel.sensitivity[NO_BN.key])}; no BN's minus BN's "
            f"{effect_text(panel.less_sensitive)}: {parts[f'{name}: {COMPARED_PART}']}. This panel: "
            f"{parts[name]}." + (f" Controls, not swept: {controls}." if controls else "")
        )
    return [*lines, ""] if lines else []


STUDY = grid_explain_study(GRID, RULE, numbers, sensitivity_lines)
