"""The reproduction report's building blocks: seed bands that hold a diverged run, number formatting."""

from __future__ import annotations

import math

import numpy as np

from bn_mnist.plots import seed_bands
from bn_mnist.reproduction import report, reproduce


def test_seed_matrix_holds_a_run_that_stopped_at_its_last_value():
    steps, values = seed_bands.seed_matrix(
        [
            {"step": [0, 500, 1000, 1500], "value": [0.1, 0.5, 0.9, 0.95]},
            {"step": [0, 500], "value": [0.1, 0.0958]},
            {"step": [0, 500, 1000, 1500], "value": [0.1, None, 0.2, 0.3]},
        ]
    )
    np.testing.assert_array_equal(steps, [0, 500, 1000, 1500])
    np.testing.assert_array_equal(values[1], [0.1, 0.0958, 0.0958, 0.0958])
    assert math.isnan(values[2, 1])


def test_spread_over_seeds_skips_missing_values():
    assert reproduce.spread_over_seeds([None, None]) is None
    stats = reproduce.spread_over_seeds([0.9, None, 0.8, float("nan")])
    assert stats["n"] == 2 and math.isclose(stats["mean"], 0.85) and math.isclose(stats["std"], 0.05)
    assert reproduce.spread_over_seeds([True, 3])["n"] == 1  # a flag is not a number


def test_numbers_in_the_report():
    assert [report.fmt(v) for v in (None, 1500, 0.98321, 2.5)] == ["-", "1,500", "0.9832", "2.50"]
    assert (
        report.spread({"mean": 0.9, "std": 0.01, "min": 0.89, "max": 0.91}, std=True)
        == "0.9000 ± 0.0100 (0.8900..0.9100)"
    )
