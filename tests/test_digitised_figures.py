"""The digitised Lesson figures (bn_mnist/studies/reproduce/lesson_figures.json, made by
tools/digitise_lesson_figures.py from the notebook's PNGs, committed in tests/data/lesson-figures/): reproducible
from the PNGs, consistent with the final accuracies the cells printed and with known facts, and right on figures
drawn from known values."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("digitise_lesson_figures", ROOT / "tools" / "digitise_lesson_figures.py")
assert _spec is not None and _spec.loader is not None
digitise = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(digitise)

FIGURES = {figure["row"]: figure for figure in json.loads(digitise.JSON_PATH.read_text(encoding="utf-8"))["figures"]}
ROWS = range(1, 19)
TOLERANCE = 2  # pixels: the last plotted point against the printed final accuracy, one evaluation later

# The last point is unreadable where the cell's run ended behind the legend (lower right) or under the BN curve.
UNDER_LEGEND = {(row, "no_bn") for row in (4, 5, 8, 11, 13, 15, 17, 18)} | {(17, "bn"), (18, "bn")}
UNDER_BN = {(6, "no_bn"), (9, "no_bn")}  # both runs end at ~0.98, the BN line drawn over the other
# Runs that really move between the last plotted point and the final evaluation (seen in the figures):
MOVING = {
    (2, "no_bn"): "still climbing at the end of its 2,000 batches (about +0.008 a point over the last five)",
    (14, "no_bn"): "bouncing: about 0.008 between consecutive points at the end, up to 0.02",
}


def test_the_pngs_and_rows():
    assert sorted(FIGURES) == list(ROWS)
    for row, figure in FIGURES.items():
        assert (digitise.PNG_DIR / f"row{row:02d}.png").is_file()
        assert figure["cell"] == digitise.CELLS[row - 1]
        assert figure["notebook_commit"] == digitise.NOTEBOOK_COMMIT
        assert len(figure["x"]) == len(figure["curves"]["no_bn"]) == len(figure["curves"]["bn"])
        assert figure["x"][-1] + figure["steps_per_point"] == (2000 if row in digitise.SHORT_ROWS else 50000)


@pytest.mark.parametrize("row", ROWS)
def test_the_digitiser_reproduces_the_committed_json(row):
    figure = FIGURES[row]
    record = digitise.figure_record(row, digitise.PNG_DIR / f"row{row:02d}.png", figure["printed_final"])
    assert json.loads(json.dumps(record)) == figure


@pytest.mark.parametrize("arm", ["no_bn", "bn"])
@pytest.mark.parametrize("row", ROWS)
def test_the_last_point_matches_the_printed_final_accuracy(row, arm):
    figure = FIGURES[row]
    curve, final, pixel = figure["curves"][arm], figure["printed_final"][arm], figure["y_resolution"]
    if (row, arm) in UNDER_LEGEND:  # then what the cell printed must lie behind the legend too
        low, high = figure["legend_box"]["accuracy"]
        assert curve[-1] is None and low <= final <= high and figure["x"][-1] >= figure["legend_box"]["x"][0]
        return
    if (row, arm) in UNDER_BN:  # then what it printed must lie under the BN line's end
        assert curve[-1] is None and abs(final - figure["curves"]["bn"][-1]) <= 3 * pixel
        return
    gap = abs(curve[-1] - final) / pixel
    if (row, arm) in MOVING:  # beyond the tolerance, but within what the run moves from one evaluation to the next
        moves = np.abs(np.diff([a for a in curve[-11:] if a is not None])) / pixel
        assert TOLERANCE < gap <= moves.max(), MOVING[row, arm]
    else:
        assert gap <= TOLERANCE


def test_row3_bn_first_reaches_90_near_2300_steps():
    """The issue tracker: for Lesson cell 18, "the BN curve first reaches 0.9 near 2,300 steps"."""
    figure = FIGURES[3]
    assert figure["reach"]["bn"]["0.9"] == 2500
    before, at = figure["curves"]["bn"][4:6]  # the points at 2,000 and 2,500 steps
    assert before < 0.9 <= at
    crossing = 2000 + (0.9 - before) / (at - before) * 500
    assert abs(crossing - 2300) <= 250


@pytest.mark.parametrize("row", [8, 11])
def test_the_no_bn_curves_of_rows_8_and_11_never_reach_80(row):
    figure = FIGURES[row]
    assert figure["reach"]["no_bn"]["0.8"] is None
    assert max(a for a in figure["curves"]["no_bn"] if a is not None) < 0.5


# The notebook's PNGs came from ipykernel's inline backend: these settings, and a tight bounding box.
INLINE_RC = {
    "figure.figsize": (6.0, 4.0),
    "figure.dpi": 72,
    "savefig.dpi": 72,
    "figure.subplot.bottom": 0.125,
    "figure.facecolor": (1, 1, 1, 0),
    "figure.edgecolor": (1, 1, 1, 0),
    "font.size": 10,
}


def plot_training_accuracies(path, accuracies, batches_per_sample):
    """The notebook's cell 9, saved as the inline backend saves a figure."""
    with matplotlib.rc_context(INLINE_RC):
        fig, ax = plt.subplots()
        for name, training_accuracies in accuracies.items():
            x = range(0, len(training_accuracies) * batches_per_sample, batches_per_sample)
            ax.plot(x, training_accuracies, label=name)
        ax.set_xlabel("Training steps")
        ax.set_ylabel("Accuracy")
        ax.set_title("Validation Accuracy During Training")
        ax.legend(loc=4)
        ax.set_ylim([0, 1])
        plt.yticks(np.arange(0, 1.1, 0.1))
        plt.grid(True)
        fig.savefig(path, bbox_inches="tight", facecolor=fig.get_facecolor(), edgecolor=fig.get_edgecolor())
        plt.close(fig)


def known_curves(n):
    """Curves like the Lesson's: no BN climbs slowly, runs along the BN curve (within +-3 px), then collapses to 0.1
    behind the legend; BN climbs at once, then bounces hard for a while (sharp zig-zags) before settling."""
    rng = np.random.default_rng(0)
    t = np.arange(n)
    bn = 0.985 - 0.9 * np.exp(-t / (n / 40)) + rng.normal(0, 0.003, n)
    bounce = slice(int(0.3 * n), int(0.5 * n))
    bn[bounce] -= np.abs(rng.normal(0, 0.08, bounce.stop - bounce.start))
    no_bn = 0.97 - 0.87 * np.exp(-t / (n / 8)) + rng.normal(0, 0.005, n)
    along = slice(int(0.5 * n), int(0.7 * n))
    no_bn[along] = bn[along] + rng.uniform(-0.012, 0.012, along.stop - along.start)
    no_bn[along.stop :] = 0.0958
    return {"no_bn": np.clip(no_bn, 0, 1), "bn": np.clip(bn, 0, 1)}


@pytest.mark.parametrize(("batches_per_sample", "n_points", "notebook_row"), [(500, 100, 1), (50, 40, 2)])
def test_the_digitiser_recovers_known_values_within_a_pixel(tmp_path, batches_per_sample, n_points, notebook_row):
    truth = known_curves(n_points)
    path = tmp_path / "figure.png"
    plot_training_accuracies(path, dict(zip(digitise.NAMES.values(), truth.values())), batches_per_sample)
    notebook_png = digitise.load_rgb(digitise.PNG_DIR / f"row{notebook_row:02d}.png")
    drawn = digitise.load_rgb(path)
    frame, notebook_frame = digitise.find_frame(drawn), digitise.find_frame(notebook_png)
    assert np.abs(np.diff(frame)[::2] - np.diff(notebook_frame)[::2]).max() <= 1  # the same axes (snapped spines)

    figure = digitise.digitise_png(path, batches_per_sample, n_points)
    assert figure["palette"] == "matplotlib 2.x"
    assert figure["x_tick_step"] == (10000 if batches_per_sample == 500 else 250)
    for arm, values in truth.items():
        read = np.array([np.nan if a is None else a for a in figure["curves"][arm]])
        assert np.nanmax(np.abs(read - values)) <= figure["y_resolution"], arm
        assert np.mean(~np.isnan(read)) >= (0.95 if arm == "bn" else 0.3), arm  # no BN: under BN, then the legend
