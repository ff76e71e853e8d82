"""Resuming: finished runs are reused, unfinished ones cleared, and a run of another config is never mixed in."""

from __future__ import annotations

import dataclasses

import pytest

from bn_mnist import runfiles
from bn_mnist.errors import OutputError
from bn_mnist.training import runner
from bn_mnist.training import trainer as train


def test_first_difference_names_the_key():
    assert (
        runner.first_difference({"a": 1, "t": {"steps": 5}}, {"a": 1, "t": {"steps": 50}})
        == "t.steps: 5 here, 50 there"
    )
    assert runner.first_difference({"a": 1}, {"a": 1}) == ""


def test_a_finished_run_is_reused_and_another_config_is_refused(tiny_mnist, tiny_fc_config, tmp_path):
    run_dir = tmp_path / "run"
    assert runner.finished_summary(run_dir, tiny_fc_config, print) is None  # nothing there yet
    summary = train.run(tiny_fc_config, run_dir, tiny_mnist, log=lambda _: None)
    assert runner.finished_summary(run_dir, tiny_fc_config, print) == summary
    longer = dataclasses.replace(tiny_fc_config, train=dataclasses.replace(tiny_fc_config.train, steps=80))
    with pytest.raises(OutputError, match=r"holds a run of another config \(train.steps: 80 here, 40 there\)"):
        runner.finished_summary(run_dir, longer, print)
    assert (run_dir / runfiles.SUMMARY_FILE).exists()  # refused, and nothing deleted


def test_an_interrupted_run_is_cleared_for_a_fresh_start(tiny_mnist, tiny_fc_config, tmp_path):
    run_dir = tmp_path / "run"
    summary = train.run(tiny_fc_config, run_dir, tiny_mnist, log=lambda _: None)
    dataclasses.replace(summary, interrupted=True).write(run_dir)
    lines = []
    assert runner.finished_summary(run_dir, tiny_fc_config, lines.append) is None
    assert not run_dir.exists() and "unfinished" in lines[0]
