"""`pitfalls`' results as typed records; results.json is their serialisation. `analysis` makes them from the finished
runs and `claims` judges them; `figures` and `report` render them, judging nothing, so both can be rebuilt from
results.json."""

from __future__ import annotations

from dataclasses import dataclass, field

from bn_mnist.core.records import SCHEMA_VERSION, Record
from bn_mnist.lab.stats import PairedEffect, Spread
from bn_mnist.lab.study import Making, Shown
from bn_mnist.lab.verdicts import Verdict


@dataclass(frozen=True)
class ArmResult(Record):
    """One arm's measures over seeds."""

    label: str
    colour: str
    seeds: dict[str, list[float | None]]  # measure -> its value per seed (None: not measured, e.g. diverged)
    spreads: dict[str, Spread | None]


@dataclass(frozen=True)
class PitfallResult(Record):
    title: str
    arms: dict[str, ArmResult]
    effects: dict[str, PairedEffect]  # a paired part of the rule -> its effect
    shares: dict[str, list[bool | None]]  # an invariant of the rule -> per seed, whether it holds (None: unmeasured)
    verdict: Verdict


@dataclass(frozen=True, kw_only=True)
class Meta(Making):
    pitfalls: list[str]
    steps: int
    evaluations: int
    # results from before the field: where the rules were then
    rules: list[str] = field(default_factory=lambda: ["bn_mnist/pitfalls/claims.py"])


@dataclass(frozen=True)
class Results(Shown, Record):
    """results.json of `bn-mnist pitfalls`."""

    meta: Meta
    pitfalls: dict[str, PitfallResult]
    figures: dict[str, str]  # pitfall -> its figure's file name
    kind: str = "pitfalls"
    schema: int = SCHEMA_VERSION
