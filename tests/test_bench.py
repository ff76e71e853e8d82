"""scripts/bench.py: its FLOP counts against a count by hand, and a short run on synthetic data (speed itself is
never asserted: it is a ratio the benchmark reports, measured in one run)."""

from __future__ import annotations

import math
import runpy
from pathlib import Path

import pytest

from bn_mnist.config import load_config
from bn_mnist.nets.models import build_model

BENCH_FILE = Path(__file__).resolve().parent.parent / "scripts" / "bench.py"


@pytest.fixture(scope="module")
def bench():
    return runpy.run_path(str(BENCH_FILE), run_name="bench")


def test_fc_step_flops_by_hand(bench):
    config = load_config("fc")
    model = build_model(config.model, config.bn, 0)
    multiply_adds = 784 * 100 + 100 * 100 + 100 * 100 + 100 * 10
    assert bench["step_flops"](model, 60) == 3 * 2 * multiply_adds * 60


def test_conv_step_flops_by_hand(bench):
    """19 3x3 convs with 4i filters, stride 2 when i % 3 == 0 ('same': the side halves, rounded up)."""
    config = load_config("conv")
    side, channels, multiply_adds = 28, 1, 0
    for i in range(1, 20):
        side = math.ceil(side / 2) if i % 3 == 0 else side
        multiply_adds += side * side * 9 * channels * 4 * i
        channels = 4 * i
    multiply_adds += side * side * channels * 100 + 100 * 10
    assert bench["step_flops"](build_model(config.model, config.bn, 0), 64) == 3 * 2 * multiply_adds * 64


@pytest.mark.slow  # it trains eight engines
def test_benchmark_times_every_engine_round_robin(bench, tiny_mnist):
    results = bench["benchmark"](tiny_mnist, repeats=2, chunks={"fc": 5}, log=lambda line: None)
    rows = {(row["bn"], row["engine"]): row for row in results["results"]}
    assert set(rows) == {(bn, engine) for bn in (True, False) for engine in bench["ENGINES"]}
    assert len(results["roofline_samples"]) == 2 and min(results["roofline_samples"]) > 0
    for row in rows.values():
        assert len(row["samples"]) == 2 and min(row["samples"]) > 0
        assert row["min"] <= row["steps_per_second"] <= row["max"]
    assert "fit_default" in bench["console_table"](results)


@pytest.mark.slow  # it trains ten engines, eight of them data-parallel
def test_replica_speed_times_every_variant(bench, tiny_mnist):
    results = bench["replica_speed"](tiny_mnist, repeats=2, chunks={"fc": 5}, log=lambda line: None)
    expected = {"fc_1", *(f"fc_{n}_{bn}" for n in (2, 4) for bn in ("sync", "per_replica"))}
    assert set(results["samples"]) == expected and results["vs_one_device"]["fc_1"] == 1.0
    assert all(len(values) == 2 and min(values) > 0 for values in results["samples"].values())
    ratio = results["steps_per_second"]["fc_2_per_replica"] / results["steps_per_second"]["fc_2_sync"]
    assert results["sync_vs_per_replica"]["fc_2"] == ratio
    assert "synchronized / per-replica BN" in bench["replica_table"](results)
