"""The contract every multi-run study keeps (`reproduce`, `explain`, `pitfalls`, and any study added after them), so
that one pipeline (`lab.pipeline`) runs, judges, writes and rebuilds all of them, and the API, the CLI and `report`
read one registry (`bn_mnist.studies`) instead of switching on names.

A study is two records: its `Names` (`lab.names`: what the CLI's --help shows, without TensorFlow) and its `Study`
(budgets and the pipeline's steps: plan, analyse, judge, assemble the typed results, draw and write the report).
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeVar

from bn_mnist.core.provenance import CodeVersion
from bn_mnist.core.records import Record, optional, present_figure
from bn_mnist.core.runfiles import Execution
from bn_mnist.lab.names import Names
from bn_mnist.lab.plan import Plan, seeds_per_kind
from bn_mnist.lab.text import notebook_markdown

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from bn_mnist.core.data import Mnist
    from bn_mnist.lab.runs import RunFiles


@dataclass(frozen=True, kw_only=True)
class Budget(Record):
    """How much a study trains, chosen once from the command's --seeds and --quick (`Study.budget`); each study adds
    its own fields (steps, grids, ...)."""

    seeds: dict[str, int]  # per kind of run
    quick: bool = False  # a smoke run: the report says so
    seeds_option: int | None = None  # --seeds as given (the command line that recreates the results repeats it)


@dataclass(frozen=True)
class RuleChange(Record):
    """A rule changed after seeing the results it judges: what changed and why, and the verdicts before and after."""

    rule: str
    change: str
    before: dict[str, str]  # claim -> verdict word under the rule as declared
    after: dict[str, str]  # claim -> verdict word under the changed rule


@dataclass(frozen=True, kw_only=True)
class Making(Record):
    """What every study's results record of their making (each study's `Meta` adds what it chose and its budget)."""

    seeds: dict[str, int]
    quick: bool
    runs: int
    runs_reused: int = 0  # finished in the directory before this command: its wall time did not train them
    train_seconds: float  # summed over runs
    command: str  # the command that recreates these results
    software: dict[str, str]
    execution: Execution | None  # as the first run recorded it (the runner gives every run the same)
    wall_seconds: float
    code: CodeVersion | None = optional()  # the code that made these results (None: from before it was kept)
    other_code_runs: list[str] = field(default_factory=list)  # reused runs that other code trained (when asked)
    rules: list[str] = field(default_factory=list)  # the files that held the rules, at the code version `code`
    rules_changed: list[RuleChange] = field(default_factory=list)  # after seeing results (the report lists them)


B = TypeVar("B", bound=Budget)


@dataclass(frozen=True)
class Finished(Generic[B]):
    """What a study's analysis reads: its chosen parts, their plan and finished runs, the budget, and where they are."""

    chosen: tuple[str, ...]
    plan: Plan
    runs: dict[str, RunFiles]
    budget: B
    out_dir: Path
    mnist: Mnist


class Results(Protocol):
    """What the pipeline needs of a study's typed results (each study's results.py defines them, as dataclasses)."""

    __dataclass_fields__: ClassVar[dict[str, Any]]

    @property
    def meta(self) -> Making: ...

    @property
    def figures(self) -> dict[str, str]: ...

    def to_dict(self) -> dict[str, Any]: ...


A = TypeVar("A")  # a study's analysis: its numbers
V = TypeVar("V")  # its verdicts
R = TypeVar("R", bound=Results)
Drawings = Mapping[str, Callable[[], "Figure"]]  # figure name -> draws it (the pipeline saves each as <name>.png)


@dataclass(frozen=True)
class Study(Generic[B, A, V, R]):
    """A study as the pipeline runs it: budgets, then one function per step."""

    names: Names
    budgets: tuple[B, B]  # full, quick
    plan: Callable[[tuple[str, ...], B], Plan]
    analyse: Callable[[Finished[B]], A]
    judge: Callable[[A], V]
    assemble: Callable[[Making, Finished[B], A, V], R]  # the typed results (figures still empty)
    read: Callable[[dict[str, Any]], R]  # results.json, older schemas included
    markdown: Callable[[R], str]
    drawings: Callable[[R], Drawings]
    console: Callable[[R, Path], str]  # what the CLI prints when the command is done (given the output directory)
    reports_finished: bool = False  # report every part already finished in the output directory, not only the chosen
    rules_changed: tuple[RuleChange, ...] = ()  # after seeing results: every report lists them (none: says so)

    def budget(self, seeds: int | None, quick: bool) -> B:
        return choose(self.budgets, seeds, quick)

    def ordered(self, chosen: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(part for part in self.names.parts if part in chosen)


def choose(budgets: tuple[B, B], seeds: int | None, quick: bool) -> B:
    """The full or the quick budget, with `seeds` for every kind of run when given (--seeds)."""
    chosen = budgets[quick]
    return dataclasses.replace(chosen, seeds=seeds_per_kind(seeds, chosen.seeds), seeds_option=seeds)


def study_of(results: object) -> Study[Any, Any, Any, Any]:
    """The study whose results these are: the `STUDY` of the `study` module beside their `results` module."""
    package = type(results).__module__.rsplit(".", 1)[0]
    found: Study[Any, Any, Any, Any] = importlib.import_module(f"{package}.study").STUDY
    return found


class Shown:
    """A study's typed results as a notebook shows them: the report (`_repr_markdown_`) and any figure."""

    figures: dict[str, str]

    def _repr_markdown_(self) -> str:
        return notebook_markdown(study_of(self).markdown(self))

    def figure(self, name: str | None = None) -> Figure:
        """One figure (a name in `figures`; None: the first), drawn from these results alone."""
        return study_of(self).drawings(self)[present_figure(name, self.figures)]()


def verdicts_text(words: dict[str, str]) -> str:
    return ", ".join(f"{claim} {word}" for claim, word in words.items()) or "none"


def rules_changed_lines(changes: list[RuleChange]) -> list[str]:
    """Every report's section on the rules changed after seeing the results they judge: each change with its
    verdicts before and after, or None."""
    lines = [
        f"- **{change.rule}**: {change.change} Verdicts before: {verdicts_text(change.before)}; after: "
        f"{verdicts_text(change.after)}."
        for change in changes
    ]
    return ["## Rules changed after seeing results", "", *(lines or ["None."]), ""]
