"""`bn-mnist reproduce all --quick` (one seed) on real MNIST, as the installed script: interrupted with Ctrl-C, resumed,
then every output read back and every verdict checked against the numbers it was judged on."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import signal
import subprocess

import matplotlib.image
import numpy as np
import pytest
import tb_events
from click.testing import CliRunner
from matplotlib.figure import Figure

from bn_mnist.cli import main
from bn_mnist.core import runfiles
from bn_mnist.core.errors import ResultsError
from bn_mnist.core.tensorboard import tags
from bn_mnist.lab.study import choose
from bn_mnist.studies.reproduce import EXPERIMENTS, experiments
from bn_mnist.studies.reproduce.experiments import BUDGETS, plan
from bn_mnist.studies.reproduce.results import Results


@pytest.fixture(scope="module")
def quick(real_mnist, bn_mnist_script, tmp_path_factory):
    """(out dir, the interrupted attempt, the resumed one): Ctrl-C once two runs are finished, then rerun."""
    out = tmp_path_factory.mktemp("reproduce") / "quick"
    command = [bn_mnist_script, "reproduce", "all", "--quick", "--out", str(out)]  # --quick: one seed
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )  # its own process group: Ctrl-C reaches the workers too
    seen = []
    for line in process.stderr:
        seen.append(line)
        if line.startswith("[2/"):
            os.killpg(process.pid, signal.SIGINT)
            break
    _, rest = process.communicate(timeout=600)
    interrupted = (process.returncode, "".join(seen) + rest)
    resumed = subprocess.run(command, capture_output=True, text=True, timeout=1800, check=False)
    return out, interrupted, resumed


def test_ctrl_c_stops_with_one_line_and_the_rerun_resumes(quick):
    _out, (code, stderr), resumed = quick
    assert code == 130, stderr
    last = stderr.strip().splitlines()[-1]
    assert re.fullmatch(
        r"bn-mnist: interrupted: \d+ of 37 runs are finished in (.*); run the same command with --out \1 to resume",
        last,
    ), last
    assert resumed.returncode == 0, resumed.stderr
    reused = int(re.search(r"(\d+) of 37 runs already finished", resumed.stderr).group(1))
    assert reused >= 2
    line = r"\d+ published outcomes: .*; \d+ published numbers: .*; \d+ remarks: .* \(--quick run\); report: "
    assert re.search(line, resumed.stdout), resumed.stdout


def run_dir_of(out, scope: str, network: str, seed: int):
    """Where the run behind a record field lives, worked out from the directory layout alone (the pitfall's two
    trainings: row 2's BN run, and a run of seed 10,000 + seed under pitfall/)."""
    if network == "population_run":
        return out / "lesson" / "good-lr0.01-relu-2k" / f"bn-seed{seed}"
    if network == "batch_run":
        return out / "pitfall" / f"bn-seed{10_000 + seed}"
    return out / scope / f"{network}-seed{seed}"


SUMMARY_FIELDS = {"val": "final_val_accuracy", "test": "final_test_accuracy"}


def test_final_accuracy_claims_read_the_run_files(quick):
    """Each outcome and number on a final accuracy: the values it judged are the runs' own summary.json values,
    and an outcome's published run learned exactly when its published value is above 0.15."""
    out = quick[0]
    results = json.loads((out / "results.json").read_text())
    assert results["meta"]["quick"] is True and results["meta"]["experiments"] == list(EXPERIMENTS)
    checked = 0
    for claim in results["outcomes"] + results["numbers"]:
        network, _, field = claim["key"].partition(".")
        if field not in SUMMARY_FIELDS or claim["scope"] == "paper":
            continue
        for seed, value in enumerate(claim["values"]):
            on_disk = json.loads((run_dir_of(out, claim["scope"], network, seed) / runfiles.SUMMARY_FILE).read_text())
            assert value == on_disk[SUMMARY_FIELDS[field]]
        if "learned" in claim:
            assert claim["learned"] == (claim["published"] > 0.15)
        assert claim["test"]["verdict"] == "TOO FEW"  # one seed: nothing can be flagged
        checked += 1
    assert checked >= 3 + 36 + 2  # an outcome per published run: 3 conv, 36 Lesson, 2 pitfall trainings


def test_each_remark_counts_its_per_seed_outcomes(quick):
    """One seed: k is whether the remark holds, and no verdict but TOO FEW is possible."""
    for remark in json.loads((quick[0] / "results.json").read_text())["remarks"]:
        assert (remark["test"]["k"], remark["test"]["n"]) == (int(remark["holds"] == [True]), 1)
        assert remark["test"]["verdict"] == "TOO FEW"


def remark(results, scope, text):
    return next(r for r in results["remarks"] if r["scope"] == scope and text in r["rule"])


def test_robust_claims_hold_even_in_a_quick_run(quick):
    """Claims that do not depend on the 50,000-batch length, checked against the raw run files."""
    out = quick[0]
    results = json.loads((out / "results.json").read_text())
    no_bn = runfiles.series(runfiles.read_metrics(out / "conv" / "no_bn-seed0"), runfiles.VAL_ACCURACY)[1]
    assert max(no_bn) < 0.15 and remark(results, "conv", "no BN: final validation and test")["holds"] == [True]
    pitfall = results["records"]["pitfall"][0]
    assert pitfall["single_batch_stats"] <= 0.15 < 0.9 <= pitfall["single_population"]
    assert remark(results, "pitfall", "one class for all")["holds"] == [True]
    row8 = runfiles.read_metrics(out / "lesson" / "good-lr2-relu" / "no_bn-seed0")
    assert max(runfiles.series(row8, runfiles.VAL_ACCURACY)[1]) <= 0.15
    assert remark(results, "lesson/good-lr2-relu", "no BN never above 0.15")["holds"] == [True]


def test_the_results_render_for_a_notebook_and_rebuild_from_results_alone(quick, tmp_path):
    """As a notebook shows them, and `bn-mnist report` on a copy holding only results.json: report.md byte for byte."""
    out = quick[0]
    results = Results.from_dict(json.loads((out / "results.json").read_text()))
    shown = results._repr_markdown_()
    assert shown.startswith("# ") and "| " in shown and "![" not in shown
    paper = results.figure("paper")
    assert isinstance(paper, Figure) and len(paper.axes) == 3
    with pytest.raises(ResultsError, match="no figure 'nope' in these results; they have: conv, "):
        results.figure("nope")
    copy = tmp_path / "copy"
    copy.mkdir()
    shutil.copy(out / "results.json", copy)
    assert CliRunner().invoke(main, ["report", str(copy)]).exit_code == 0
    assert (copy / "report.md").read_text() == (out / "report.md").read_text()


def test_report_figures_and_event_files(quick):
    out = quick[0]
    results = json.loads((out / "results.json").read_text())
    report = (out / "report.md").read_text()
    assert report.startswith("# Does bn-mnist reproduce the tutorial? (quick run)") and "--quick run" in report
    assert len(results["figures"]) == 1 + 15 + 1 + 1  # conv, one per Lesson setting, overview, paper
    for name in results["figures"].values():
        assert f"]({name})" in report
        image = matplotlib.image.imread(out / name)
        assert image.shape[0] > 300 and image.shape[1] > 600 and np.std(image) > 0.05
    for spec in plan(EXPERIMENTS, choose(BUDGETS, None, quick=True)).specs():
        assert list((out / spec.key).glob("events.out.tfevents.*")), spec.key
    events = tb_events.accumulator(out / "paper" / "bn-seed0")
    median = events.Tensors(tags.percentile_tag(50))
    assert len(median) == len(results["curves"]["paper/bn-seed0"]["val"]["step"]) == 101
    assert len(events.Tensors(tags.DRIFT)) == 101 - 2 * experiments.DRIFT_WINDOW  # once two windows exist


def test_tensorboard_at_the_root_has_every_figure_and_every_row_as_a_setting(quick):
    out = quick[0]
    results = json.loads((out / "results.json").read_text())
    root_images = tb_events.tensors(out, "images")
    assert set(root_images) == {f"plots/{name}" for name in results["figures"]}
    for name, file in results["figures"].items():
        _, _, png = root_images[f"plots/{name}"][0]
        assert matplotlib.image.imread(io.BytesIO(png)).shape == matplotlib.image.imread(out / file).shape
    names = {spec.config.name for spec in plan(EXPERIMENTS, choose(BUDGETS, None, quick=True)).specs()}
    domains = tb_events.domains(out)
    assert set(domains["name"]) == names and domains["learning_rate"] == [0.002, 0.01, 0.1, 1.0, 2.0]
    assert tb_events.session(out / "lesson" / "bad-lr1-sigmoid" / "bn-seed0")["init_std"] == 5.0


def test_a_full_run_into_the_quick_directory_is_refused(quick):
    """Through click's runner: the Lesson's full runs differ from the quick ones, so nothing is mixed."""
    out = quick[0]
    before = sorted(p.name for p in (out / "lesson").iterdir())
    result = CliRunner().invoke(main, ["reproduce", "lesson", "--seeds", "1", "--out", str(out)])
    assert result.exit_code == 1
    assert re.search(
        r"bn-mnist: .* holds a run of another config \(train.steps: 50000 here, 5000 there\): use "
        r"another --out",
        result.output,
    ), result.output
    assert sorted(p.name for p in (out / "lesson").iterdir()) == before


def test_one_experiment_rerun_reports_every_complete_one(quick):
    """Last in this file: it rewrites report.md. Every run is reused, and nothing finished drops out of the report."""
    out = quick[0]
    result = CliRunner().invoke(main, ["reproduce", "pitfall", "--quick", "--seeds", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "2 of 2 runs already finished" in result.output
    results = json.loads((out / "results.json").read_text())
    assert results["meta"]["experiments"] == list(EXPERIMENTS) and results["meta"]["runs"] == 37
    assert results["meta"]["command"].startswith("bn-mnist reproduce pitfall --seeds 1")
