"""`compare` on synthetic data, two seeds through the parallel runner: every run, the same start per seed, the
summary, the table over seeds, the report and a real PNG."""

from __future__ import annotations

import dataclasses
import io
import shutil
import statistics

import disk_full
import matplotlib.image
import numpy as np
import pytest
import tb_events

from bn_mnist.core import runfiles
from bn_mnist.core.errors import WriteError
from bn_mnist.lab.arms import WITH_AND_WITHOUT, across_replicas
from bn_mnist.studies import compare

ARM_KEYS = [arm.key for arm in WITH_AND_WITHOUT]  # bn, no_bn


def two_seed_config():
    from bn_mnist.core.config import load_config

    return load_config("fc", ("train.steps=40", "train.eval_every=20", "train.log_every=10", "seed=3"))


@pytest.fixture(scope="module")
def two_seeds(tiny_mnist, tmp_path_factory):
    out = tmp_path_factory.mktemp("compare")
    return out, compare.run(two_seed_config(), out, tiny_mnist, log=lambda _: None, seeds=2)


@pytest.mark.slow  # spawned worker processes
def test_compare_over_two_seeds_writes_every_run_and_the_summary(two_seeds):
    out, summary = two_seeds
    assert compare.CompareSummary.read(out) == summary and summary.seeds == [3, 4]
    for arm in ARM_KEYS:
        assert [run.seed for run in summary.runs[arm]] == [3, 4]
        assert [run.bn for run in summary.runs[arm]] == [arm == "bn"] * 2
        for seed in summary.seeds:
            run_dir = out / compare.seed_key(arm, seed)
            assert (run_dir / runfiles.METRICS_FILE).is_file() and list(run_dir.glob("events.out.tfevents.*"))
            accuracies = runfiles.series(runfiles.read_metrics(run_dir), runfiles.VAL_ACCURACY)
            for threshold, steps in summary.steps_to_accuracy.items():
                reached = [s for s, a in zip(*accuracies) if a >= float(threshold)]
                assert steps[arm][seed - 3] == (reached[0] if reached else None)


@pytest.mark.slow
def test_the_table_gives_mean_sd_and_range_over_seeds(two_seeds):
    _, summary = two_seeds
    rows = {row[0]: row[1:] for row in compare.table_rows(summary)}
    finals = [run.final_val_accuracy for run in summary.runs["bn"]]
    mean, sd = statistics.fmean(finals), statistics.stdev(finals)
    assert rows["final validation accuracy"][0] == f"{mean:.4f} ± {sd:.4f} ({min(finals):.4f}..{max(finals):.4f})"
    steps = summary.steps_to_accuracy["0.5"]["bn"]
    assert rows["first step with val. accuracy >= 50%"][0] == " / ".join("-" if s is None else str(s) for s in steps)
    assert "over 2 seeds" in compare.console_table(summary)


@pytest.mark.slow
def test_the_figure_and_report(two_seeds):
    out, _ = two_seeds
    assert (out / compare.PLOT_FILE).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = matplotlib.image.imread(out / compare.PLOT_FILE)
    assert image.shape[0] > 300 and image.shape[1] > 800 and image[..., :3].std() > 0.05  # a drawn figure
    blue = np.all(np.abs(image[..., :3] - matplotlib.colors.to_rgb("tab:blue")) < 0.05, axis=-1).sum()
    orange = np.all(np.abs(image[..., :3] - matplotlib.colors.to_rgb("tab:orange")) < 0.05, axis=-1).sum()
    assert blue > 200 and orange > 200  # both networks are on it
    report = (out / compare.REPORT_FILE).read_text()
    assert (
        f"![convergence]({compare.PLOT_FILE})" in report and "Executed with: 1 intra-op / 1 inter-op threads" in report
    )
    assert "| final validation accuracy | " in report and "`bn-seed4/`" in report


def test_one_seed_is_labelled_a_sample():
    run = runfiles.RunSummary(
        True, "keras", True, "fc", 0, True, 40, 1.0, 40.0, None, False, 0.9, final_val_accuracy=0.91
    )
    summary = compare.CompareSummary("fc", [0], {"bn": [run], "no_bn": [run]}, {"0.5": {"bn": [20], "no_bn": [None]}})
    table = compare.console_table(summary)
    assert "one sample; see --seeds" in table and "0.9100" in table and "± " not in table


@pytest.mark.slow
def test_the_root_holds_the_hparams_experiment_and_the_plot_as_an_image(two_seeds):
    out, _ = two_seeds
    domains = tb_events.domains(out)
    assert domains["bn"] == [False, True] and domains["seed"] == [3, 4] and domains["name"] == ["fc"]
    for arm in ARM_KEYS:
        session = tb_events.session(out / compare.seed_key(arm, 4))
        assert session["bn"] is (arm == "bn") and session["seed"] == 4
    _, _, png = tb_events.tensors(out, "images")["plots/convergence"][0]
    np.testing.assert_array_equal(
        matplotlib.image.imread(io.BytesIO(png)), matplotlib.image.imread(out / compare.PLOT_FILE)
    )


@pytest.mark.slow  # spawned worker processes, one of them with 4 logical CPU devices
def test_sync_arms_one_device_synchronized_and_per_replica(tiny_mnist, tmp_path):
    """`--arms sync` on 4 replicas of 15: the synchronized run is the one-device run (every logged metric, to
    round-off), the per-replica run is another experiment; one column per arm in the table, report and figure."""
    from bn_mnist.core.config import load_config, with_replicas

    config = with_replicas(load_config("fc", ("train.steps=40", "train.eval_every=20", "train.log_every=10")), 4)
    arms = [arm.key for arm in across_replicas(4, config.train.batch_size)]
    summary = compare.run(config, tmp_path, tiny_mnist, log=lambda _: None, arms=across_replicas(4, 60))
    assert list(summary.labels.values()) == [
        "BN, one device (batch 60)",
        "synchronized BN, 4 x 15",
        "per-replica BN, 4 x 15",
    ]
    assert [summary.runs[arm][0].replicas for arm in arms] == [1, 4, 4]
    records = {arm: runfiles.read_metrics(tmp_path / compare.seed_key(arm, 0)) for arm in arms}
    one, synced, own = (runfiles.series(records[arm], runfiles.VAL_LOSS)[1] for arm in arms)
    np.testing.assert_allclose(synced, one, rtol=1e-4)
    assert max(abs(a - b) / b for a, b in zip(own[1:], one[1:])) > 1e-3  # measured: 1.5e-3 (sync: below 1e-4)
    assert len(compare.table_rows(summary)[0]) == 4 and "per-replica BN, 4 x 15" in compare.console_table(summary)
    assert "|---|---:|---:|---:|" in (tmp_path / compare.REPORT_FILE).read_text()
    image = matplotlib.image.imread(tmp_path / compare.PLOT_FILE)
    green = np.all(np.abs(image[..., :3] - matplotlib.colors.to_rgb("tab:green")) < 0.05, axis=-1).sum()
    assert green > 200


@pytest.mark.slow
def test_report_rebuilds_a_comparison_from_its_summary_alone(two_seeds, tmp_path):
    from click.testing import CliRunner

    from bn_mnist.cli import main

    out, _ = two_seeds
    shutil.copy(out / runfiles.SUMMARY_FILE, tmp_path)  # no run directory, no report, no figure
    result = CliRunner().invoke(main, ["report", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / compare.REPORT_FILE).read_text() == (out / compare.REPORT_FILE).read_text()
    rebuilt, drawn = (matplotlib.image.imread(path / compare.PLOT_FILE) for path in (tmp_path, out))
    np.testing.assert_array_equal(rebuilt, drawn)  # the same figure, pixel for pixel


@pytest.mark.slow  # the damaged runs train again in worker processes
def test_a_rerun_sets_damaged_runs_aside_and_survives_a_full_disk(two_seeds, tiny_mnist, tmp_path, monkeypatch):
    """The same compare into the same directory resumes: two damaged runs (a summary.json and a metrics.jsonl cut
    short) are set aside and trained again, to the same numbers; a full disk at report.md is one error that keeps
    every run, and the rerun with space writes the rest."""
    out, first = two_seeds
    copy = tmp_path / "cmp"
    shutil.copytree(out, copy)
    for key, name in (("bn-seed3", runfiles.SUMMARY_FILE), ("no_bn-seed4", runfiles.METRICS_FILE)):
        data = (copy / key / name).read_bytes()
        (copy / key / name).write_bytes(data[: len(data) // 2])
    disk_full.at(monkeypatch, compare.REPORT_FILE)
    lines = []
    with pytest.raises(WriteError) as raised:
        compare.run(two_seed_config(), copy, tiny_mnist, log=lines.append, seeds=2)
    assert str(raised.value) == (
        f"cannot write {copy / compare.REPORT_FILE}: No space left on device; all 4 runs are finished in {copy} "
        f"and stay: free space, then run the same command with --out {copy} to resume (it reuses them and writes the "
        "results)"
    )
    damaged = [line for line in lines if "damaged (" in line]
    assert [line.split(":")[0] for line in damaged] == [str(copy / "bn-seed3"), str(copy / "no_bn-seed4")]
    assert "2 of 4 runs already finished" in lines[len(damaged)]
    assert (copy / compare.REPORT_FILE).read_bytes() == (out / compare.REPORT_FILE).read_bytes()  # the old one, whole
    assert sorted(path.name.split(".damaged-")[0] for path in copy.glob("*.damaged-*")) == ["bn-seed3", "no_bn-seed4"]

    monkeypatch.undo()
    again = []
    summary = compare.run(two_seed_config(), copy, tiny_mnist, log=again.append, seeds=2)
    assert "4 of 4 runs already finished" in again[0] and (copy / compare.REPORT_FILE).is_file()
    for arm in ARM_KEYS:  # trained again from the same start on the same batches
        assert [run.final_val_accuracy for run in summary.runs[arm]] == [
            run.final_val_accuracy for run in first.runs[arm]
        ]


def test_the_norms_arms_put_each_normalization_and_init_in_bns_place():
    """`--arms norms`: one run per arm and seed, differing from the BN run only in the normalization (or, without
    one, in the init and activation); instance norm only on the conv net."""
    from bn_mnist.core.config import load_config
    from bn_mnist.lab.arms import norm_arms

    conv, fc = load_config("conv"), load_config("fc")
    assert [arm.key for arm in compare.arms_for("norms", conv)] == [arm.key for arm in norm_arms("conv")]
    assert "instance" not in [arm.key for arm in compare.arms_for("norms", fc)]
    specs = {spec.key: spec.config for spec in compare.plan(conv, 2, norm_arms("conv"))}
    assert len(specs) == 2 * 9
    kinds = {key: (c.bn.enabled, c.bn.kind, c.model.weight_init, c.model.activation) for key, c in specs.items()}
    assert kinds["bn-seed0"] == (True, "batch", "glorot_uniform", "relu")
    assert kinds["group-seed1"] == (True, "group", "glorot_uniform", "relu")
    assert kinds["no_bn-seed0"] == (False, "batch", "glorot_uniform", "relu")
    assert kinds["lsuv-seed0"] == (False, "batch", "lsuv", "relu")
    assert kinds["selu-seed1"] == (False, "batch", "lecun_normal", "selu")
    base = specs["bn-seed0"]
    for key in ("layer-seed0", "instance-seed0", "ws_group-seed0"):
        assert dataclasses.replace(specs[key], bn=base.bn) == base  # nothing else differs


@pytest.mark.slow  # one short run per arm: every normalization and init trains end to end
def test_compare_norms_trains_every_arm(tiny_mnist, tmp_path):
    """On the FC net without XLA (seconds, not minutes, of compiling); instance norm, conv only, is built and run
    in both modes in test_norms."""
    from bn_mnist.core.config import load_config
    from bn_mnist.lab.arms import norm_arms

    config = load_config("fc", ("train.steps=20", "train.eval_every=10", "train.log_every=10", "train.jit=off"))
    summary = compare.run(config, tmp_path, tiny_mnist, log=lambda _: None, arms=norm_arms("fc"))
    assert list(summary.labels) == [arm.key for arm in norm_arms("fc")]
    for arm, runs in summary.runs.items():
        assert runs[0].steps == 20 and runs[0].final_val_accuracy is not None, arm
    report = (tmp_path / compare.REPORT_FILE).read_text()
    assert "Weight Std. + Group Norm" in report and "training steps/s" in report


def test_the_norms_arms_compare_any_config():
    """A base config with batch-only options (the tf.nn layer, renorm, another group count) still gives every arm:
    the other kinds take those options' defaults; the BN arm is batch norm whatever the config's kind."""
    from bn_mnist.core.config import load_config
    from bn_mnist.lab.arms import norm_arms

    for name, extra in (("conv-nn", ()), ("conv-renorm", ()), ("conv", ("bn.kind=group", "bn.groups=2"))):
        specs = {spec.key: spec.config for spec in compare.plan(load_config(name, extra), 1, norm_arms("conv"))}
        assert specs["bn-seed0"].bn.kind == "batch" and specs["layer-seed0"].bn.kind == "layer"
    base = load_config("conv", ("bn.kind=group", "bn.groups=2"))
    grouped = {s.key: s.config for s in compare.plan(base, 1, norm_arms("conv"))}
    assert grouped["group-seed0"].bn.groups == 2 and grouped["layer-seed0"].bn.groups == 4
