"""A reproduction's results as typed records; results.json is their serialisation. `analysis` and `judging` make
them from the finished runs; `figures` and `report` render them, judging nothing, so both can be rebuilt from
results.json."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bn_mnist.core.plots.seed_curves import Curve
from bn_mnist.core.records import SCHEMA_VERSION, Record
from bn_mnist.lab.stats import Spread
from bn_mnist.lab.study import Making, Shown
from bn_mnist.studies.reproduce.experiments import LESSON_STEPS, Budget
from bn_mnist.studies.reproduce.fields import SeedRecord
from bn_mnist.studies.reproduce.ranktests import AcrossTest, NullRate, OutcomeTest, ValueTest
from bn_mnist.studies.reproduce.rules import RULES_BEFORE, Rules


@dataclass(frozen=True, kw_only=True)
class Meta(Making):
    """What was run, with what, and what it cost."""

    experiments: list[str]
    quick_lesson_steps: int | None
    # results from before the field: where the rules were then
    rules: list[str] = field(default_factory=lambda: list(RULES_BEFORE))

    def budget(self) -> Budget:
        """The budget the runs were planned with."""
        steps = self.quick_lesson_steps or LESSON_STEPS
        return Budget(seeds=self.seeds, lesson_steps=steps, quick=self.quick)


class Verdict:
    """A judged claim's verdict: its test's word."""

    test: ValueTest | OutcomeTest

    @property
    def verdict(self) -> str:
        return self.test.verdict


@dataclass(frozen=True)
class JudgedNumber(Verdict, Record):
    """A published value against ours (`ranktests.value_test`), where it comes from, and what it was judged on."""

    scope: str
    source: str
    what: str
    note: str
    key: str
    given: str | None  # the key of its run's final validation accuracy when judged among our runs that learned
    test: ValueTest
    ours: Spread | None  # the values it was judged on
    values: list[float | int | None]  # per seed (all seeds; those that did not learn are left out when `given`)
    adjusted_p: float  # Benjamini-Hochberg, across every p-value of the report


@dataclass(frozen=True)
class JudgedOutcome(Verdict, Record):
    """Whether a published run learned, against how many of our seeds share its outcome (`ranktests.outcome_test`)."""

    scope: str
    source: str
    what: str
    key: str
    published: float
    learned: bool
    final: bool  # the run's final validation accuracy (else one of its points before it learned)
    unjudged: list[str]  # a run that did not learn: its other printed numbers, not judged
    test: OutcomeTest
    rank: int  # (final) its rank among ours, failures tied, ties broken at random (the report-wide tests)
    values: list[float | None]
    adjusted_p: float


@dataclass(frozen=True)
class JudgedRemark(Verdict, Record):
    """A property of the tutorial's run over our seeds (`ranktests.property_test`), and where it comes from."""

    scope: str
    source: str
    said: str
    verbatim: bool
    rule: str
    note: str
    test: OutcomeTest
    holds: list[bool]
    values: dict[str, list[Any]]
    adjusted_p: float


@dataclass(frozen=True)
class Across(Record):
    """The report-wide tests over the independent published runs."""

    calibration: AcrossTest
    shift: AcrossTest
    discoveries: int  # claims whose adjusted p is <= ranktests.FDR
    discoveries_need: int  # claims at the smallest attainable p that one discovery would need (`verdicts`)


@dataclass(frozen=True)
class Results(Shown, Record):
    """results.json of `bn-mnist reproduce`."""

    meta: Meta
    records: dict[str, list[SeedRecord]]  # scope -> one record per seed
    statistics: dict[str, dict[str, Spread | None]]  # scope -> record key -> over seeds
    rules: Rules
    outcomes: list[JudgedOutcome]
    numbers: list[JudgedNumber]
    remarks: list[JudgedRemark]
    across: Across | None  # None when no published run was judged
    null_rates: list[NullRate]  # the method's flag rates under the null, by simulation at our seed counts
    counts: dict[str, dict[str, int]]  # "outcomes" / "numbers" / "remarks" -> verdict word -> how many
    curves: dict[str, dict[str, Curve]]  # run key -> metric -> its curve
    figures: dict[str, str]  # figure name -> file name in the output directory
    kind: str = "reproduce"
    schema: int = SCHEMA_VERSION
