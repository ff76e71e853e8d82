"""How numbers read in tables and reports, one function per kind of number (every report uses these)."""

from __future__ import annotations

from collections.abc import Iterable

from bn_mnist.core.provenance import CodeVersion
from bn_mnist.lab.stats import FractionVerdict, PairedEffect, Spread


def number(value: float | int | None) -> str:
    """An accuracy as 0.9832, a step as 1,500, a missing value (never reached, diverged) as '-'."""
    if value is None:
        return "-"
    if isinstance(value, bool | int):
        return f"{value:,}"
    return f"{value:.4f}" if abs(value) <= 1 else f"{value:,.2f}"


def spread_text(found: Spread | None) -> str:
    """mean ± sample SD (min..max), n."""
    if found is None:
        return "-"
    deviation = f" ± {number(found.sd)}" if found.sd is not None else ""
    return f"{number(found.mean)}{deviation} ({number(found.min)}..{number(found.max)}), n={found.n}"


def per_seed(values: Iterable[float | int | None]) -> str:
    return " / ".join(number(value) for value in values)


def interval(bounds: tuple[float, float] | None) -> str:
    return "-" if bounds is None else f"{number(bounds[0])}..{number(bounds[1])}"


def sci(value: float | None) -> str:
    """A measurement spanning orders of magnitude: 2 significant digits."""
    return "-" if value is None else f"{value:.2g}"


def sci_spread(found: Spread | None) -> str:
    if found is None:
        return "-"
    return f"{sci(found.mean)} ({sci(found.min)}..{sci(found.max)}), n={found.n}"


def percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def effect_text(found: PairedEffect | None) -> str:
    """A paired effect: mean difference (95% interval), its p-value and the seeds paired."""
    if found is None or found.mean is None or found.interval is None or found.p is None:
        return "-" if found is None else f"- (n={found.n})"
    low, high = found.interval
    return f"{found.mean:+.4f} ({low:+.4f}..{high:+.4f}), p={found.p:.2g}, n={found.n}"


def k_of_n(found: FractionVerdict) -> str:
    """k of n seeds, with the 95% Wilson interval of the fraction."""
    low, high = found.wilson_95
    return f"{found.k}/{found.n} ({low:.2f}..{high:.2f})"


SMALL_NUMBERS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five"}


def seeds_text(seeds: dict[str, int]) -> str:
    """A budget's seeds in words: 'one seed', 'two seeds', or per kind of run when the kinds differ."""
    counts = set(seeds.values())
    if len(counts) > 1:
        return ", ".join(f"{n} {kind} seeds" for kind, n in seeds.items())
    count = counts.pop()
    return f"{SMALL_NUMBERS.get(count, count)} seed{'s' if count > 1 else ''}"


def notebook_markdown(report: str) -> str:
    """A report.md as a notebook shows it: without its image lines, whose files lie beside report.md, not beside the
    notebook (the result's `figure()` draws them)."""
    return "\n".join(line for line in report.splitlines() if not line.startswith("!["))


def code_lines(code: CodeVersion | None, other_code_runs: list[str]) -> list[str]:
    """A report's lines on the code that made its results and on reused runs that other code trained (none for
    results from before the code version was kept)."""
    if code is None:
        return []
    lines = [
        f"- Code: {code}. Every run's summary.json records the code that trained it; a finished run of other code is "
        "trained again unless `--reuse-other-code`."
    ]
    if other_code_runs:
        lines.append(f"- **Reused runs that other code trained** (`--reuse-other-code`): {', '.join(other_code_runs)}.")
    return lines


def files_text(paths: list[str]) -> str:
    """Source files in words: '`a`', '`a` and `b`', '`a`, `b` and `c`'."""
    quoted = [f"`{path}`" for path in paths]
    return quoted[-1] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} and {quoted[-1]}"
