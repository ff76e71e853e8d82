"""report.md, rendered from the typed results alone (`reproduce.rebuild` makes it again from results.json); it
judges nothing: every verdict is in the results."""

from __future__ import annotations

import dataclasses

from bn_mnist.lab.arms import BN, BN_KERAS, BN_NN, ROUNDOFF
from bn_mnist.lab.study import rules_changed_lines
from bn_mnist.lab.text import code_lines, files_text, number, per_seed, seeds_text, spread_text
from bn_mnist.studies.reproduce import ranktests, rules
from bn_mnist.studies.reproduce.claims import unjudged_figure_steps
from bn_mnist.studies.reproduce.experiments import (
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
from bn_mnist.studies.reproduce.fields import (
    DIVERGED,
    DRIFT,
    REACH80,
    REACH90,
    REACH90_TEST,
    SINGLE_BATCH_STATS_CLASS,
    TEST,
    VAL,
    key,
)
from bn_mnist.studies.reproduce.ranktests import ValueTest
from bn_mnist.studies.reproduce.results import Results


def across_sentences(results: Results) -> list[str]:
    """The report's opening: the calibration and shift tests over the independent published runs."""
    across = results.across
    if across is None:
        return []
    calibration, shift = across.calibration, across.shift
    if shift.word in (ranktests.SITS_HIGH, ranktests.SITS_LOW):
        sit = f"**sit {shift.word} in our distribution**"
    else:
        sit = "are not shown to sit high or low in our distribution"
    extreme = calibration.word
    return [
        f"**Across the tutorial.** Of its {calibration.runs} independent published runs (one number each: the "
        "final validation accuracy, every run that did not learn tied with ours that did not), "
        f"**{calibration.statistic:.0f} rank at an extreme** of our seeds (ties broken at random); if every "
        f"published run were one more draw of ours, {calibration.expected:.1f} would: {extreme} (calibration test, "
        f"one-sided p = {p_text(calibration.p)}). Their ranks {sit}: mean rank/n - 1/2 = "
        f"{shift.statistic:+.3f}, where the null gives 0 (shift test, two-sided p = {p_text(shift.p)}).",
        "",
        counts_sentence(results),
        "",
    ]


def p_text(p: float) -> str:
    return f"{p:.3f}" if p >= 0.001 else "< 0.001"


def counts_text(counts: dict[str, dict[str, int]], published: bool = False) -> str:
    """How many claims of each kind got each verdict (`published`: "published outcomes", as the console says)."""
    parts = []
    for kind, words in counts.items():
        said = ", ".join(f"{n} {word}" for word, n in words.items() if n) or "none"
        name = f"published {kind}" if published and kind != "remarks" else kind
        parts.append(f"{sum(words.values())} {name}: {said}")
    return "; ".join(parts)


def counts_sentence(results: Results) -> str:
    across = results.across
    flagged = [f"{o.source}: {o.what}" for o in results.outcomes if o.verdict in ranktests.FLAGS]
    flagged += [f"{n.source}: {n.what}" for n in results.numbers if n.verdict in ranktests.FLAGS]
    flagged += [f"{r.source}: {r.rule}" for r in results.remarks if r.verdict in ranktests.FLAGS]
    claims = len(results.outcomes) + len(results.numbers) + len(results.remarks)
    line = (
        f"Per claim: {counts_text(results.counts)}. **Flagged**: {'; '.join(flagged) or 'none'}. At "
        f"{seeds_text(results.meta.seeds)}, each test flags a run like ours with probability at most "
        f"{ranktests.ALPHA:g}, so about one flag in ten is expected by chance alone."
    )
    if across is None:
        return line
    return (
        f"{line} After Benjamini-Hochberg across all {claims} p-values (false discovery rate {ranktests.FDR:g}), "
        f"**{across.discoveries} remain**; with these seeds no claim can be a discovery unless at least "
        f"{across.discoveries_need} claims reach the smallest p a claim can have, so the report-wide tests above, "
        "not single flags, carry the verdict on the tutorial."
    )


def method_section(results: Results) -> list[str]:
    """How the verdicts are made, from the definitions the code applies (ranktests.WORDS, rules.definitions)."""
    lines = [
        "## How the verdicts are made",
        "",
        "Each published number is one run of the tutorial's notebook: a sample, like each of ours. If it is one more "
        "draw from the distribution our seeds sample, its rank among our n seeds is uniform on 0..n, whatever the "
        "distribution's shape (bounded near 1, skewed, split between learning and not, tied). Every test below uses "
        "only that rank: a conformal p-value, valid without a normal model; at n = 20 and level "
        f"{ranktests.ALPHA:g} (two-sided) it flags a value above or below all of ours. A published run's outcome "
        f"(learned: final validation accuracy > {ranktests.FAILED}) is tested apart, against how many of our seeds "
        "share it; a value of a run that learned is set among our runs that learned. Numbers are compared after "
        f"rounding to {ranktests.DECIMALS} decimals, the published precision; a threshold never reached counts as "
        "later than any step.",
        "",
        *(f"- **{word}**: {meaning}" for word, meaning in ranktests.WORDS.items()),
        "",
        f"**Detectable shift**: the shift (in our SDs, up / down) of a run otherwise like ours that the value test "
        f"flags with probability {ranktests.POWER:g}, computed with our values smoothed by a normal kernel "
        f"(Silverman's bandwidth). A CONSISTENT value can still be off by less than that. **Adjusted p**: "
        f"Benjamini-Hochberg across every p-value of the report. **Across the tutorial**: the calibration test counts "
        "the independent published runs in the flagged tails against the Poisson-binomial count the null gives; the "
        "shift test asks whether their ranks sit high or low on average (ties broken at random, from seed "
        f"{ranktests.TIE_SEED}).",
        "",
        "The words of the text, as measured:",
        "",
        *rules.definitions(),
        "",
    ]
    if results.null_rates:
        lines += [
            "**The method under the null, by simulation**: our n seeds and the published run drawn from one "
            "distribution shaped like ours; how often a test flags it (nominal: at most "
            f"{ranktests.ALPHA:g}).",
            "",
            "| distribution | test | seeds | trials | trials it applied to | flag rate ± Monte-Carlo SE |",
            "|---|---|---:|---:|---:|---|",
            *(
                f"| {r.shape} | {r.test} | {r.seeds} | {r.trials:,} | {r.applied:,} | {r.rate:.4f} ± {r.mc_se:.4f} |"
                for r in results.null_rates
            ),
            "",
            "The value test of a run that learned applies only where at least 19 of our seeds learned too: where 2 or "
            "more of 20 fail (the split shapes), such values are TOO FEW to judge.",
            "",
        ]
    reused = results.meta.other_code_runs
    provenance_line = (
        f"{len(reused)} runs of other code were reused (listed under Settings)."
        if reused
        else "Every run of this report was trained by the code version under Settings."
    )
    return [
        *lines,
        *rules_changed_lines(results.meta.rules_changed),
        f"The rules and the seed counts are in {files_text(results.meta.rules)}, part of the code version that "
        f"records them. {provenance_line} {rules.HISTORY}",
        "",
    ]


def shift_text(test: ValueTest) -> str:
    (up, down), (up_units, down_units) = test.shift_sd, test.shift
    if up is None or down is None or up_units is None or down_units is None:
        return "-"
    return f"+{up:.1f} / -{down:.1f} SD (+{number(up_units)} / -{number(down_units)})"


def outcomes_section(results: Results) -> list[str]:
    lines = [
        "## Published runs: did they learn?",
        "",
        "| source | published run | learned | ours with the same outcome | p | adjusted p | verdict |",
        "|---|---|---|---|---|---|---|",
    ]
    for o in results.outcomes:
        learned = ("yes" if o.learned else "no") if o.final else ("yes, by then" if o.learned else "not yet")
        unjudged = f" (not judged, a run that did not learn: {', '.join(o.unjudged)})" if o.unjudged else ""
        lines.append(
            f"| {o.source} | {o.what} {number(o.published)}{unjudged} | {learned} | {o.test.k}/{o.test.n} "
            f"| {o.test.p:.3f} | {o.adjusted_p:.3f} | **{o.verdict}** |"
        )
    return [
        *lines,
        "",
        f"A point a run printed before it learned (<= {ranktests.FAILED}: the share of whichever class a net that has "
        "not learned predicts) is judged as an outcome too: how many of ours had not learned by then.",
        "",
    ]


def numbers_section(results: Results) -> list[str]:
    lines = [
        "## Published numbers against our seeds",
        "",
        "Ours: mean ± SD (min..max), n, over the runs judged on (those that learned, for a value of a published "
        "run that learned).",
        "",
        "| source | published | ours | at or above / below | p | adjusted p | verdict | detectable shift |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for n in results.numbers:
        note = f" ({n.note})" if n.note else ""
        lines.append(
            f"| {n.source} | {n.what} {number(n.test.published)}{note} | {spread_text(n.ours)} | "
            f"{n.test.at_or_above} / {n.test.at_or_below} | {n.test.p:.3f} | {n.adjusted_p:.3f} | **{n.verdict}** | "
            f"{shift_text(n.test)} |"
        )
    return [*lines, ""]


def remarks_section(results: Results) -> list[str]:
    lines = [
        "## Remarks of the text over our seeds",
        "",
        "Quotes are the notebooks' words; a description of what a cell printed stands without quotation marks.",
        "",
        "| source | the tutorial | our check | seeds with it | p | adjusted p | verdict | ours, per seed |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results.remarks:
        values = "; ".join(f"{k}: {per_seed(v)}" for k, v in r.values.items())
        said = f'"{r.said}"' if r.verbatim else r.said
        note = f" ({r.note})" if r.note else ""
        lines.append(
            f"| {r.source} | {said}{note} | {r.rule} | {r.test.k}/{r.test.n} | {r.test.p:.3f} | {r.adjusted_p:.3f} "
            f"| **{r.verdict}** | {values} |"
        )
    return [*lines, ""]


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


def lesson_section(results: Results, made: dict[str, str]) -> list[str]:
    lines = [
        "## Lesson: the fully connected net, 15 settings (18 published rows)",
        "",
        "Ours over seeds: final validation accuracy mean ± SD (min..max); the first step with validation "
        "accuracy >= 80% and >= 90% per seed (- never); seeds whose loss diverged. Rows 4/5, 13/17 and 15/18 "
        "repeat a setting: one experiment, two published draws. Each figure below also draws the row's published "
        "curves, digitised from the notebook's figure (tools/digitise_lesson_figures.py; gaps: points hidden there by "
        "the other curve or the legend). A figure's step to 80% or 90% is judged where no hidden point could move "
        f"it; not judged for that reason: {', '.join(unjudged_figure_steps()) or 'none'}.",
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
        "As the Lesson's cells 71 and 73 did, two trainings per seed: one tested with batch statistics (training "
        f"mode), on all 10,000 test images in one batch and on the first {PITFALL_IMAGES} test images fed one at a "
        "time; the other (row 2's BN run of the same seed) tested with the moving averages (inference mode). The "
        "batch-statistics trainings use seeds 10,000 and up, so that no run is a Lesson run. Both print their "
        "validation accuracy with the moving averages, as every validation does. Verdicts are in the tables above. "
        "The constant class predicted from batch statistics, per seed: "
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
    versions = ", ".join(f"{name} {version}" for name, version in meta.software.items())
    lines = [f"# Does bn-mnist reproduce the tutorial?{' (quick run)' if meta.quick else ''}", ""]
    if meta.quick and meta.quick_lesson_steps:
        lines += [
            f"> **--quick run**: {seeds_text(meta.seeds)}, and the 50,000-batch runs ran "
            f"{meta.quick_lesson_steps:,} batches. Its verdicts say nothing about the tutorial.",
            "",
        ]
    lines += [
        *across_sentences(results),
        *roundoff_sentence(results),
        f"Made by `{meta.command}`: {meta.runs} runs; {meta.train_seconds / 60:.0f} min of training "
        f"summed over runs; this command took {meta.wall_seconds / 60:.1f} min of wall time (runs already in "
        "its directory were reused; the report covers every experiment complete there).",
        "",
        f"Software: {versions}.",
        "",
        *outcomes_section(results),
        *numbers_section(results),
        *remarks_section(results),
        *method_section(results),
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
