"""`bn-mnist pitfalls --quick` on real MNIST as the installed script, every output read back: results.json against
the run files, the report's sections, the figures as images, the rebuild from results.json alone, TensorBoard."""

from __future__ import annotations

import json
import shutil
import subprocess

import matplotlib.image
import numpy as np
import pytest
import tb_events
from click.testing import CliRunner

from bn_mnist.cli import main
from bn_mnist.core import runfiles
from bn_mnist.lab.runs import RunFiles
from bn_mnist.lab.study import choose
from bn_mnist.lab.verdicts import WORDS
from bn_mnist.studies.pitfalls import PITFALLS, claims, experiments
from bn_mnist.studies.pitfalls.analysis import run_measures

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def quick(real_mnist, bn_mnist_script, tmp_path_factory):
    out = tmp_path_factory.mktemp("pitfalls") / "quick"
    done = subprocess.run(
        [bn_mnist_script, "pitfalls", "--quick", "--out", str(out)], capture_output=True, text=True, timeout=1200
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return out, done, json.loads((out / "results.json").read_text())


def test_every_pitfall_has_its_verdict_section_figure_and_logs(quick):
    out, done, results = quick
    assert results["meta"]["pitfalls"] == list(PITFALLS) and results["meta"]["quick"] is True
    planned = experiments.plan(PITFALLS, choose(experiments.BUDGETS, None, quick=True)).specs()
    assert results["meta"]["runs"] == len(planned) and results["meta"]["code"]["source"]
    assert all(list((out / spec.key).glob("events.out.tfevents.*")) for spec in planned)
    report = (out / "report.md").read_text()
    assert report.startswith("# BN as it fails today (quick run)")
    for name, found in results["pitfalls"].items():
        verdict = found["verdict"]
        assert verdict["word"] in WORDS and verdict["rule"] == claims.RULES[name].text()
        assert f"## {found['title']}" in report and f"**{verdict['word']}** here" in report
        assert f"**Fix.** {experiments.BY_NAME[name].fix}" in report
        image = matplotlib.image.imread(out / results["figures"][name])
        assert image.shape[0] > 300 and image.shape[1] > 500 and np.std(image) > 0.05, name
    assert f"{results['pitfalls']['frozen']['verdict']['word']}" in done.stdout
    assert set(tb_events.tensors(out, "images")) == {f"plots/{name}" for name in PITFALLS}


def test_the_numbers_are_the_runs_numbers(quick):
    out, _, results = quick
    for name, found in results["pitfalls"].items():
        for arm, measured in found["arms"].items():
            for seed in range(2):
                run = out / name / f"{arm}-seed{seed}"
                expected = run_measures(RunFiles(runfiles.RunSummary.read(run), runfiles.read_metrics(run)))
                assert {m: values[seed] for m, values in measured["seeds"].items()} == expected
    lag = results["pitfalls"]["lag"]["arms"]["m0.99_short"]["seeds"]
    final = runfiles.read_metrics(out / "lag" / "m0.99_short-seed0")[-1]
    assert lag["recomputed_accuracy_100"][0] == final["pitfall/recomputed_accuracy_100"]
    assert lag["val_accuracy"][0] == runfiles.RunSummary.read(out / "lag" / "m0.99_short-seed0").final_val_accuracy


def test_what_the_quick_run_shows_on_real_mnist(quick):
    """Mechanisms that hold in every seed even in a quick run: inference never depends on the batch, training mode
    alone fails, and a 20-step run at momentum 0.99 lags what recomputed statistics give."""
    _, _, results = quick
    batch = results["pitfalls"]["batch"]["arms"]["bn"]["seeds"]
    assert batch["inference_batch_change"] == [0.0, 0.0]
    assert all(
        alone > one + 0.5 for alone, one in zip(batch["alone_inference_accuracy"], batch["batch_of_one_accuracy"])
    )
    lag = results["pitfalls"]["lag"]["arms"]["m0.99_short"]["seeds"]
    assert all(fixed > val for fixed, val in zip(lag["recomputed_accuracy_100"], lag["val_accuracy"]))


def test_the_report_rebuilds_from_results_alone(quick, tmp_path):
    out, _, _ = quick
    shutil.copy(out / "results.json", tmp_path)
    result = CliRunner().invoke(main, ["report", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "report.md").read_text() == (out / "report.md").read_text()
    assert all((tmp_path / f"{name}.png").is_file() for name in PITFALLS)
