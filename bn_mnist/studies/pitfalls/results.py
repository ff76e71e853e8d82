"""`pitfalls`' results as typed records; results.json is their serialisation. `analysis` makes them from the finished
runs and `claims` judges them; `figures` and `report` render them, judging nothing, so both can be rebuilt from
results.json."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bn_mnist.core.provenance import CodeVersion
from bn_mnist.core.records import SCHEMA_VERSION, Record, optional, present_figure
from bn_mnist.core.runfiles import Execution
from bn_mnist.lab.stats import PairedEffect, Spread
from bn_mnist.lab.text import notebook_markdown

if TYPE_CHECKING:
    from matplotlib.figure import Figure


@dataclass(frozen=True)
class ArmResult(Record):
    """One arm's measures over seeds."""

    label: str
    colour: str
    seeds: dict[str, list[float | None]]  # measure -> its value per seed (None: not measured, e.g. diverged)
    spreads: dict[str, Spread | None]


@dataclass(frozen=True)
class Verdict(Record):
    """A claim tested by a rule declared in `claims`, the word each part of the rule gave and the verdict."""

    claim: str
    rule: str
    word: str
    parts: dict[str, str]


@dataclass(frozen=True)
class PitfallResult(Record):
    title: str
    arms: dict[str, ArmResult]
    effects: dict[str, PairedEffect]  # a paired part of the rule -> its effect
    shares: dict[str, list[bool | None]]  # an invariant of the rule -> per seed, whether it holds (None: unmeasured)
    verdict: Verdict


@dataclass(frozen=True)
class Meta(Record):
    pitfalls: list[str]
    seeds: dict[str, int]
    quick: bool
    runs: int
    runs_reused: int  # finished in the directory before this command: its wall time did not train them
    train_seconds: float
    command: str
    software: dict[str, str]
    execution: Execution | None
    steps: int
    evaluations: int
    wall_seconds: float
    code: CodeVersion | None = optional()
    other_code_runs: list[str] = field(default_factory=list)  # reused runs that other code trained (when asked)


@dataclass(frozen=True)
class Results(Record):
    """results.json of `bn-mnist pitfalls`."""

    meta: Meta
    pitfalls: dict[str, PitfallResult]
    figures: dict[str, str]  # pitfall -> its figure's file name
    kind: str = "pitfalls"
    schema: int = SCHEMA_VERSION

    def _repr_markdown_(self) -> str:
        """The report, as a notebook shows it."""
        from bn_mnist.studies.pitfalls import report

        return notebook_markdown(report.markdown(self))

    def figure(self, pitfall: str | None = None) -> Figure:
        """One pitfall's figure (None: the first), drawn from these results alone."""
        from bn_mnist.studies.pitfalls import figures

        name = present_figure(pitfall, self.figures)
        return figures.figure(name, self.pitfalls[name])
