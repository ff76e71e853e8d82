"""report.md, rendered from the typed results alone (`reproduce.rebuild` makes it again from results.json); it
judges nothing: every verdict is in the results."""

from __future__ import annotations

import dataclasses

from bn_mnist.lab import stats
from bn_mnist.lab.arms import BN, BN_KERAS, BN_NN, ROUNDOFF
from bn_mnist.lab.text import code_lines, interval, number, per_seed, seeds_text, spread_text
from bn_mnist.reproduction.experiments import (
    BAD_INIT_STD,
    BATCH,
    DRIFT_WINDOW,
    LESSON,
    LESSON_ARMS,
    PAPER_SETTING,
    PITFALL_IMAGES,
    PITFALL_ROW,
    UNIT,
    conv_config,
    lesson_config,
    lesson_scope,
    lesson_settings,
)
from bn_mnist.reproduction.fields import (
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
from bn_mnist.reproduction.results import JudgedRemark, Results

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


def opening(results: Results) -> list[str]:
    """The few sentences a reader wants first: typical, lucky, not reproduced, and the round-off spread."""
    numbers, remarks = results.numbers, results.remarks

    def named(word: str) -> str:
        found = [f"{n.source}: {n.what} {number(n.published)}" for n in numbers if n.verdict == word]
        return "; ".join(found) if found else "none"

    counts = results.counts
    typical = counts["numbers"][stats.TYPICAL]
    experiments = len(results.records)
    lines = [
        f"{experiments} experiments (distinct settings; repeated rows and every claim about the same runs share "
        f"them) in {results.meta.runs} runs. "
        f"Of {len(numbers)} published numbers, **{typical} are typical** of what this tool gets (inside our 90% "
        "prediction interval for one run). "
        f"**Lucky** (better than we expect of one run, within our range): {named(stats.LUCKY)}. "
        f"**Unlucky**: {named(stats.UNLUCKY)}. **Not reproduced** (outside our range): {named(stats.NOT_REPRODUCED)}.",
        "",
        remarks_sentence(remarks, counts["remarks"]),
        "",
    ]
    return lines + roundoff_sentence(results)


def remarks_sentence(remarks: list[JudgedRemark], counts: dict[str, int]) -> str:
    """How many remarks hold for every, most, some and no seeds, naming those that do not hold for most."""
    shares = {
        stats.ALWAYS: "every seed",
        stats.USUALLY: "most seeds",
        stats.SOMETIMES: "some seeds (at most half)",
        stats.NEVER: "no seed",
    }
    held = ", ".join(f"{counts[word]} hold for {share}" for word, share in shares.items())
    rare = [f"{r.source}: {r.rule} ({r.k}/{r.n})" for r in remarks if r.verdict in (stats.SOMETIMES, stats.NEVER)]
    return (
        f"Of {len(remarks)} remarks of the text (and published runs that did not learn), {held}. "
        f"**Rarely or never here**: {'; '.join(rare) or 'none'}."
    )


def roundoff_sentence(results: Results) -> list[str]:
    records = [r for r in results.records.get("conv", []) if key(ROUNDOFF.key, VAL) in r]
    if not records:
        return []
    pairs = [(r[key(BN_KERAS.key, VAL)], r[key(ROUNDOFF.key, VAL)]) for r in records]
    shown = "; ".join(f"seed {r['seed']}: {number(a)} vs {number(b)}" for r, (a, b) in zip(records, pairs))
    mean_change = sum(abs(a - b) for a, b in pairs) / len(pairs)
    return [
        "**One run is a sample.** Round-off alone moves a run: the Keras BN conv run of the same seed, trained with "
        f"2 threads instead of 1, ends at another final validation accuracy ({shown}; mean |difference| "
        f"{number(mean_change)}). Another thread count or CPU gives another sample from the same distribution; only "
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
    for n in results.numbers:
        last = [k for k in n.values if k.endswith(VAL_LAST)]  # final validation claims carry it
        last_text = spread_text(results.statistics[n.scope][last[0]]) if last else "-"
        note = f" ({n.note})" if n.note else ""
        ours = stats.Spread(n.n, n.mean, n.sd, n.min, n.max)
        lines.append(
            f"| {n.source} | {n.what} {number(n.published)}{note} | {spread_text(ours)} | {interval(n.interval)} "
            f"| {n.percentile:.0f} | **{n.verdict}** | {last_text} |"
        )
    return [*lines, ""]


def remarks_section(results: Results) -> list[str]:
    lines = [
        "## Remarks of the text over our seeds",
        "",
        "| source | the tutorial | our check | seeds with it (95% Wilson) | verdict | ours, per seed |",
        "|---|---|---|---|---|---|",
    ]
    for r in results.remarks:
        values = "; ".join(f"{k}: {per_seed(v)}" for k, v in r.values.items())
        low, high = r.wilson_95
        lines.append(
            f"| {r.source} | {r.said} | {r.rule} | {r.k}/{r.n} ({low:.2f}..{high:.2f}) | **{r.verdict}** | {values} |"
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
        scope = lesson_scope(setting)
        rows = [r for r in LESSON if r.setting == setting]
        for arm in LESSON_ARMS:
            net, records, found = arm.key, results.records[scope], results.statistics[scope]
            diverged = [r[key(net, DIVERGED)] for r in records if r[key(net, DIVERGED)] is not None]
            lead = f"| {', '.join(str(r.row) for r in rows)} | {row.title} |" if arm == LESSON_ARMS[0] else "| | |"
            lines.append(
                f"{lead} {arm.label} | {' / '.join(f'{r.published(arm)[0]:.4f}' for r in rows)} | "
                f"{spread_text(found[key(net, VAL)])} | {per_seed(r[key(net, REACH80)] for r in records)} | "
                f"{per_seed(r[key(net, REACH90)] for r in records)} | {len(diverged)} |"
            )
    lines += ["", f"![all settings]({made['lesson-overview']})", ""]
    for setting, row in lesson_settings().items():
        lines += [f"### {row.title}", "", f"![{setting}]({made[f'lesson-{setting}']})", ""]
    return lines


def pitfall_section(results: Results) -> list[str]:
    records = results.records["pitfall"]
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
    found, records = results.statistics["paper"], results.records["paper"]
    rate = PAPER_SETTING["train"]["learning_rate"]
    return [
        "## The BN paper's MNIST figure",
        "",
        "Source: S. Ioffe and C. Szegedy, *Batch Normalization: Accelerating Deep Network Training by Reducing "
        "Internal Covariate Shift*, ICML 2015 (arXiv:1502.03167), Figure 1 (a)-(c): a 3x100 sigmoid net on 28x28 "
        "binary images, 50,000 steps of 60 examples. The paper gives no learning rate: we use SGD with "
        f"{rate:g}, with which the baseline learns as the paper's curve shows (the Lesson's 0.01 leaves it below "
        "0.85). (a) test accuracy at every evaluation; (b, c) the 15th, 50th and 85th percentiles of the input to "
        f"unit {UNIT} of the last hidden layer's sigmoid, on the first {BATCH:,} validation images "
        "(inference mode), for seed 0.",
        "",
        f"![paper]({figure})",
        "",
        "| | final test accuracy | first step with test accuracy >= 90%, per seed | drift (median over units) |",
        "|---|---|---|---|",
        *(
            f"| {arm.label} | {spread_text(found[key(arm.key, TEST)])} | "
            f"{per_seed(r[key(arm.key, REACH90_TEST)] for r in records)} | {spread_text(found[key(arm.key, DRIFT)])} |"
            for arm in LESSON_ARMS
        ),
        "",
        f"Drift: for each of the layer's 100 units, the mean over the three percentiles of |mean of the last "
        f"{DRIFT_WINDOW} evaluations - mean of the first {DRIFT_WINDOW} after step 0|; then the "
        "median over the units. Window means, because a single value's evaluation-to-evaluation jitter is not the "
        "shift the paper shows. (A first version used max - min of one unit; it came first and was replaced for "
        "that reason; it is not reported.)",
        "",
    ]


def settings_section(results: Results) -> list[str]:
    meta = results.meta
    lesson = lesson_config(LESSON[0], BN, 0, meta.budget())
    steps = f"{meta.quick_lesson_steps:,} (--quick)" if meta.quick else "50,000"
    execution = dataclasses.asdict(meta.execution) if meta.execution else {}
    threads = execution.get("intra_op_threads", "?")
    return [
        "## Settings",
        "",
        f"- Seeds: {', '.join(f'{n} for the {kind} runs' for kind, n in meta.seeds.items())} (kinds: conv = the "
        "Solutions' 800-step conv runs; short = the Lesson's 2,000-step rows and the pitfall; long = the "
        "50,000-step runs and the paper's).",
        f"- Lesson: 784-100-100-100-10, {lesson.train.optimizer.upper()}, batch {lesson.train.batch_size}, "
        f"softmax cross-entropy, weights normal with std {lesson.model.init_std} (good) or {BAD_INIT_STD} (bad), "
        f"BN momentum {lesson.bn.momentum} and epsilon {lesson.bn.epsilon}; {steps} batches (2,000 in the short "
        "rows), validation on all 5,000 validation images every 1/100 of the run (every 50 in the short rows). "
        "Both networks of a seed start from the same weights and see the same batches.",
        solutions_line(),
        f"- Execution: every run with {threads} thread(s) in worker processes (summary.json `execution` of each "
        f"run): {', '.join(f'{k} {v}' for k, v in execution.items())}.",
        "- Every run's config.yaml, TensorBoard events, metrics.jsonl, summary.json, model.keras and train.log are "
        "under the output directory (`tensorboard --logdir <out>`).",
        *code_lines(meta.code, meta.other_code_runs),
        "",
    ]


def solutions_line() -> str:
    """The Solutions runs' settings, from their configs."""
    keras_net, nn_net = conv_config(BN_KERAS, 0), conv_config(BN_NN, 0)
    train = keras_net.train
    return (
        f"- Solutions: 19 conv layers + dense 100 + 10, {train.optimizer.capitalize()} {train.learning_rate:g}, "
        f"{train.loss.replace('_', ' ').replace('cross entropy', 'cross-entropy')}, {train.steps} batches of "
        f"{train.batch_size}, validation every {train.eval_every} batches; the tf.nn run uses "
        f"{nn_net.model.weight_init.replace('_', '-')} (std {nn_net.model.init_std:g}) conv kernels and Glorot "
        "dense layers, as the Solutions' low-level code did."
    )


def markdown(results: Results) -> str:
    meta, made = results.meta, results.figures
    quick = (
        [
            f"> **--quick run**: {seeds_text(meta.seeds)}, and the 50,000-batch runs ran "
            f"{meta.quick_lesson_steps:,} batches. Its verdicts say nothing about the tutorial.",
            "",
        ]
        if meta.quick and meta.quick_lesson_steps
        else []
    )
    versions = ", ".join(f"{name} {version}" for name, version in meta.software.items())
    lines = [
        f"# Does bn-mnist reproduce the tutorial?{' (quick run)' if meta.quick else ''}",
        "",
        *quick,
        *opening(results),
        f"Made by `{meta.command}`: {meta.runs} runs; {meta.train_seconds / 60:.0f} min of training "
        f"summed over runs; this command took {meta.wall_seconds / 60:.1f} min of wall time (runs already in "
        "its directory were reused; the report covers every experiment complete there).",
        "",
        f"Software: {versions}.",
        "",
        *VOCABULARY,
        "",
        *numbers_section(results),
        *remarks_section(results),
    ]
    if "conv" in meta.experiments:
        lines += ["## Solutions: the 19-layer conv net", "", f"![conv]({made['conv']})", ""]
    if "lesson" in meta.experiments:
        lines += lesson_section(results, made)
    if "pitfall" in meta.experiments:
        lines += pitfall_section(results)
    if "paper" in meta.experiments:
        lines += paper_section(results, made["paper"])
    return "\n".join(lines + settings_section(results)) + "\n"
