"""`pitfalls`' report.md, rendered from the typed results alone: per pitfall its cause, its claim with the rule
declared before the runs and the verdict, the parts' effects, every arm's measures over seeds, and the fix."""

from __future__ import annotations

from bn_mnist.lab.study import rules_changed_lines
from bn_mnist.lab.text import code_lines, effect_text, files_text, per_seed, seeds_text, spread_text
from bn_mnist.lab.verdicts import Share
from bn_mnist.studies.pitfalls import claims
from bn_mnist.studies.pitfalls.experiments import BY_NAME
from bn_mnist.studies.pitfalls.results import PitfallResult, Results


def header(results: Results) -> list[str]:
    meta = results.meta
    software = ", ".join(f"{name} {version}" for name, version in meta.software.items())
    return [
        f"# BN as it fails today{' (quick run)' if meta.quick else ''}",
        "",
        f"Made by `{meta.command}`: {meta.runs} runs ({seeds_text(meta.seeds)}, {meta.steps:,} steps each but the "
        f"lag pitfall's short runs); {meta.train_seconds / 60:.1f} min of training summed over runs; "
        f"{meta.wall_seconds / 60:.1f} min of wall time ({meta.runs_reused} of the runs were already in its "
        "directory and were reused). Every arm of a seed starts from the same weights and sees the same batches (the "
        "non-i.i.d. arms their own); every number is over seeds (mean ± SD (min..max), n), and each rule was "
        f"declared before the runs ({files_text(meta.rules)}). Software: {software}.",
        *code_lines(meta.code, meta.other_code_runs),
        "",
        "| pitfall | claim | verdict |",
        "|---|---|---|",
        *(f"| {r.title} | {r.verdict.claim} | **{r.verdict.word}** |" for r in results.pitfalls.values()),
        "",
    ]


def invariant_text(seeds: list[bool | None]) -> str:
    measured = [holds for holds in seeds if holds is not None]
    return f"in {sum(measured)} of {len(measured)} seeds measured"


def parts_table(name: str, result: PitfallResult) -> list[str]:
    rows = ["| part | measured | word |", "|---|---|---|"]
    for part in claims.RULES[name].parts:
        found = (
            effect_text(result.effects.get(part.name))
            if isinstance(part, claims.Difference)
            else invariant_text(result.shares.get(part.name, []))
        )
        rows.append(f"| {part.name} | {found} | {result.verdict.parts.get(part.name, '-')} |")
    return rows


ALWAYS_SHOWN = ("val_accuracy", "diverged", "batches_enough")


def shown_measures(name: str) -> set[str]:
    """The measures a pitfall's table lists: its figure's, its rule's, and the outcome."""
    found = {measure for panel in BY_NAME[name].panels for measure in panel.measures} | set(ALWAYS_SHOWN)
    for part in claims.RULES[name].parts:
        if isinstance(part, claims.Difference):
            found |= {part.first[1], part.second[1]}
        elif isinstance(part, Share):
            found.add(part.measure)
    return found


def measures_table(name: str, result: PitfallResult) -> list[str]:
    rows = ["| arm | measure | over seeds | per seed |", "|---|---|---|---|"]
    shown = shown_measures(name)
    for arm in result.arms.values():
        for measure, spread in arm.spreads.items():
            if (measure in shown or "/" in measure) and any(v is not None for v in arm.seeds[measure]):
                rows.append(f"| {arm.label} | {measure} | {spread_text(spread)} | {per_seed(arm.seeds[measure])} |")
    return rows


def section(name: str, result: PitfallResult, figure: str | None) -> list[str]:
    pitfall, verdict = BY_NAME[name], result.verdict
    return [
        f"## {result.title}",
        "",
        f"**Cause.** {pitfall.cause}",
        "",
        f"Claim tested: {verdict.claim}: **{verdict.word}** here. Rule, declared before the runs: {verdict.rule}.",
        "",
        *parts_table(name, result),
        "",
        *([f"![{result.title}]({figure})", ""] if figure else []),
        f"**Fix.** {pitfall.fix}",
        "",
        f"References: {', '.join(pitfall.references)}.",
        "",
        "<details><summary>Every arm's measures</summary>",
        "",
        *measures_table(name, result),
        "",
        "</details>",
        "",
    ]


def markdown(results: Results) -> str:
    lines = header(results)
    for name, result in results.pitfalls.items():
        lines += section(name, result, results.figures.get(name))
    lines += rules_changed_lines(results.meta.rules_changed)
    return "\n".join(lines).rstrip() + "\n"
