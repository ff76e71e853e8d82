"""The reports' building blocks: curves that hold a diverged run, number formatting."""

from __future__ import annotations

import math

import numpy as np

from bn_mnist.lab import text
from bn_mnist.lab.stats import Spread
from bn_mnist.plots import seed_curves
from bn_mnist.plots.seed_curves import Curve


def test_seed_matrix_holds_a_run_that_stopped_at_its_last_value():
    steps, values = seed_curves.seed_matrix(
        [
            Curve([0, 500, 1000, 1500], [0.1, 0.5, 0.9, 0.95]),
            Curve([0, 500], [0.1, 0.0958]),
            Curve([0, 500, 1000, 1500], [0.1, None, 0.2, 0.3]),
        ]
    )
    np.testing.assert_array_equal(steps, [0, 500, 1000, 1500])
    np.testing.assert_array_equal(values[1], [0.1, 0.0958, 0.0958, 0.0958])
    assert math.isnan(values[2, 1])


def test_numbers_in_the_report():
    assert [text.number(v) for v in (None, 1500, 0.98321, 2.5)] == ["-", "1,500", "0.9832", "2.50"]
    assert text.spread_text(Spread(5, 0.9, 0.01, 0.89, 0.91)) == "0.9000 ± 0.0100 (0.8900..0.9100), n=5"
    assert text.spread_text(Spread(1, 0.9, None, 0.89, 0.91)) == "0.9000 (0.8900..0.9100), n=1"
    assert [text.seeds_text(s) for s in ({"a": 1, "b": 1}, {"a": 2, "b": 2}, {"a": 5, "b": 3})] == [
        "one seed",
        "two seeds",
        "5 a seeds, 3 b seeds",
    ]
