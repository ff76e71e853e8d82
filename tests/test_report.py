"""The reports' building blocks: curves that hold a diverged run, number formatting."""

from __future__ import annotations

import math

import numpy as np

from bn_mnist.core.plots import seed_curves
from bn_mnist.core.plots.seed_curves import Curve
from bn_mnist.lab import text
from bn_mnist.lab.stats import Spread


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


def reproduction_results(null_rates=()):
    """The smallest reproduction results a report renders: no experiment, the rules and the method only."""
    from bn_mnist.studies.reproduce import rules
    from bn_mnist.studies.reproduce.results import Meta, Results

    meta = Meta(
        experiments=[],
        seeds={"conv": 20},
        quick=False,
        quick_lesson_steps=None,
        runs=0,
        train_seconds=0.0,
        command="bn-mnist reproduce all",
        software={},
        execution=None,
        wall_seconds=0.0,
    )
    return Results(meta, {}, {}, rules.Rules(), [], [], [], None, list(null_rates), {}, {}, {})


def test_the_report_prints_the_definitions_the_code_applies():
    """Every verdict word's definition and every measured word of the text come from the definitions the code
    judges by (ranktests.WORDS, rules.definitions), and the rules' numbers are those in force."""
    from bn_mnist.studies.reproduce import ranktests, report, rules

    markdown = report.markdown(
        reproduction_results([ranktests.NullRate("near 1, skewed", "value", 20, 100, 100, 0.09, 0.03)])
    )
    for word, meaning in ranktests.WORDS.items():
        assert f"- **{word}**: {meaning}" in markdown
    for line in rules.definitions():
        assert line in markdown
    assert (
        f">= {rules.BOUNCES} drops of >= {rules.WILD_BOUNCE}" in markdown and f"level {ranktests.ALPHA:g}" in markdown
    )
    assert "| near 1, skewed | value | 20 | 100 | 100 | 0.0900 ± 0.0300 |" in markdown
    assert "## Rules changed after seeing results\n\nNone.\n" in markdown and rules.HISTORY in markdown
