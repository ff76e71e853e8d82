"""What a result records of its making: the command that recreates it and the software that made it."""

from __future__ import annotations

import platform
from pathlib import Path

RESULTS_FILE = "results.json"  # a reproduce or explain output's records (a compare keeps them in summary.json)
REPORT_FILE = "report.md"


def command_line(command: str, selected: str, seeds: int | None, out_dir: Path, quick: bool) -> str:
    """The command that (re)creates these results: `bn-mnist <command> <selected> [--seeds N] --out DIR [--quick]`."""
    options = (f" --seeds {seeds}" if seeds else "") + f" --out {out_dir}" + (" --quick" if quick else "")
    return f"bn-mnist {command}{' ' + selected if selected else ''}{options}"


def software() -> dict[str, str]:
    """The versions that made a result (the run's own execution settings are in each summary.json), read from the
    installed distributions: the main process of a command need not import TensorFlow for them."""
    from importlib.metadata import packages_distributions, version

    distributions = packages_distributions()  # e.g. tensorflow comes as tensorflow or tensorflow-cpu

    return {
        "bn-mnist": version("bn-mnist"),
        "python": platform.python_version(),
        **{name: version(distributions[name][0]) for name in ("tensorflow", "keras", "numpy", "matplotlib", "click")},
        "platform": platform.platform(),
    }
