"""`explain`'s plan and read-outs, without training: the runs each study needs, and the rules its numbers follow."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from bn_mnist.cli import main
from bn_mnist.config import to_dict
from bn_mnist.explanation import STUDIES, analysis, claims, report, studies
from bn_mnist.explanation.results import InsideArm, Outcomes
from bn_mnist.explanation.studies import Budget
from bn_mnist.lab.stats import Spread, judge_fraction
from bn_mnist.tensorboard import tags


@pytest.mark.parametrize("quick", [True, False])
def test_each_seeds_bn_and_non_bn_runs_differ_only_in_bn(quick):
    specs = {spec.key: spec for spec in studies.plan(STUDIES, Budget.choose(None, quick)).specs()}
    pairs = [key for key in specs if "/bn-seed" in key]
    assert pairs
    for key in pairs:
        bn, no_bn = to_dict(specs[key].config), to_dict(specs[key.replace("/bn-seed", "/no_bn-seed")].config)
        assert {k: v for k, v in bn.items() if k != "bn"} == {k: v for k, v in no_bn.items() if k != "bn"}
        assert bn["bn"]["enabled"] and not no_bn["bn"]["enabled"]


def test_grid_runs_sweep_exactly_their_key():
    specs = studies.plan(("lr", "init"), Budget.choose(1, quick=False)).specs()
    rates = {spec.config.train.learning_rate for spec in specs if spec.key.startswith("lr/fc-relu/")}
    stds = {spec.config.model.init_std for spec in specs if spec.key.startswith("init/fc-sigmoid/")}
    assert rates == set(studies.FC_RATES) and stds == set(studies.INIT_STDS)
    conv = [spec.config for spec in specs if spec.key.startswith("lr/conv/")]
    assert {c.train.optimizer for c in conv} == {"adam"} and {c.train.steps for c in conv} == {800}
    assert all(spec.config.model.activation == "sigmoid" for spec in specs if "fc-sigmoid" in spec.key)


def test_landscape_and_ics_share_their_probed_runs_and_batch_runs_see_the_same_examples():
    budget = Budget.choose(3, quick=False)
    assert studies.plan(("landscape",), budget).specs() == studies.plan(("ics",), budget).specs()
    assert all(spec.probe is studies.smoothness_probe for spec in studies.plan(("landscape",), budget).specs())
    batch = studies.plan(("batch",), budget).specs()
    assert {spec.config.train.steps * spec.config.train.batch_size for spec in batch} == {120_000}
    assert {spec.config.train.batch_size for spec in batch} == set(studies.BATCH_SIZES)
    for spec in batch:  # the learning rate scales with the batch: 0.1 at the Lesson's 60
        assert spec.config.train.learning_rate == pytest.approx(0.1 * spec.config.train.batch_size / 60)
    renorm = [spec.config.bn for spec in batch if "/renorm-" in spec.key]
    assert renorm and all(bn.renorm and bn.renorm_clipping.rmax == 3.0 for bn in renorm)


def test_budgets():
    assert Budget.choose(None, quick=False).seeds == {"fc": 5, "conv": 3}
    assert Budget.choose(None, quick=True).seeds == {"fc": 2, "conv": 2}  # never one: no spread
    quick = Budget.choose(4, quick=True)
    assert quick.seeds == {"fc": 4, "conv": 4} and quick.steps == {"fc": 500, "conv": 200} and quick.seeds_option == 4
    full = Budget.choose(None, quick=False)
    assert len(studies.plan(STUDIES, full)) == 451  # the count the committed docs/explain report was made with


def point(k: int, n: int = 4) -> Outcomes:
    trains = judge_fraction([True] * k + [False] * (n - k))
    return Outcomes(None, None, [], judge_fraction([False] * n), trains)


def test_the_usable_range_needs_more_than_half_of_the_seeds():
    values = [0.001, 0.01, 0.1, 1.0, 10.0]
    found = analysis.usable_range(values, [point(0), point(3), point(2), point(4), point(1)])
    assert found.values == [0.01, 1.0]  # 2 of 4 is not more than half
    assert found.low == 0.01 and found.high == 1.0 and found.decades == pytest.approx(2.0)
    empty = analysis.usable_range(values, [point(0)] * 5)
    assert (empty.values, empty.low, empty.high, empty.decades) == ([], None, None, None)


def test_an_unknown_study_is_one_clear_error():
    result = CliRunner().invoke(main, ["explain", "landscpe"])
    assert result.exit_code == 2
    assert "'landscpe' is not one of 'lr', 'init', 'inside', 'landscape', 'ics', 'batch'" in result.output


def test_explain_help_names_the_studies():
    result = CliRunner().invoke(main, ["explain", "--help"])
    assert result.exit_code == 0 and "lr, init, inside, landscape, ics, batch" in result.output


def inside_arm(sd_first: float, sd_last: float, dead_end: float) -> InsideArm:
    """One arm of the inside study's numbers, as analysis makes them: two conv layers, a dense one, the logits."""

    def layers(**values: float) -> dict:
        return {name: Spread(1, value, None, value, value) for name, value in values.items()}

    moment = {
        tags.ACTIVATION_STD: layers(conv01=sd_first, conv19=sd_last, dense20=0.5, logits=sd_last),
        tags.DEAD_RELU: layers(conv01=0.0, conv19=0.1, dense20=0.0),
        tags.GRADIENT_NORM: layers(conv01=1e-3, conv19=1e-3, dense20=1e-3, logits=1e-3),
    }
    end = {**moment, tags.DEAD_RELU: layers(conv01=0.0, conv19=dead_end, dense20=0.0)}
    return InsideArm(**vars(point(0, 1)), steps=[0, 800], start=moment, end=end)


@pytest.mark.parametrize(
    ("sd_last", "dead_end", "cause"),
    [
        (1e-7, 0.6, "The signal vanishes with depth"),  # the deepest conv layer's SD 1e-6 of the first's
        (0.05, 0.6, "Most of the deepest layer's ReLUs die"),
        (0.05, 0.2, "Neither a vanishing signal nor dead units"),
    ],
)
def test_the_inside_answer_follows_from_the_numbers(sd_last, dead_end, cause):
    arms = {"bn": inside_arm(0.6, 0.6, 0.0), "no_bn": inside_arm(0.1, sd_last, dead_end)}
    answer = report.inside_answer("conv", arms, claims.inside_answer(arms["no_bn"]))
    assert cause in answer
    assert f"to {report.sci(sd_last)} (conv19)" in answer  # the deepest layer of the first's kind, not dense20
