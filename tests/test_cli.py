"""The CLI through click's runner and as the installed console script, on real MNIST (short runs)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from bn_mnist.cli import main
from bn_mnist.training import runlog

ROOT = Path(__file__).resolve().parent.parent
FC = str(ROOT / "configs" / "fc.yaml")
SHORT = ("--set", "train.steps=30", "--set", "train.eval_every=10", "--set", "train.log_every=10")


@pytest.mark.parametrize("command", [[], ["train"], ["compare"], ["data"]])
def test_help(command):
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output


def test_version():
    assert "version 0.1.0" in CliRunner().invoke(main, ["--version"]).output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--set", "train.stepz=3"], "--set: train.stepz: unknown key (did you mean 'train.steps'?)"),
        (["compare", "--config", "missing.yaml"], "missing.yaml: cannot read config"),
        (["train", "--set", "train.batch_size=0"], "train.batch_size = 0: expected a positive integer"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, message):
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bn-mnist: error: ") and message in lines[0]


def test_missing_data_dir_is_one_line(tmp_path):
    result = CliRunner().invoke(main, ["train", "--data-dir", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert (
        result.output.strip().splitlines()[-1]
        == f"bn-mnist: error: data directory {tmp_path / 'nowhere'} does not exist"
    )


def test_train_through_the_runner(real_mnist, tmp_path):
    result = CliRunner().invoke(
        main, ["train", "--no-bn", "--config", FC, *SHORT, "--seed", "5", "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / runlog.SUMMARY_FILE).read_text())
    assert (summary["bn"], summary["seed"], summary["steps"]) == (False, 5, 30)
    last_val = [r for r in runlog.read_metrics(tmp_path) if runlog.VAL_ACCURACY in r][-1]
    assert last_val == {"step": 30, **{k: last_val[k] for k in last_val if k != "step"}}
    assert last_val[runlog.VAL_ACCURACY] == summary["final_val_accuracy"]
    assert f"final validation accuracy {summary['final_val_accuracy']:.4f}" in result.output
    again = CliRunner().invoke(main, ["train", "--no-bn", "--config", FC, *SHORT, "--out", str(tmp_path)])
    assert again.exit_code == 1 and "not empty" in again.output  # the first run is kept


def test_default_out_dir_is_new_each_time(real_mnist, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for _ in range(2):
        assert CliRunner().invoke(main, ["train", "--config", FC, *SHORT]).exit_code == 0
    runs = sorted(p.name for p in (tmp_path / "runs").iterdir())
    assert len(runs) == 2 and all(name.startswith("fc-bn-") for name in runs)


def test_console_script_compare_with_default_config_path_from_elsewhere(real_mnist, bn_mnist_script, tmp_path):
    """The installed script, run from an unrelated directory: the conv default needs no config file."""
    out = tmp_path / "cmp"
    result = subprocess.run(
        [
            bn_mnist_script,
            "compare",
            "--set",
            "train.steps=4",
            "--set",
            "train.eval_every=2",
            "--set",
            "train.log_every=2",
            "--out",
            str(out),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "final validation accuracy" in result.stdout and (out / "convergence.png").is_file()
    assert "model:\n  arch: conv" in (out / "bn" / runlog.CONFIG_FILE).read_text()


def test_ctrl_c_keeps_finished_results(real_mnist, bn_mnist_script, tmp_path):
    out = tmp_path / "run"
    process = subprocess.Popen(
        [bn_mnist_script, "train", "--config", FC, "--out", str(out)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    for line in process.stderr:
        if line.startswith("step "):
            break
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("bn-mnist: interrupted at step ") and str(out) in last
    summary = json.loads((out / runlog.SUMMARY_FILE).read_text())
    assert summary["interrupted"] is True and 0 < summary["steps"] < 50000
    assert runlog.read_metrics(out)[-1]["step"] <= summary["steps"]
