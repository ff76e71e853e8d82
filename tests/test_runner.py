"""Resuming: finished runs are reused, unfinished ones cleared, and a run of another config is never mixed in."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest

from bn_mnist.core import provenance, runfiles
from bn_mnist.core.config import load_config
from bn_mnist.core.errors import OutputError, RunFailed
from bn_mnist.core.training import runner
from bn_mnist.core.training import trainer as train
from bn_mnist.core.training.runspec import RunSpec
from bn_mnist.lab.runs import other_code_runs


def test_first_difference_names_the_key():
    assert (
        runner.first_difference({"a": 1, "t": {"steps": 5}}, {"a": 1, "t": {"steps": 50}})
        == "t.steps: 5 here, 50 there"
    )
    assert runner.first_difference({"a": 1}, {"a": 1}) == ""


@pytest.fixture(scope="module")
def finished_run(tiny_mnist, tmp_path_factory):
    """One finished tiny run, trained once; each test works on its own copy."""
    config = load_config("fc", ("train.steps=40", "train.eval_every=20", "train.log_every=10", "log.histograms=false"))
    run_dir = tmp_path_factory.mktemp("finished") / "run"
    return config, train.run(config, run_dir, tiny_mnist, log=lambda _: None), run_dir


def copied(finished_run, tmp_path) -> Path:
    run_dir = tmp_path / "run"
    shutil.copytree(finished_run[2], run_dir)
    return run_dir


def test_a_finished_run_is_reused_and_another_config_is_refused(finished_run, tmp_path):
    config, summary, _ = finished_run
    assert runner.finished_summary(tmp_path / "run", config, print) is None  # nothing there yet
    run_dir = copied(finished_run, tmp_path)
    assert runner.finished_summary(run_dir, config, print) == summary
    longer = dataclasses.replace(config, train=dataclasses.replace(config.train, steps=80))
    with pytest.raises(OutputError, match=r"holds a run of another config \(train.steps: 80 here, 40 there\)"):
        runner.finished_summary(run_dir, longer, print)
    assert (run_dir / runfiles.SUMMARY_FILE).exists()  # refused, and nothing deleted


def test_an_interrupted_run_is_cleared_for_a_fresh_start(finished_run, tmp_path):
    config, summary, _ = finished_run
    run_dir = copied(finished_run, tmp_path)
    dataclasses.replace(summary, interrupted=True).write(run_dir)
    lines = []
    assert runner.finished_summary(run_dir, config, lines.append) is None
    assert not run_dir.exists() and "unfinished" in lines[0]


def truncated(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def cut_at_a_line_end(path: Path) -> None:
    """Half the file's lines, as a crash between two writes would leave it (whole lines, some keys missing)."""
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[: len(lines) // 2]))


def metrics_cut_at_a_line_end(path: Path) -> None:
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:-1]))


def flipped_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


DAMAGE = {  # file -> how it is damaged -> what the line says
    (runfiles.SUMMARY_FILE, truncated): "cannot be read",
    (runfiles.SUMMARY_FILE, lambda path: path.write_text("[]")): "holds no run summary",
    (runfiles.METRICS_FILE, truncated): "not JSON",
    (runfiles.METRICS_FILE, metrics_cut_at_a_line_end): "ends at step 30; summary.json says 40",
    (runfiles.CONFIG_FILE, cut_at_a_line_end): "not a whole saved config",
    (runfiles.CONFIG_FILE, lambda path: path.write_bytes(b"\xff\xfe")): "not a text file",
    (runfiles.MODEL_FILE, truncated): "not a whole Keras archive",
    (runfiles.MODEL_FILE, flipped_byte): "fails its checksum",
}


@pytest.mark.parametrize(("name", "damage"), list(DAMAGE), ids=[f"{n}-{i}" for i, (n, _) in enumerate(DAMAGE)])
def test_a_damaged_run_is_set_aside_with_one_line(finished_run, name, damage, tmp_path):
    config, summary, _ = finished_run
    run_dir = copied(finished_run, tmp_path)
    assert runner.finished_summary(run_dir, config, print) == summary  # whole, it is reused
    damage(run_dir / name)
    before = {path.name: path.read_bytes() for path in run_dir.iterdir()}
    lines = []
    assert runner.finished_summary(run_dir, config, lines.append) is None
    (aside,) = tmp_path.iterdir()  # renamed, never deleted: the damaged files are there to look at
    assert not run_dir.exists() and aside.name.startswith("run.damaged-")
    assert {path.name: path.read_bytes() for path in aside.iterdir()} == before
    (line,) = lines
    assert line.startswith(f"{run_dir}: damaged ({run_dir / name}") and DAMAGE[name, damage] in line
    assert line.endswith(f"set aside as {aside.name}, training it again")
    assert not runner.all_finished([RunSpec("run", config)], tmp_path)


def with_code(run_dir: Path, code: dict | None) -> None:
    raw = json.loads((run_dir / runfiles.SUMMARY_FILE).read_text())
    raw.pop("code")
    (run_dir / runfiles.SUMMARY_FILE).write_text(json.dumps(raw if code is None else {**raw, "code": code}))


@pytest.mark.parametrize("code", [{"source": "0" * 64, "commit": "f" * 40, "modified": False}, None])
def test_a_run_that_other_code_trained_is_trained_again_unless_asked(finished_run, code, tmp_path):
    """Another version's run (or one from before versions were kept) is set aside, never reused silently; with
    reuse_other_code it is reused, and the results' list of such runs names it."""
    config, summary, _ = finished_run
    assert summary.code == provenance.current() and len(summary.code.source) == 64
    run_dir = copied(finished_run, tmp_path)
    with_code(run_dir, code)
    reused = runner.finished_summary(run_dir, config, print, reuse_other_code=True)
    assert reused is not None and other_code_runs({"run": reused}) == ["run"]
    lines = []
    assert runner.finished_summary(run_dir, config, lines.append) is None
    (aside,) = tmp_path.iterdir()
    assert aside.name.startswith("run.other-code-") and (aside / runfiles.MODEL_FILE).is_file()
    trained_by = "source 000000000000, commit ffffffffffff" if code else "a version that kept no code version"
    assert lines == [
        f"{run_dir}: trained by other code ({trained_by}; this is {provenance.current()}); set aside as "
        f"{aside.name}, training it again (--reuse-other-code would reuse it)"
    ]


@pytest.mark.slow  # two pools of one fresh worker each (two TensorFlow start-ups)
def test_fresh_workers_every_runs_per_worker_runs(tiny_mnist, tiny_fc_config, monkeypatch, tmp_path):
    """XLA's compiled code piles up in a long-lived worker: the pool is renewed every RUNS_PER_WORKER runs each, and
    every run of every pool finishes."""
    monkeypatch.setattr(runner, "RUNS_PER_WORKER", 1)
    specs = [RunSpec(f"fc/seed{seed}", dataclasses.replace(tiny_fc_config, seed=seed)) for seed in (0, 1)]
    done: list[str] = []
    runner.LocalBackend(workers=1).train(specs, tmp_path, tiny_mnist, lambda _: None, lambda s, _: done.append(s.key))
    assert done == ["fc/seed0", "fc/seed1"] and all((tmp_path / key / "summary.json").is_file() for key in done)
    names = [next((tmp_path / key).glob("events.out.tfevents.*")).name for key in done]  # ...TIME.HOST.PID.N.v2
    pids = {name.split(".")[-3] for name in names}
    assert len(pids) == 2  # each run in a process of its own


def exhausted_probe():
    """A probe maker failing as XLA did when a worker ran out of memory for compiled code."""
    raise MemoryError("LLVM compilation error: Cannot allocate memory")


@pytest.mark.slow  # one worker process
def test_a_run_failing_in_its_worker_is_one_line_and_the_finished_stay(tiny_mnist, tiny_fc_config, tmp_path):
    """The first run finishes; the second fails in the worker: RunFailed names it, counts what stays, says how to
    resume, and the first run's files are whole."""
    specs = [RunSpec("fc/ok", tiny_fc_config), RunSpec("fc/failing", tiny_fc_config, exhausted_probe)]
    with pytest.raises(RunFailed) as failed:
        runner.run_all(specs, tmp_path, tiny_mnist, lambda _: None, runner.LocalBackend(workers=1))
    assert str(failed.value) == (
        f"{tmp_path / 'fc/failing'}: training failed in its worker (MemoryError: LLVM compilation error: Cannot "
        f"allocate memory); 1 of 2 runs are finished in {tmp_path} and stay: run the same command with --out "
        f"{tmp_path} to resume"
    )
    assert runner.all_finished(specs[:1], tmp_path)
