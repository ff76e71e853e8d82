"""What `diagnose` reports: one `Finding` per problem (layer, what, how large, what to do), and the `Diagnosis`
of one model, which the CLI prints as lines or as JSON."""

from __future__ import annotations

import dataclasses
import json


@dataclasses.dataclass(frozen=True)
class Finding:
    """One problem: `check` names it (a `checks.CHECKS` key), `size` is how large, in that check's unit."""

    check: str
    layer: str  # the layer's path in the model ("model" for the model as a whole)
    what: str  # what is wrong, how large included
    size: float
    fix: str  # what to do

    def line(self) -> str:
        return f"{self.layer}: {self.what}. {self.fix}"


@dataclasses.dataclass(frozen=True)
class Diagnosis:
    """Every finding on one model, worst first within each check, and what could not be checked and why."""

    model: str
    data: str  # what the measurements ran on
    bn_layers: tuple[str, ...]
    findings: tuple[Finding, ...]
    unchecked: tuple[str, ...]

    @property
    def exit_code(self) -> int:
        """0 when nothing is found, 1 when something is (2, bad input, never gets this far)."""
        return 1 if self.findings else 0

    def lines(self) -> list[str]:
        layers = ", ".join(self.bn_layers) if self.bn_layers else "none"
        head = [f"{self.model}: {len(self.bn_layers)} BN layer(s) ({layers}); measured on {self.data}"]
        found = [finding.line() for finding in self.findings] or ["nothing found"]
        return head + found + [f"not checked: {reason}" for reason in self.unchecked]

    def _repr_markdown_(self) -> str:
        """A notebook's view: one table row per finding."""
        rows = [f"| {f.layer} | {f.check} | {f.size:.3g} | {f.what} | {f.fix} |" for f in self.findings]
        table = (
            ["| layer | check | size | what | fix |", "|---|---|---:|---|---|", *rows] if rows else ["nothing found"]
        )
        return "\n".join(
            [f"**{self.model}** (on {self.data})", "", *table, *(f"- not checked: {u}" for u in self.unchecked)]
        )

    def to_json(self) -> str:
        return json.dumps({**dataclasses.asdict(self), "exit_code": self.exit_code}, indent=2)
