"""report.md, made from results.json's content alone (so it can be rebuilt)."""

from __future__ import annotations

from typing import Any

from bn_mnist import stats
from bn_mnist.reproduction import probes
from bn_mnist.reproduction.experiments import (
    BAD_INIT_STD,
    LESSON,
    NETWORK_LABELS,
    NETWORKS,
    PAPER_SETTING,
    PITFALL_IMAGES,
    PITFALL_ROW,
    ROUNDOFF,
    lesson_config,
    lesson_settings,
)
from bn_mnist.reproduction.records import (
    DIVERGED,
    DRIFT,
    LAST_K,
    REACH80,
    REACH90,
    REACH90_TEST,
    SINGLE_BATCH_STATS_CLASS,
    TEST,
    VAL,
    VAL_LAST,
    key,
)

Results = dict[str, Any]

VOCABULARY = [
    "**How to read the verdicts.** Each published number is one run of the tutorial's notebook: a sample, like each "
    "of ours. We set it against the distribution of our seeds (same settings, seeds 0..N-1) and ask whether it is a "
    "run we would expect:",
    "",
    f"- **{stats.TYPICAL}**: inside our 90% prediction interval for one new run (t-based: mean ± t(0.95, N-1) · SD · "
    "sqrt(1 + 1/N), assuming our runs are a normal sample). Nothing to explain.",
    f"- **{stats.LUCKY}** / **{stats.UNLUCKY}**: above / below that interval, but within the range our seeds gave: "
    "the tutorial's run was better / worse than we expect of one run, but such runs happen here.",
    f"- **{stats.NOT_REPRODUCED}**: outside everything our seeds gave.",
    "",
    "A published run that did not learn (<= 0.15) and every remark of the text are properties of a run; for those we "
    "give the fraction of our seeds that have the property, with a 95% Wilson interval, and call it "
    f"**{stats.ALWAYS}** (every seed), **{stats.USUALLY}** (more than half), **{stats.SOMETIMES}** (some, at most "
    f'half) or **{stats.NEVER}** (none). "About N steps" means within [N/2, 2N]; speed is judged on steps to a '
    "threshold. Numbers are compared after rounding to four decimals, the published precision. The tutorial "
    'evaluates after the step whose index is a multiple of 100 (500, 50): its "batch k" point follows k + 1 '
    "training steps, ours at step k follows k.",
]


def fmt(value: Any) -> str:
    """An accuracy as .9832, a step as 1,500, a missing value (never reached, diverged) as '-'."""
    if value is None:
        return "-"
    if isinstance(value, bool | int):
        return f"{value:,}"
    return f"{value:.4f}" if abs(value) <= 1 else f"{value:,.2f}"


def spread(found: dict[str, Any] | None) -> str:
    """mean ± sample SD (min..max), n."""
    if found is None:
        return "-"
    deviation = f" ± {fmt(found['sd'])}" if found["sd"] is not None else ""
    return f"{fmt(found['mean'])}{deviation} ({fmt(found['min'])}..{fmt(found['max'])}), n={found['n']}"


def per_seed(values: list[Any]) -> str:
    return " / ".join(fmt(value) for value in values)


def interval(bounds: list[float] | None) -> str:
    return "-" if bounds is None else f"{fmt(bounds[0])}..{fmt(bounds[1])}"


def opening(results: Results) -> list[str]:
    """The few sentences a reader wants first: typical, lucky, not reproduced, and the round-off spread."""
    numbers, remarks = results["numbers"], results["remarks"]

    def named(word: str) -> str:
        found = [f"{n['source']}: {n['what']} {fmt(n['published'])}" for n in numbers if n["verdict"] == word]
        return "; ".join(found) if found else "none"

    counts = results["counts"]
    typical = counts["numbers"][stats.TYPICAL]
    experiments = len(results["records"])
    lines = [
        f"{experiments} experiments (distinct settings; repeated rows and every claim about the same runs share "
        f"them) in {results['meta']['runs']} runs. "
        f"Of {len(numbers)} published numbers, **{typical} are typical** of what this tool gets (inside our 90% "
        "prediction interval for one run). "
        f"**Lucky** (better than we expect of one run, within our range): {named(stats.LUCKY)}. "
        f"**Unlucky**: {named(stats.UNLUCKY)}. **Not reproduced** (outside our range): {named(stats.NOT_REPRODUCED)}.",
        "",
        remarks_sentence(remarks, counts["remarks"]),
        "",
    ]
    return lines + roundoff_sentence(results)


def remarks_sentence(remarks: list[dict[str, Any]], counts: dict[str, int]) -> str:
    """How many remarks hold for every, most, some and no seeds, naming those that do not hold for most."""
    shares = {
        stats.ALWAYS: "every seed",
        stats.USUALLY: "most seeds",
        stats.SOMETIMES: "some seeds (at most half)",
        stats.NEVER: "no seed",
    }
    held = ", ".join(f"{counts[word]} hold for {share}" for word, share in shares.items())
    rare = [
        f"{r['source']}: {r['rule']} ({r['k']}/{r['n']})"
        for r in remarks
        if r["verdict"] in (stats.SOMETIMES, stats.NEVER)
    ]
    return (
        f"Of {len(remarks)} remarks of the text (and published runs that did not learn), {held}. "
        f"**Rarely or never here**: {'; '.join(rare) or 'none'}."
    )


def roundoff_sentence(results: Results) -> list[str]:
    records = [r for r in results["records"].get("conv", []) if key(ROUNDOFF, VAL) in r]
    if not records:
        return []
    pairs = [(r[key("bn_keras", VAL)], r[key(ROUNDOFF, VAL)]) for r in records]
    shown = "; ".join(f"seed {r['seed']}: {fmt(a)} vs {fmt(b)}" for r, (a, b) in zip(records, pairs))
    mean_change = sum(abs(a - b) for a, b in pairs) / len(pairs)
    return [
        "**One run is a sample.** Round-off alone moves a run: the Keras BN conv run of the same seed, trained with "
        f"2 threads instead of 1, ends at another final validation accuracy ({shown}; mean |difference| "
        f"{fmt(mean_change)}). Another thread count or CPU gives another sample from the same distribution; only "
        "the same settings on the same kind of machine give the same numbers bit for bit.",
        "",
    ]


def numbers_section(results: Results) -> list[str]:
    lines = [
        "## Published numbers against our seeds",
        "",
        "| source | published | ours: mean ± SD (min..max), n | 90% interval | percentile | verdict | "
        f"mean of the last {LAST_K} evaluations |",
        "|---|---|---|---|---:|---|---|",
    ]
    for n in results["numbers"]:
        last = [k for k in n["values"] if k.endswith(VAL_LAST)]  # final validation claims carry it
        last_text = spread(results["statistics"][n["scope"]][last[0]]) if last else "-"
        note = f" ({n['note']})" if n["note"] else ""
        ours = {"mean": n["mean"], "sd": n["sd"], "min": n["min"], "max": n["max"], "n": n["n"]}
        lines.append(
            f"| {n['source']} | {n['what']} {fmt(n['published'])}{note} | {spread(ours)} | {interval(n['interval'])} "
            f"| {n['percentile']:.0f} | **{n['verdict']}** | {last_text} |"
        )
    return [*lines, ""]


def remarks_section(results: Results) -> list[str]:
    lines = [
        "## Remarks of the text over our seeds",
        "",
        "| source | the tutorial | our check | seeds with it (95% Wilson) | verdict | ours, per seed |",
        "|---|---|---|---|---|---|",
    ]
    for r in results["remarks"]:
        values = "; ".join(f"{k}: {per_seed(v)}" for k, v in r["values"].items())
        low, high = r["wilson_95"]
        lines.append(
            f"| {r['source']} | {r['said']} | {r['rule']} | {r['k']}/{r['n']} ({low:.2f}..{high:.2f}) "
            f"| **{r['verdict']}** | {values} |"
        )
    return [*lines, ""]


def lesson_section(results: Results, made: dict[str, str]) -> list[str]:
    lines = [
        "## Lesson: the fully connected net, 15 settings (18 published rows)",
        "",
        "Ours over seeds: final validation accuracy mean ± SD (min..max); the first step with validation "
        "accuracy >= 80% and >= 90% per seed (- never); seeds whose loss diverged. Rows 4/5, 13/17 and 15/18 "
        "repeat a setting: one experiment, two published draws.",
        "",
        "| rows | setting | network | published val | ours: val | 80% at | 90% at | diverged |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for setting, row in lesson_settings().items():
        scope = f"lesson/{setting}"
        rows = [r for r in LESSON if r.setting == setting]
        for net in NETWORKS:
            records, found = results["records"][scope], results["statistics"][scope]
            diverged = [r[key(net, DIVERGED)] for r in records if r[key(net, DIVERGED)] is not None]
            lead = f"| {', '.join(str(r.row) for r in rows)} | {row.title} |" if net == "no_bn" else "| | |"
            lines.append(
                f"{lead} {NETWORK_LABELS[net]} | {' / '.join(f'{getattr(r, net)[0]:.4f}' for r in rows)} | "
                f"{spread(found[key(net, VAL)])} | {per_seed(r[key(net, REACH80)] for r in records)} | "
                f"{per_seed(r[key(net, REACH90)] for r in records)} | {len(diverged)} |"
            )
    lines += ["", f"![all settings]({made['lesson-overview']})", ""]
    for setting, row in lesson_settings().items():
        lines += [f"### {row.title}", "", f"![{setting}]({made[f'lesson-{setting}']})", ""]
    return lines


def pitfall_section(results: Results) -> list[str]:
    records = results["records"]["pitfall"]
    return [
        f"## Lesson: the inference pitfall (row {PITFALL_ROW.row}'s BN net: {PITFALL_ROW.title})",
        "",
        f"The trained BN net on the first {PITFALL_IMAGES} test images fed one at a time, and on all 10,000 test "
        "images in one batch, with batch statistics (training mode) and with the moving averages (inference mode); "
        "verdicts are in the tables above. The constant class predicted from batch statistics, per seed: "
        f"{per_seed(r[SINGLE_BATCH_STATS_CLASS] for r in records)} (the Lesson's run: '8').",
        "",
    ]


def paper_section(results: Results, figure: str) -> list[str]:
    found, records = results["statistics"]["paper"], results["records"]["paper"]
    rate = PAPER_SETTING["train"]["learning_rate"]
    return [
        "## The BN paper's MNIST figure",
        "",
        "Source: S. Ioffe and C. Szegedy, *Batch Normalization: Accelerating Deep Network Training by Reducing "
        "Internal Covariate Shift*, ICML 2015 (arXiv:1502.03167), Figure 1 (a)-(c): a 3x100 sigmoid net on 28x28 "
        "binary images, 50,000 steps of 60 examples. The paper gives no learning rate: we use SGD with "
        f"{rate:g}, with which the baseline learns as the paper's curve shows (the Lesson's 0.01 leaves it below "
        "0.85). (a) test accuracy at every evaluation; (b, c) the 15th, 50th and 85th percentiles of the input to "
        f"unit {probes.UNIT} of the last hidden layer's sigmoid, on the first {probes.BATCH:,} validation images "
        "(inference mode), for seed 0.",
        "",
        f"![paper]({figure})",
        "",
        "| | final test accuracy | first step with test accuracy >= 90%, per seed | drift (median over units) |",
        "|---|---|---|---|",
        *(
            f"| {NETWORK_LABELS[net]} | {spread(found[key(net, TEST)])} | "
            f"{per_seed(r[key(net, REACH90_TEST)] for r in records)} | {spread(found[key(net, DRIFT)])} |"
            for net in NETWORKS
        ),
        "",
        f"Drift: for each of the layer's 100 units, the mean over the three percentiles of |mean of the last "
        f"{probes.DRIFT_WINDOW} evaluations - mean of the first {probes.DRIFT_WINDOW} after step 0|; then the "
        "median over the units. Window means, because a single value's evaluation-to-evaluation jitter is not the "
        "shift the paper shows. (A first version used max - min of one unit; it came first and was replaced for "
        "that reason; it is not reported.)",
        "",
    ]


def settings_section(results: Results) -> list[str]:
    meta, lesson = results["meta"], lesson_config(LESSON[0], "bn", seed=0, quick=False)
    steps = f"{meta['quick_lesson_steps']:,} (--quick)" if meta["quick"] else "50,000"
    execution = meta.get("execution") or {}
    threads = execution.get("intra_op_threads", "?")
    return [
        "## Settings",
        "",
        f"- Seeds: {', '.join(f'{n} for the {kind} runs' for kind, n in meta['seeds'].items())} (kinds: conv = the "
        "Solutions' 800-step conv runs; short = the Lesson's 2,000-step rows and the pitfall; long = the "
        "50,000-step runs and the paper's).",
        f"- Lesson: 784-100-100-100-10, {lesson.train.optimizer.upper()}, batch {lesson.train.batch_size}, "
        f"softmax cross-entropy, weights normal with std {lesson.model.init_std} (good) or {BAD_INIT_STD} (bad), "
        f"BN momentum {lesson.bn.momentum} and epsilon {lesson.bn.epsilon}; {steps} batches (2,000 in the short "
        "rows), validation on all 5,000 validation images every 1/100 of the run (every 50 in the short rows). "
        "Both networks of a seed start from the same weights and see the same batches.",
        "- Solutions: 19 conv layers + dense 100 + 10, Adam 0.002, sigmoid cross-entropy, 800 batches of 64, "
        "validation every 100 batches; the tf.nn run uses truncated-normal (std 0.05) conv kernels and Glorot "
        "dense layers, as the Solutions' low-level code did.",
        f"- Execution: every run with {threads} thread(s) in worker processes (summary.json `execution` of each "
        f"run): {', '.join(f'{k} {v}' for k, v in execution.items())}.",
        "- Every run's config.yaml, TensorBoard events, metrics.jsonl, summary.json, model.keras and train.log are "
        "under the output directory (`tensorboard --logdir <out>`).",
        "",
    ]


def markdown(results: Results) -> str:
    meta, made = results["meta"], results["figures"]
    quick = (
        [
            "> **--quick run**: one seed, and the 50,000-batch runs ran "
            f"{meta['quick_lesson_steps']:,} batches. Its verdicts say nothing about the tutorial.",
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
        *opening(results),
        f"Made by `{meta['command']}`: {meta['runs']} runs; {meta['train_seconds'] / 60:.0f} min of training "
        f"summed over runs; this command took {meta['wall_seconds'] / 60:.1f} min of wall time (runs already in "
        "its directory were reused; the report covers every experiment complete there).",
        "",
        f"Software: {versions}.",
        "",
        *VOCABULARY,
        "",
        *numbers_section(results),
        *remarks_section(results),
    ]
    if "conv" in meta["experiments"]:
        lines += ["## Solutions: the 19-layer conv net", "", f"![conv]({made['conv']})", ""]
    if "lesson" in meta["experiments"]:
        lines += lesson_section(results, made)
    if "pitfall" in meta["experiments"]:
        lines += pitfall_section(results)
    if "paper" in meta["experiments"]:
        lines += paper_section(results, made["paper"])
    return "\n".join(lines + settings_section(results)) + "\n"
