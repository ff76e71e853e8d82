"""The reproduction report's building blocks: curves that hold a diverged run, number formatting."""

from __future__ import annotations

import math

import numpy as np

from bn_mnist.plots import seed_curves
from bn_mnist.reproduction import report


def test_seed_matrix_holds_a_run_that_stopped_at_its_last_value():
    steps, values = seed_curves.seed_matrix(
        [
            {"step": [0, 500, 1000, 1500], "value": [0.1, 0.5, 0.9, 0.95]},
            {"step": [0, 500], "value": [0.1, 0.0958]},
            {"step": [0, 500, 1000, 1500], "value": [0.1, None, 0.2, 0.3]},
        ]
    )
    np.testing.assert_array_equal(steps, [0, 500, 1000, 1500])
    np.testing.assert_array_equal(values[1], [0.1, 0.0958, 0.0958, 0.0958])
    assert math.isnan(values[2, 1])


def test_numbers_in_the_report():
    assert [report.fmt(v) for v in (None, 1500, 0.98321, 2.5)] == ["-", "1,500", "0.9832", "2.50"]
    found = {"mean": 0.9, "sd": 0.01, "min": 0.89, "max": 0.91, "n": 5}
    assert report.spread(found) == "0.9000 ± 0.0100 (0.8900..0.9100), n=5"
    assert report.spread({**found, "sd": None, "n": 1}) == "0.9000 (0.8900..0.9100), n=1"
