"""The benchmarks (bn_mnist/tools/bench): FLOP counts against a count by hand, their summaries of timings against
expectations worked out by hand, and short runs on synthetic data (speed itself is never asserted: it is a ratio the
benchmark reports, measured in one run)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from bn_mnist.core.config import load_config
from bn_mnist.core.nets.models import build_model
from bn_mnist.tools.bench import engines, norms, overhead, profile, replicas


def test_fc_step_flops_by_hand():
    config = load_config("fc")
    model = build_model(config.model, config.bn, 0)
    multiply_adds = 784 * 100 + 100 * 100 + 100 * 100 + 100 * 10
    assert engines.step_flops(model, 60) == 3 * 2 * multiply_adds * 60


def test_conv_step_flops_by_hand():
    """19 3x3 convs with 4i filters, stride 2 when i % 3 == 0 ('same': the side halves, rounded up)."""
    config = load_config("conv")
    side, channels, multiply_adds = 28, 1, 0
    for i in range(1, 20):
        side = math.ceil(side / 2) if i % 3 == 0 else side
        multiply_adds += side * side * 9 * channels * 4 * i
        channels = 4 * i
    multiply_adds += side * side * channels * 100 + 100 * 10
    assert engines.step_flops(build_model(config.model, config.bn, 0), 64) == 3 * 2 * multiply_adds * 64


def test_engine_rows_from_known_samples():
    """Medians, ranges and ratios of steps/s, worked out by hand: fit_default's median is 4, the engine's 10."""
    runners = {
        ("fc", True, "fit_default"): {"samples": [3.0, 5.0, 4.0], "flops": 2e9, "auto": True},
        ("fc", True, "engine_jit_on"): {"samples": [12.0, 8.0, 10.0], "flops": 2e9, "auto": True},
    }
    rows = {row["engine"]: row for row in engines.rows(runners, roofline=100.0)}
    engine = rows["engine_jit_on"]
    assert (engine["steps_per_second"], engine["min"], engine["max"]) == (10.0, 8.0, 12.0)
    assert engine["ratio_vs_fit_default"] == 2.5 and rows["fit_default"]["ratio_vs_fit_default"] == 1.0
    assert engine["gflops"] == 20.0 and engine["roofline_fraction"] == 0.2 and engine["jit_auto_choice"] == "on"


def test_replica_ratios_from_known_samples():
    samples = {"fc_1": [10.0, 12.0, 11.0], "fc_2_sync": [5.5] * 3, "fc_2_per_replica": [11.0] * 3}
    samples |= {"fc_4_sync": [2.0, 2.2, 2.4], "fc_4_per_replica": [6.6] * 3}
    found = replicas.ratios(samples)
    assert found["steps_per_second"]["fc_1"] == 11.0 and found["vs_one_device"]["fc_2_sync"] == 0.5
    assert found["sync_vs_per_replica"] == {"fc_2": 2.0, "fc_4": pytest.approx(3.0)}


@pytest.mark.slow  # it trains eight engines
def test_benchmark_times_every_engine_round_robin(tiny_mnist):
    results = engines.benchmark(tiny_mnist, repeats=2, chunks={"fc": 5}, log=lambda line: None)
    rows = {(row["bn"], row["engine"]): row for row in results["results"]}
    assert set(rows) == {(bn, engine) for bn in (True, False) for engine in engines.ENGINES}
    assert len(results["roofline_samples"]) == 2 and min(results["roofline_samples"]) > 0
    for row in rows.values():
        assert len(row["samples"]) == 2 and min(row["samples"]) > 0
    assert "fit_default" in engines.console_table(results)


@pytest.mark.slow  # it trains ten engines, eight of them data-parallel
def test_replica_speed_times_every_variant(tiny_mnist):
    results = replicas.replica_speed(tiny_mnist, repeats=2, chunks={"fc": 5}, log=lambda line: None)
    expected = {"fc_1", *(f"fc_{n}_{bn}" for n in (2, 4) for bn in ("sync", "per_replica"))}
    assert set(results["samples"]) == expected and results["vs_one_device"]["fc_1"] == 1.0
    assert all(len(values) == 2 and min(values) > 0 for values in results["samples"].values())
    assert "synchronized / per-replica BN" in replicas.replica_table(results)


def test_norm_ratios_are_to_bn_on_the_same_network():
    samples = {"fc_bn": [10.0, 12.0, 11.0], "fc_layer": [5.5] * 3, "conv_bn": [2.0] * 3, "conv_group": [1.0, 1.0, 3.0]}
    found = norms.ratios(samples)
    assert found["vs_bn"] == {"fc_bn": 1.0, "fc_layer": 0.5, "conv_bn": 1.0, "conv_group": 0.5}
    assert "conv_group" in norms.norm_table({**found, "samples": samples})


def test_useful_flops_count_only_the_taps_that_meet_a_pixel():
    """On a side-s map a 3x3 'same' conv's taps that meet a pixel are min(3, s)^2 of 9; summed as computed, the
    layers give the step's FLOPs the engine benchmark counts."""
    config = load_config("conv")
    table = profile.layer_table(build_model(config.model, config.bn, 0), 64)
    for row in table.values():
        taps = min(3, row["map"]) ** 2 if row["map"] else 9
        assert row["useful_forward_mflop"] == pytest.approx(row["forward_mflop"] * taps / 9)
    assert [row["map"] for row in table.values()][14:19] == [1] * 5
    total = 3 * sum(row["forward_mflop"] for row in table.values()) * 1e6
    assert total == pytest.approx(engines.step_flops(build_model(config.model, config.bn, 0), 64))


@pytest.mark.parametrize(
    "name, charged",
    [
        ("while/body/_1/while/conv_bn_1/conv5_1/convolution:_MklNativeConv2D", ("conv5", "weights", "forward")),
        (
            "while/body/_1/gradient_tape/while/conv_bn_1/conv2_1/convolution/Conv2DBackpropInput:"
            "_MklNativeConv2DBackpropInput",
            ("conv2", "weights", "backward"),
        ),
        ("while/body/_1/while/conv_no_bn_1/act_conv5_1/Relu:_MklNativeFusedConv2D", ("conv5", "weights", "forward")),
        (
            "while/body/_1/while/conv_bn_1/bn_conv12_1/moments/SquaredDifference:SquaredDifference",
            ("conv12", "bn", "forward"),
        ),
        (
            "while/body/_1/gradient_tape/while/conv_bn_1/act_conv10_1/ReluGrad:ReluGrad",
            ("conv10", "activation", "backward"),
        ),
        ("while/body/_1/while/adam_1/Sqrt_109:Sqrt", ("optimizer", "", "forward")),
        ("while/body/_1/while/AddN_38:AddN", ("other", "", "forward")),
    ],
)
def test_an_op_is_charged_to_the_layer_its_name_carries(name, charged):
    assert profile.charge(name) == charged


@pytest.mark.slow  # builds, compiles and profiles two conv nets
def test_the_profile_charges_nearly_every_op_to_a_layer(tiny_mnist):
    results = profile.conv_profile(tiny_mnist, repeats=1, log=lambda line: None)
    for setting in ("bn", "no_bn"):
        ms = results["profiles"][setting]["op_ms"]
        for layer in results["profiles"][setting]["layers"]:
            assert ms[f"{layer}/weights/forward"] > 0 and ms[f"{layer}/weights/backward"] > 0, (setting, layer)
        assert ms["optimizer//forward"] > 0
        assert sum(v for k, v in ms.items() if k.startswith("other/")) < 0.1 * sum(ms.values())
    table = profile.profile_table(results)
    assert "conv19" in table and table.count("shares of the ops' time: weights") == 2


@pytest.mark.slow  # eight short runs, half of them built and compiled anew
def test_a_kept_network_spares_a_short_run_its_build(tiny_mnist):
    short = ("train.steps=40", "train.eval_every=20", "log.histograms=false")
    results = overhead.run_overhead(tiny_mnist, repeats=2, overrides=short, log=lambda line: None)
    assert all(len(results["samples"][way][kind]) == 2 for way in overhead.WAYS for kind in ("wall", "train"))
    assert results["overhead"]["kept"] < results["overhead"]["new"] and results["wall_new_over_kept"] > 1
    assert "run overhead" in overhead.overhead_table(results)


@pytest.mark.parametrize(
    "results_file, table",
    [
        ("speed-overhead.json", overhead.overhead_table),
        ("speed-profile.json", profile.profile_table),
        ("speed-conv-fit.json", engines.console_table),
    ],
)
def test_speed_md_shows_the_committed_figures(results_file, table):
    docs = Path(__file__).parent.parent / "docs"
    assert table(json.loads((docs / results_file).read_text())) in (docs / "speed.md").read_text()


def test_the_bn_free_bound_scales_the_engine_by_the_steps_time_without_bn():
    profiled = {"profiles": {"bn": {"step_ms": 40.0}, "no_bn": {"step_ms": 30.0}}}
    rows = [
        {"bn": True, "engine": "engine_jit_off", "steps_per_second": 24.0},
        {"bn": True, "engine": "fit_default", "steps_per_second": 20.0},
    ]
    assert profile.bn_free_bound(profiled, {"results": rows}).endswith(
        "30.0 ms instead of 40.0 ms: 32.0 steps/s, 1.60x `fit` default"
    )


def test_speed_md_states_the_committed_bn_free_bound():
    docs = Path(__file__).parent.parent / "docs"
    profiled, fitted = (json.loads((docs / name).read_text()) for name in ("speed-profile.json", "speed-conv-fit.json"))
    assert profile.bn_free_bound(profiled, fitted) in (docs / "speed.md").read_text()
