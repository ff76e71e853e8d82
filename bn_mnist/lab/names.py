"""A study's names and help texts, apart from the rest of its contract (`lab.study`): the CLI lists every study
and its parts from these without importing TensorFlow."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Names:
    """A study's names and help texts: what the CLI lists without importing TensorFlow."""

    command: str  # "explain": the command, the API function and results.json's `kind`
    part: str  # what its argument names: "study", "pitfall", "experiment"
    parts: tuple[str, ...]  # in report order
    summary: str  # the command's help
    seeds_help: str
    quick_help: str
    many: bool = True  # any number of parts (none: all); else one part or "all"
    rules: tuple[str, ...] = ()  # the files that hold its rules, as the report names them
