"""`bn-mnist explain --quick` on real MNIST as the installed script (what CI runs), every output read back: results.json
fields against the run files, the report's sections, the figures as images, the TensorBoard logs."""

from __future__ import annotations

import json
import subprocess

import matplotlib.image
import numpy as np
import pytest
import tb_events

from bn_mnist.core import runfiles
from bn_mnist.core.tensorboard import tags
from bn_mnist.lab.study import choose
from bn_mnist.lab.verdicts import INCONCLUSIVE, NOT_SUPPORTED, PARTLY, SUPPORTED, UNDECIDED
from bn_mnist.studies.explain import STUDIES, common, inside
from bn_mnist.studies.explain import study as explain_study

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def quick(real_mnist, bn_mnist_script, tmp_path_factory):
    out = tmp_path_factory.mktemp("explain") / "quick"
    done = subprocess.run(
        [bn_mnist_script, "explain", "--quick", "--out", str(out)], capture_output=True, text=True, timeout=1800
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return out, done, json.loads((out / "results.json").read_text())


def test_every_study_has_its_figure_report_section_and_numbers(quick):
    out, done, results = quick
    assert results["meta"]["studies"] == list(STUDIES) and results["meta"]["quick"] is True
    assert results["meta"]["seeds"] == {"fc": 2, "conv": 2, "batch": 2, "plain": 2}
    planned = explain_study.plan(STUDIES, choose(common.BUDGETS, None, quick=True)).specs()
    assert results["meta"]["runs"] == len(planned) and results["meta"]["runs_reused"] == 0
    assert all(list((out / spec.key).glob("events.out.tfevents.*")) for spec in planned)  # TensorBoard logs per run
    report = (out / "report.md").read_text()
    assert report.startswith("# Why does BN help? (quick run)")
    for heading in (
        "Learning-rate range",
        "Initialisation scale",
        "Inside the network",
        "Loss landscape",
        "Internal covariate shift",
        "Batch size",
        "The deep plain net without BN",
    ):
        assert f"## {heading}" in report
    verdicts = results["verdicts"]  # every study but the inside one tests a claim; the inside one answers a question
    assert set(verdicts) == {*STUDIES, "batch_independent", "noisy"} and set(verdicts["inside"]) == {"conv", "fc"}
    for study in set(verdicts) - {"inside"}:
        verdict = verdicts[study]
        assert verdict["word"] in (SUPPORTED, PARTLY, NOT_SUPPORTED, INCONCLUSIVE)
        assert f"Claim tested: {verdict['claim']}: **{verdict['word']}** here" in report, study
    for net, answer in verdicts["inside"].items():
        assert inside.INSIDE_CAUSES[answer["cause"]].split("{")[0] in report, net
    assert "why does the 19-layer conv net without BN not learn in 800 batches?" in report
    for study, name in results["figures"].items():
        assert f"]({name})" in report and str(out / name) in done.stdout
        image = matplotlib.image.imread(out / name)
        assert image.shape[0] > 300 and image.shape[1] > 600 and np.std(image) > 0.05, study
    root = tb_events.tensors(out, "images")
    assert set(root) == {f"plots/{study}" for study in STUDIES}


def test_grid_numbers_are_the_runs_numbers(quick):
    out, _, results = quick
    panel = results["studies"]["lr"]["panels"]["fc-relu"]
    for arm, found in panel["arms"].items():
        for value, point in zip(panel["values"], found["points"]):
            key = f"lr/fc-relu/learning_rate{value:g}/{arm}"
            finals = [runfiles.RunSummary.read(out / f"{key}-seed{s}").final_val_accuracy for s in range(2)]
            assert point["seeds"] == finals
            assert point["trains"]["k"] == sum(v >= common.REACH for v in finals)
            assert point["val_accuracy"]["mean"] == pytest.approx(np.mean(finals))
        usable = [v for v, p in zip(panel["values"], found["points"]) if p["trains"]["k"] == 2]  # 2 seeds: both
        assert found["usable"]["values"] == usable
    for arm, stable in panel["largest_stable"].items():  # up to each seed's first divergence
        for seed in range(2):
            runs = [out / f"lr/fc-relu/learning_rate{value:g}/{arm}-seed{seed}" for value in panel["values"]]
            diverged = [runfiles.RunSummary.read(run).diverged_at_step is not None for run in runs]
            first = diverged.index(True) if True in diverged else len(diverged)
            assert stable[seed] == ([None, *panel["values"]])[first]
    for i, advantage in enumerate(panel["advantage"]):  # BN minus no BN, seed by seed
        bn, no_bn = (panel["arms"][arm]["points"][i]["seeds"] for arm in ("bn", "no_bn"))
        assert advantage["mean"] == pytest.approx(np.mean(np.subtract(bn, no_bn)))
    # the sweep really changed the learning rate: at 10 nothing trains; at 0.1 BN does in every seed
    assert all(found["points"][-1]["trains"]["k"] == 0 for found in panel["arms"].values())
    assert panel["arms"]["bn"]["points"][panel["values"].index(0.1)]["trains"]["k"] == 2


def test_inside_numbers_come_from_the_logged_layers(quick):
    out, _, results = quick
    conv = results["studies"]["inside"]["conv"]
    assert list(conv["no_bn"]["start"][tags.ACTIVATION_STD]) == [f"conv{i:02d}" for i in range(1, 20)] + [
        "dense20",
        "logits",
    ]
    first = runfiles.read_metrics(out / "inside/conv/no_bn-seed1")[0]
    assert first["step"] == 0
    assert conv["no_bn"]["start"][tags.DEAD_RELU]["conv19"]["max"] >= first[tags.per_layer(tags.DEAD_RELU, "conv19")]
    # the vanishing signal the report names: without BN the 19th layer's output is orders of magnitude below the 1st's
    std = conv["no_bn"]["start"][tags.ACTIVATION_STD]
    assert std["conv19"]["mean"] < 1e-3 * std["conv01"]["mean"]
    assert conv["bn"]["start"][tags.ACTIVATION_STD]["conv19"]["mean"] > 0.1
    histograms = tb_events.tensors(out / "inside/conv/bn-seed0", "histograms")
    assert "preactivation/conv19" in histograms


def test_landscape_and_covariate_shift_numbers(quick):
    out, _, results = quick
    landscape, ics = results["studies"]["landscape"], results["studies"]["ics"]
    beta = tags.landscape_tag(tags.HELD_OUT, tags.BETA)
    curve = landscape["paired"][beta]["bn"]["curve"]
    logged = runfiles.series(runfiles.read_metrics(out / "smoothness/bn-seed0"), beta)
    assert curve["step"] == logged[0] and len(curve["step"]) == common.QUICK.evaluations + 1
    assert curve["value"][-1]["min"] <= logged[1][-1] <= curve["value"][-1]["max"]
    for tag, found in landscape["paired"].items():  # BN's median minus no BN's, in decades, seed by seed
        medians = [
            [
                np.median(runfiles.series(runfiles.read_metrics(out / f"smoothness/{arm}-seed{s}"), tag)[1][1:])
                for s in (0, 1)
            ]
            for arm in ("bn", "no_bn")
        ]
        assert found["decades"]["mean"] == pytest.approx(np.mean(np.log10(medians[0]) - np.log10(medians[1]))), tag
    assert ics["layers"] == ["dense01", "dense02", "dense03", "logits"]
    for arm in ("bn", "no_bn"):  # nothing before the first layer: no shift, by definition
        assert ics[tags.ICS_L2]["dense01"][arm]["max"] == 0.0
        assert ics[tags.ICS_COSINE]["dense01"][arm]["min"] == pytest.approx(1.0)
        assert ics[tags.ICS_L2]["logits"][arm]["min"] > 0
    noisy = ics["noisy"]  # BN with noise after it: its own runs, against the BN ones of the same seeds
    finals = [runfiles.RunSummary.read(out / f"smoothness/noisy_bn-seed{s}").final_val_accuracy for s in (0, 1)]
    assert noisy["outcomes"]["seeds"] == finals and set(noisy["l2"]) == set(ics["layers"])
    bn = [runfiles.RunSummary.read(out / f"smoothness/bn-seed{s}").final_val_accuracy for s in (0, 1)]
    assert noisy["behind_bn"]["mean"] == pytest.approx(np.mean(np.subtract(bn, finals)))
    events = tb_events.accumulator(out / "smoothness/no_bn-seed1")
    assert len(events.Tensors(beta)) == common.QUICK.evaluations + 1


def test_batch_study_sees_the_same_examples_at_every_size(quick):
    out, _, results = quick
    batch = results["studies"]["batch"]
    for size in batch["sizes"]:
        summary = runfiles.RunSummary.read(out / f"batch/b{size}/renorm-seed0")
        assert summary.steps * size == batch["examples"]
    variants = {"bessel", "renorm", "renorm_warmup"}
    assert set(batch["arms"]) == set(batch["drop"]) == {"bn", "no_bn", "group", "layer", *variants}
    for arm, points in batch["arms"].items():  # the paired drop is the seeds' own: largest batch minus smallest
        differences = np.subtract(points[-1]["seeds"], points[0]["seeds"])
        assert batch["drop"][arm]["mean"] == pytest.approx(differences.mean()) and batch["drop"][arm]["n"] == 2
        train = [runfiles.RunSummary.read(out / f"batch/b{batch['sizes'][0]}/{arm}-seed{s}") for s in range(2)]
        assert points[0]["train_accuracy"]["mean"] == pytest.approx(np.mean([r.final_train_accuracy for r in train]))
    assert set(batch["excess_drop"]) == {"bn", "group", "layer", *variants}  # each against no normalization
    excess = batch["excess_drop"]["bn"]["mean"]
    assert excess == pytest.approx(batch["drop"]["bn"]["mean"] - batch["drop"]["no_bn"]["mean"])
    assert set(batch["reduction"]) == variants  # each against BN
    reduction = batch["reduction"]["renorm_warmup"]["mean"]
    assert reduction == pytest.approx(batch["drop"]["bn"]["mean"] - batch["drop"]["renorm_warmup"]["mean"])


def test_plain_net_study_reads_its_runs(quick):
    out, _, results = quick
    plain = results["studies"]["plain"]
    assert list(plain["arms"]) == ["bn", "no_bn", "he", "lsuv", "selu"] and set(plain["behind_bn"]) == {
        "no_bn",
        "he",
        "lsuv",
        "selu",
    }
    for arm, found in plain["arms"].items():
        finals = [runfiles.RunSummary.read(out / f"plain/{arm}-seed{s}").final_val_accuracy for s in range(2)]
        assert found["seeds"] == finals
    parts = results["verdicts"]["plain"]["parts"]
    assert set(parts) == set(plain["arms"]) and set(parts.values()) == {UNDECIDED}  # 2 seeds decide nothing
