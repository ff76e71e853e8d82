"""One config and seed, the same numbers from every command: `train` (the installed script), the matching half of
a `compare` (the script, parallel workers) and the matching `reproduce` run (its runner), bit for bit, on real
MNIST; and a multi-seed `compare` read back through its table and figure."""

from __future__ import annotations

import dataclasses
import json
import statistics
import subprocess

import matplotlib.image
import numpy as np
import pytest

from bn_mnist.core import runfiles
from bn_mnist.core.config import load_config
from bn_mnist.core.training import runner
from bn_mnist.lab.arms import BN, BN_KERAS, BN_NN
from bn_mnist.lab.study import choose
from bn_mnist.studies.reproduce.experiments import BUDGETS, LESSON, conv_config, lesson_config

SHORT = {"steps": 30, "eval_every": 10, "log_every": 10}
CASES = {  # name -> (shipped config for train and compare, the reproduction's config of the same run)
    "conv-keras": ("conv", conv_config(BN_KERAS, 0)),
    "fc": ("fc", lesson_config(LESSON[0], BN, 0, choose(BUDGETS, None, quick=False))),
}  # conv-nn takes conv-keras' paths through every process (its layer's determinism: test_train)


def test_the_reproductions_nn_run_is_the_shipped_conv_nn_config():
    assert dataclasses.replace(short(conv_config(BN_NN, 0)), name="conv-nn") == short(load_config("conv-nn"))


def short(config):
    return dataclasses.replace(config, train=dataclasses.replace(config.train, **SHORT))


def cli(script, *args, cwd):
    sets = [item for key, value in SHORT.items() for item in ("--set", f"train.{key}={value}")]
    result = subprocess.run([script, *args, *sets], cwd=cwd, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr
    return result


def metrics_without_time(run_dir):
    """metrics.jsonl (every logged value) and the summary's outcome, without wall-clock fields."""
    summary = json.loads((run_dir / runfiles.SUMMARY_FILE).read_text())
    outcome = {k: summary[k] for k in ("final_val_accuracy", "final_test_accuracy", "single_sample_accuracy")}
    return runfiles.read_metrics(run_dir), outcome, summary["execution"]["intra_op_threads"]


TF_CHATTER = ("absl::InitializeLog", "cuda drivers", "cuInit", "oneDNN custom operations")


@pytest.mark.parametrize("case", CASES)
def test_train_compare_and_reproduce_give_the_same_numbers(case, real_mnist, bn_mnist_script, tmp_path):
    """The installed script, run from an unrelated directory (the conv default needs no --config), with a clean
    console (TensorFlow's start-up lines stay off it), and the reproduction's runner: the same numbers."""
    name, reproduction_config = CASES[case]
    config = ["--config", name] if name != "conv" else []
    cli(bn_mnist_script, "train", *config, "--out", str(tmp_path / "train"), cwd=tmp_path)
    compared = cli(bn_mnist_script, "compare", *config, "--out", str(tmp_path / "compare"), cwd=tmp_path)
    assert "final validation accuracy" in compared.stdout and (tmp_path / "compare" / "convergence.png").is_file()
    assert not [line for line in compared.stderr.splitlines() if any(word in line for word in TF_CHATTER)]
    assert compared.stderr.splitlines()[0].startswith("mnist: cache ")
    spec = runner.RunSpec("reproduce", short(reproduction_config))
    assert dataclasses.replace(spec.config, name=name) == short(load_config(name))  # the same experiment
    runner.run_all([spec], tmp_path, real_mnist, log=lambda _: None)
    train = metrics_without_time(tmp_path / "train")
    assert metrics_without_time(tmp_path / "compare" / "bn-seed0") == train
    assert metrics_without_time(tmp_path / "reproduce") == train
    assert train[2] == 1  # one thread everywhere, as train.threads says


def test_a_multi_seed_compare_on_real_mnist(real_mnist, bn_mnist_script, tmp_path):
    out = tmp_path / "two"
    result = subprocess.run(
        [
            bn_mnist_script,
            "compare",
            "--seeds",
            "2",
            "--set",
            "train.steps=200",
            "--set",
            "train.eval_every=50",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads((out / runfiles.SUMMARY_FILE).read_text())
    finals = [run["final_val_accuracy"] for run in summary["runs"]["bn"]]
    line = next(line for line in result.stdout.splitlines() if line.startswith("final validation accuracy"))
    spread = f"{statistics.fmean(finals):.4f} ± {statistics.stdev(finals):.4f} ({min(finals):.4f}..{max(finals):.4f})"
    assert spread in line and "(seeds 0..1: mean ± sample SD (min..max) over 2 seeds; steps per seed)" in result.stdout
    no_bn = [run["final_val_accuracy"] for run in summary["runs"]["no_bn"]]
    assert max(no_bn) <= 0.15  # the conv net without BN does not learn in 200 batches, whatever the seed
    image = matplotlib.image.imread(out / "convergence.png")
    blue = np.all(np.abs(image[..., :3] - matplotlib.colors.to_rgb("tab:blue")) < 0.05, axis=-1).sum()
    assert image.shape[1] > 800 and blue > 200
