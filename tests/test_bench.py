"""scripts/bench.py runs and its numbers are consistent with each other (speed itself is never asserted)."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

BENCH = runpy.run_path(str(Path(__file__).resolve().parent.parent / "scripts" / "bench.py"), run_name="bench")


def test_benchmark_reports_every_engine_with_consistent_ratios(tiny_mnist):
    results = BENCH["benchmark"](tiny_mnist, repeats=2, chunks={"fc": 5}, log=lambda line: None)
    rows = {(row["bn"], row["engine"]): row for row in results["results"]}
    assert set(rows) == {(bn, engine) for bn in (True, False) for engine in BENCH["ENGINES"]}
    assert len(results["roofline_samples"]) == 2 and results["roofline_gflops"] > 0
    for (bn, _), row in rows.items():
        assert len(row["samples"]) == 2 and row["min"] <= row["steps_per_second"] <= row["max"]
        baseline = rows[(bn, "fit_default")]["steps_per_second"]
        assert row["ratio_vs_fit_default"] == pytest.approx(row["steps_per_second"] / baseline)
        assert row["roofline_fraction"] == pytest.approx(row["gflops"] / results["roofline_gflops"])
        assert row["step_mflop"] == pytest.approx(3 * 2 * (784 * 100 + 100 * 100 * 2 + 100 * 10) * 60 / 1e6)
    assert "fit_default" in BENCH["console_table"](results)
