"""A worker's kept networks (`training.warm`): a run on a network restarted by assignment gives the bits a new build
gives, in every file it writes, across seeds and across every config value the trace key leaves out; the key keeps
apart what the traces read; and nothing is traced again."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import zipfile
from pathlib import Path

import keras
import numpy as np
import pytest
import tb_events

from bn_mnist.core import runfiles
from bn_mnist.core.config import Config, key_paths, load_config, to_dict
from bn_mnist.core.training import runner, trainer, warm, worker
from bn_mnist.core.training.engine import ORDER_ROWS, Engine, build_engine
from bn_mnist.core.training.runspec import FREE, RunSpec, trace_key

SHORT = ("train.steps=30", "train.eval_every=15", "train.log_every=5")
FC_BN = load_config("fc", (*SHORT, "model.dropout=0.2", "train.lr_drop_at=20"))  # dropout's RNG, a schedule
FC_NN = load_config(
    "fc",
    (*SHORT, "bn.impl=nn", "bn.noise=0.1", "bn.renorm=true", "model.precision=mixed_float16", "log.histograms=false"),
)
CONV = load_config(None, ("train.steps=6", "train.eval_every=3", "train.log_every=3", "train.batch_size=16"))


def changed(config: Config, *overrides: str, seed: int | None = None) -> Config:
    found = load_config(config, overrides)
    return found if seed is None else dataclasses.replace(found, seed=seed)


def files_of(run_dir: Path) -> dict[str, object]:
    """What a run wrote, without its wall-clock times: metrics.jsonl as bytes, summary.json's other fields, the
    TensorBoard scalars and histograms, and model.keras's config (without object ids) and weights."""
    summary = json.loads((run_dir / runfiles.SUMMARY_FILE).read_text())
    for name in runfiles.WALL_CLOCK_FIELDS:
        summary.pop(name)
    with zipfile.ZipFile(run_dir / runfiles.MODEL_FILE) as archive:
        model_config = archive.read("config.json").decode()
    model_config = re.sub(r'"shared_object_id": \d+', "", model_config)  # a Python id(): another in every process
    weights = keras.models.load_model(run_dir / runfiles.MODEL_FILE).get_weights()
    return {
        "metrics": (run_dir / runfiles.METRICS_FILE).read_bytes(),
        "summary": summary,
        "scalars": tb_events.scalars(run_dir),
        "histograms": {
            k: {s: v.tobytes() for s, v in h.items()} for k, h in tb_events.tensors(run_dir, "histograms").items()
        },
        "model": model_config,
        "weights": [w.tobytes() for w in weights],
    }


def trained(config: Config, run_dir: Path, mnist, engines: warm.Engines | None = None) -> dict[str, object]:
    trainer.run(config, run_dir, mnist, log=lambda _: None, engines=engines)
    return files_of(run_dir)


SLOW = pytest.mark.slow  # each trains a dozen short runs or the conv net


@pytest.mark.parametrize(
    "first, seeds",
    [(FC_BN, (0, 1)), pytest.param(FC_NN, (0, 1, 2), marks=SLOW), pytest.param(CONV, (0, 1, 2), marks=SLOW)],
    ids=["fc-keras-dropout", "fc-nn-noise-float16", "conv"],
)
def test_seeds_on_one_kept_network_write_what_new_builds_write(first, seeds, tiny_mnist, tmp_path):
    engines = warm.Engines()
    for seed in seeds:
        config = dataclasses.replace(first, seed=seed)
        kept = trained(config, tmp_path / f"kept{seed}", tiny_mnist, engines)
        assert kept == trained(config, tmp_path / f"new{seed}", tiny_mnist), seed
    assert engines.builds == 1


FREE_CHANGES = {  # a config value the key leaves out -> a change of it
    "seed": (),
    "init": ("model.weight_init=normal", "model.init_std=0.5"),
    "he": ("model.weight_init=he_normal",),
    "lsuv": ("model.weight_init=lsuv",),
    "dense_init": ("model.dense_init=truncated_normal",),
    "binarize": ("data.binarize=true",),
    "pixel_max": ("data.pixel_max=255",),
    "classes_per_batch": ("data.classes_per_batch=5",),
    "steps": ("train.steps=40", "train.eval_every=20"),
    "log_every": ("train.log_every=3",),
    "histograms": ("log.histograms=false",),
    "learning_rate": ("train.lr_drop_at=0", "train.learning_rate=0.3"),
}


@SLOW
def test_each_value_the_key_leaves_out_changes_nothing_a_kept_network_computes(tiny_mnist, tmp_path):
    """One kept network trains a chain of runs, each changing one value outside the key; each run writes what a new
    build writes. A run after a diverged one starts clean."""
    base = load_config("fc", (*SHORT, "train.optimizer=sgd", "train.learning_rate=0.5", "model.dropout=0.1"))
    engines = warm.Engines()
    diverged = changed(base, "train.learning_rate=1e30", "data.pixel_max=255")
    assert trainer.run(
        diverged, tmp_path / "diverged", tiny_mnist, log=lambda _: None, engines=engines
    ).diverged_at_step
    for name, overrides in FREE_CHANGES.items():
        config = changed(base, *overrides, seed=3 if name == "seed" else 1)
        assert trace_key(config) == trace_key(base), name
        kept = trained(config, tmp_path / f"kept-{name}", tiny_mnist, engines)
        assert kept == trained(config, tmp_path / f"new-{name}", tiny_mnist), name
    assert engines.builds == 1


def restarted_and_new(config: Config, mnist) -> tuple[Engine, Engine]:
    """An engine trained 12 steps then restarted for seed 5, and a new build for seed 5."""
    engines = warm.Engines()
    engines.entry(config, mnist, None).engine.train_steps(0, 12)
    restarted = engines.entry(dataclasses.replace(config, seed=5), mnist, None).engine
    assert engines.builds == 1
    return restarted, build_engine(dataclasses.replace(config, seed=5), mnist)


def differences(restarted: Engine, new: Engine) -> list[str]:
    """The variables (the network's and the optimizer's) whose values differ."""
    every = [[*engine.model.variables, *engine.optimizer.variables] for engine in (restarted, new)]
    pairs = zip(*every, strict=True)
    return [mine.path for mine, theirs in pairs if not np.array_equal(mine.numpy(), theirs.numpy())]


@pytest.mark.parametrize("slow", [False, pytest.param(True, marks=SLOW)], ids=["fc", "conv-and-norms"])
def test_a_restart_is_a_new_build_variable_for_variable(slow, tiny_mnist):
    """After steps that move every kind of state (weights, BN statistics, optimizer slots, the loss scale, random
    states), a restart for another seed equals a new build of that seed, its recorded config included."""
    others = [("bn.impl=nn", "bn.zero_debias=true", "bn.bessel=true"), ("bn.kind=ws_group",), ("bn.kind=layer",)]
    configs = (CONV, *(changed(FC_BN, *overrides) for overrides in others)) if slow else (FC_BN, FC_NN)
    for config in configs:
        restarted, new = restarted_and_new(config, tiny_mnist)
        assert restarted.model.get_config() == new.model.get_config(), config.bn
        assert differences(restarted, new) == [], config.bn


def test_a_restart_that_skips_a_part_shows(tiny_mnist, monkeypatch):
    """The comparison above can fail: without the new seed's kernels and random states, or without the optimizer's
    state put back, the restarted engine differs from a new build."""
    with monkeypatch.context() as patched:
        patched.setattr(warm, "reinitialize", lambda *_: None)
        found = differences(*restarted_and_new(FC_BN, tiny_mnist))
    assert any("kernel" in path for path in found) and any("seed_generator" in path for path in found)
    with monkeypatch.context() as patched:  # the network's variables put back, the optimizer's left as trained
        patched.setattr(warm, "variables", lambda engine: list(engine.model.variables))
        found = differences(*restarted_and_new(FC_BN, tiny_mnist))
    assert found and all(path.startswith(("sgd", "adam", "optimizer")) for path in found), found


def test_a_run_needs_no_new_trace_and_steps_within_a_bucket_share_one(tiny_mnist, tmp_path):
    engines = warm.Engines()
    for seed, steps in ((0, 30), (1, 40), (2, ORDER_ROWS)):
        config = changed(
            FC_BN, f"train.steps={steps}", f"train.eval_every={steps // 2}", "log.histograms=true", seed=seed
        )
        trainer.run(config, tmp_path / str(seed), tiny_mnist, log=lambda _: None, engines=engines)
    engine = next(iter(engines.entries.values())).engine
    assert engine._train_chunk.experimental_get_tracing_count() == 1
    assert engine._evaluate.experimental_get_tracing_count() == 1
    assert engine._evaluate_without_xla.experimental_get_tracing_count() == 1
    assert next(iter(engines.entries.values())).inspector._measure.experimental_get_tracing_count() == 1


def test_the_key_holds_every_value_a_trace_reads_and_no_other():
    base = load_config("fc")
    free = {name: dataclasses.replace(base, seed=9) for name in ("seed",)}
    free.update({name: changed(base, *overrides) for name, overrides in FREE_CHANGES.items() if name != "seed"})
    assert all(trace_key(config) == trace_key(base) for config in free.values())
    keyed = [
        "bn.enabled=false",
        "bn.impl=nn",
        "bn.momentum=0.9",
        "bn.kind=layer",
        "model.arch=conv",
        "model.activation=sigmoid",
        "model.dropout=0.1",
        "model.precision=mixed_float16",
        "train.batch_size=32",
        "train.optimizer=adam",
        "train.loss=sigmoid_cross_entropy",
        "train.jit=false",
    ]
    assert len({trace_key(changed(base, change)) for change in keyed} | {trace_key(base)}) == len(keyed) + 1
    scheduled = changed(base, "train.lr_drop_at=10")
    assert trace_key(changed(scheduled, "train.learning_rate=0.3")) != trace_key(scheduled)  # a schedule's constants
    assert set(FREE) <= key_paths(to_dict(Config()))  # each a config value, none misspelt


def test_a_worker_trains_seeds_on_one_network_as_fresh_processes_do(real_mnist, bn_mnist_script, tmp_path):
    """Three seeds in one real worker process (the runner's), against `bn-mnist train` in a fresh process each: every
    file the same but for wall-clock times; the worker built the network once (its train.log says when it reused it)."""
    overrides = ("train.steps=60", "train.eval_every=30", "train.log_every=10", "model.dropout=0.1")
    config = load_config("fc", overrides)
    specs = [RunSpec(f"seed{seed}", dataclasses.replace(config, seed=seed)) for seed in (0, 1, 2)]
    runner.run_all(specs, tmp_path / "worker", real_mnist, lambda _: None, runner.LocalBackend(workers=1))
    for seed in (1, 2):
        sets = [arg for override in overrides for arg in ("--set", override)]
        subprocess.run(
            [
                bn_mnist_script,
                "train",
                "--config",
                "fc",
                *sets,
                "--seed",
                str(seed),
                "--out",
                str(tmp_path / f"fresh{seed}"),
            ],
            check=True,
            capture_output=True,
        )
        assert files_of(tmp_path / "worker" / f"seed{seed}") == files_of(tmp_path / f"fresh{seed}"), seed
    logs = [(tmp_path / "worker" / f"seed{seed}" / worker.LOG_FILE).read_text() for seed in (0, 1, 2)]
    assert [warm.REUSED in log for log in logs] == [False, True, True]
