"""A reproduction's results as typed records; results.json is their serialisation. `reproduce` makes them from the
finished runs; `figures` and `report` render them, judging nothing, so both can be rebuilt from results.json."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bn_mnist.lab.stats import FractionVerdict, NumberVerdict, Spread
from bn_mnist.lab.text import notebook_markdown
from bn_mnist.plots.seed_curves import Curve
from bn_mnist.provenance import CodeVersion
from bn_mnist.records import SCHEMA_VERSION, Record, optional, present_figure
from bn_mnist.reproduction.experiments import LESSON_STEPS, Budget
from bn_mnist.reproduction.fields import SeedRecord
from bn_mnist.runfiles import Execution

if TYPE_CHECKING:
    from matplotlib.figure import Figure


@dataclass(frozen=True)
class Meta(Record):
    """What was run, with what, and what it cost."""

    experiments: list[str]
    seeds: dict[str, int]
    quick: bool
    quick_lesson_steps: int | None
    runs: int
    train_seconds: float  # summed over runs
    command: str  # the command that recreates these results
    software: dict[str, str]
    execution: Execution | None  # as the first run recorded it (the runner gives every run the same)
    wall_seconds: float
    code: CodeVersion | None = optional()  # the code that made these results (None: from before it was kept)
    other_code_runs: list[str] = field(default_factory=list)  # reused runs that other code trained (when asked)

    def budget(self) -> Budget:
        """The budget the runs were planned with."""
        return Budget(self.seeds, self.quick_lesson_steps or LESSON_STEPS, self.quick)


@dataclass(frozen=True)
class JudgedNumber(NumberVerdict):
    """A published number against the distribution of ours (`stats.judge_number`), and where it comes from."""

    scope: str
    source: str
    what: str
    note: str
    values: dict[str, list[float | None]]  # the record keys it was judged on, per seed


@dataclass(frozen=True)
class JudgedRemark(FractionVerdict):
    """A property of the tutorial's run, over our seeds (`stats.judge_fraction`), and where it comes from."""

    scope: str
    source: str
    said: str
    rule: str
    holds: list[bool]
    values: dict[str, list[Any]]


@dataclass(frozen=True)
class Results(Record):
    """results.json of `bn-mnist reproduce`."""

    meta: Meta
    records: dict[str, list[SeedRecord]]  # scope -> one record per seed
    statistics: dict[str, dict[str, Spread | None]]  # scope -> record key -> over seeds
    numbers: list[JudgedNumber]
    remarks: list[JudgedRemark]
    counts: dict[str, dict[str, int]]  # "numbers" / "remarks" -> verdict word -> how many
    curves: dict[str, dict[str, Curve]]  # run key -> metric -> its curve
    figures: dict[str, str]  # figure name -> file name in the output directory
    kind: str = "reproduce"
    schema: int = SCHEMA_VERSION

    def _repr_markdown_(self) -> str:
        """The report, as a notebook shows it."""
        from bn_mnist.reproduction import report

        return notebook_markdown(report.markdown(self))

    def figure(self, name: str | None = None) -> Figure:
        """One of the reproduction's figures (a name in `figures`; None: the first), drawn from these results."""
        from bn_mnist.reproduction import experiments, figures

        plan = experiments.plan(tuple(self.meta.experiments), self.meta.budget())
        return figures.drawings(self, plan)[present_figure(name, self.figures)]()
