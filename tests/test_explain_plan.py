"""`explain`'s plan and read-outs, without training: the runs each study needs, and the rules its numbers follow."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from bn_mnist.cli import main
from bn_mnist.core.config import to_dict
from bn_mnist.core.tensorboard import tags
from bn_mnist.lab import stats
from bn_mnist.lab.stats import Spread, judge_fraction
from bn_mnist.lab.study import choose
from bn_mnist.lab.text import sci
from bn_mnist.lab.verdicts import AGREE, INCONCLUSIVE, NOT_SUPPORTED, PARTLY, SUPPORTED, UNDECIDED
from bn_mnist.studies.explain import STUDIES, batch, common, grid, ics, init, inside, landscape, lr, plain, smoothness
from bn_mnist.studies.explain import study as explain_study
from bn_mnist.studies.explain.common import BUDGETS
from bn_mnist.studies.explain.results import (
    BatchStudy,
    GridPanel,
    GridStudy,
    IcsStudy,
    InsideArm,
    LandscapeStudy,
    LayerShift,
    MeasureArm,
    NoisyBN,
    Outcomes,
    PairedMeasure,
    PlainStudy,
    SpreadCurve,
    Studies,
)


@pytest.mark.parametrize("quick", [True, False])
def test_each_seeds_bn_and_non_bn_runs_differ_only_in_bn(quick):
    specs = {spec.key: spec for spec in explain_study.plan(STUDIES, choose(BUDGETS, None, quick)).specs()}
    pairs = [key for key in specs if "/bn-seed" in key]
    assert pairs
    for key in pairs:
        bn, no_bn = to_dict(specs[key].config), to_dict(specs[key.replace("/bn-seed", "/no_bn-seed")].config)
        assert {k: v for k, v in bn.items() if k != "bn"} == {k: v for k, v in no_bn.items() if k != "bn"}
        assert bn["bn"]["enabled"] and not no_bn["bn"]["enabled"]


def test_grid_runs_sweep_exactly_their_key():
    specs = explain_study.plan(("lr", "init"), choose(BUDGETS, 1, quick=False)).specs()
    rates = {spec.config.train.learning_rate for spec in specs if spec.key.startswith("lr/fc-relu/")}
    swept = [spec for spec in specs if spec.key.startswith("init/fc-sigmoid/") and "/control/" not in spec.key]
    assert rates == set(common.FC_RATES) and {spec.config.model.init_std for spec in swept} == set(common.INIT_STDS)
    controls = {
        spec.key.split("/")[1] + "/" + spec.key.split("/")[3]: spec.config for spec in specs if "/control/" in spec.key
    }
    assert set(controls) == {"fc-relu/he-seed0", "fc-relu/lsuv-seed0", "fc-sigmoid/lsuv-seed0"}  # He is for ReLU
    for key, config in controls.items():  # no BN, the panel's rate, its own init and activation
        assert not config.bn.enabled and config.train.learning_rate == common.FC_LEARNING_RATE
        assert config.model.weight_init == ("he_normal" if "/he" in key else "lsuv")
        assert config.model.activation == ("sigmoid" if "sigmoid" in key else "relu")
    conv = [spec.config for spec in specs if spec.key.startswith("lr/conv/")]
    assert {c.train.optimizer for c in conv} == {"adam"} and {c.train.steps for c in conv} == {800}
    assert all(spec.config.model.activation == "sigmoid" for spec in specs if "fc-sigmoid" in spec.key)


def test_landscape_and_ics_share_their_probed_runs_and_batch_runs_see_the_same_examples():
    budget = choose(BUDGETS, 3, quick=False)
    assert explain_study.plan(("landscape",), budget).specs() == explain_study.plan(("ics",), budget).specs()
    assert all(spec.probe is smoothness.smoothness_probe for spec in explain_study.plan(("landscape",), budget).specs())
    batch = explain_study.plan(("batch",), budget).specs()
    assert {spec.config.train.steps * spec.config.train.batch_size for spec in batch} == {120_000}
    assert {spec.config.train.batch_size for spec in batch} == set(common.BATCH_SIZES)
    for spec in batch:  # the learning rate scales with the batch: 0.1 at the Lesson's 60
        assert spec.config.train.learning_rate == pytest.approx(0.1 * spec.config.train.batch_size / 60)
    renorm = [spec.config.bn for spec in batch if "/renorm-" in spec.key]
    assert renorm and all(bn.renorm and bn.renorm_clipping.rmax == 3.0 for bn in renorm)


def test_budgets():
    assert choose(BUDGETS, None, quick=False).seeds == {"fc": 10, "conv": 5, "batch": 10, "plain": 10}
    assert choose(BUDGETS, None, quick=True).seeds == {"fc": 2, "conv": 2, "batch": 2, "plain": 2}  # never one
    quick = choose(BUDGETS, 4, quick=True)
    assert set(quick.seeds.values()) == {4} and quick.steps == {"fc": 500, "conv": 50} and quick.seeds_option == 4
    full = choose(BUDGETS, None, quick=False)
    # lr: 2 FC panels x 9 rates x 2 arms x 10 seeds + 5 conv rates x 2 x 5; init: 2 x 7 x 2 x 10 + 3 controls x 10;
    # inside: 4 arms x (10 + 5); landscape and ics share 3 x 10; batch: 6 sizes x 7 arms x 10; plain: 5 arms x 10
    assert len(explain_study.plan(STUDIES, full)) == 360 + 50 + 280 + 30 + 60 + 30 + 420 + 50


def point(k: int, n: int = 4) -> Outcomes:
    trains = judge_fraction([True] * k + [False] * (n - k))
    return Outcomes(None, None, [], judge_fraction([False] * n), trains)


def test_the_usable_range_needs_more_than_half_of_the_seeds():
    values = [0.001, 0.01, 0.1, 1.0, 10.0]
    found = grid.usable_range(values, [point(0), point(3), point(2), point(4), point(1)])
    assert found.values == [0.01, 1.0]  # 2 of 4 is not more than half
    assert found.low == 0.01 and found.high == 1.0 and found.decades == pytest.approx(2.0)
    empty = grid.usable_range(values, [point(0)] * 5)
    assert (empty.values, empty.low, empty.high, empty.decades) == ([], None, None, None)


def test_an_unknown_study_is_one_clear_error():
    result = CliRunner().invoke(main, ["explain", "landscpe"])
    assert result.exit_code == 2
    assert "'landscpe' is not one of 'lr', 'init', 'inside', 'landscape', 'ics', 'batch', 'plain'" in result.output


def test_explain_help_names_the_studies():
    result = CliRunner().invoke(main, ["explain", "--help"])
    text = " ".join(result.output.split())  # click wraps the help
    assert result.exit_code == 0 and "lr, init, inside, landscape, ics, batch, plain (default: all)" in text


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
    answer = inside.inside_text("conv", arms, inside.inside_answer(arms["no_bn"]))
    assert cause in answer
    assert f"to {sci(sd_last)} (conv19)" in answer  # the deepest layer of the first's kind, not dense20


def seeds_outcomes(accuracies: list[float | None]) -> Outcomes:
    """One setting's outcomes over seeds, as common.outcomes makes them from final validation accuracies."""
    trains = judge_fraction([a is not None and a >= common.REACH for a in accuracies])
    return Outcomes(stats.spread(accuracies), None, accuracies, judge_fraction([False] * len(accuracies)), trains)


def batch_numbers(drops: dict[str, float], noise: float = 0.002, seeds: int = 10) -> BatchStudy:
    """Per arm, accuracy 0.97 at batch 64 and 0.97 - drop at batch 2, each seed off by a known +-noise pattern that
    differs between arms."""
    arms = {}
    for index, (key, drop) in enumerate(drops.items()):
        wobble = [noise * ((seed * (index + 2)) % 5 - 2) / 2 for seed in range(seeds)]
        large = [0.97 + w for w in wobble]
        small = [0.97 - drop - w for w in wobble]
        arms[key] = [seeds_outcomes(small), seeds_outcomes(large)]
    drop, excess, reduction = batch.batch_drops(arms)
    return BatchStudy([2, 64], 120_000, [0.1 * 2 / 60, 0.1 * 64 / 60], arms, drop, excess, reduction)


@pytest.mark.parametrize(
    ("drops", "noise", "word"),
    [
        ({"bn": 0.2, "group": 0.0, "layer": 0.002}, 0.002, SUPPORTED),  # BN falls, GN and LN flat
        ({"bn": 0.2, "group": -0.05, "layer": 0.0}, 0.002, SUPPORTED),  # GN better at batch 2: it keeps it
        ({"bn": 0.2, "group": 0.05, "layer": 0.0}, 0.002, NOT_SUPPORTED),  # GN falls too
        ({"bn": 0.0, "group": 0.0, "layer": 0.0}, 0.002, NOT_SUPPORTED),  # BN flat
        ({"bn": -0.05, "group": 0.0, "layer": 0.0}, 0.002, NOT_SUPPORTED),  # BN better at batch 2
        ({"bn": 0.2, "group": 0.0, "layer": 0.0}, 0.02, INCONCLUSIVE),  # GN's interval too wide to be flat
        ({"bn": 0.012, "group": 0.0, "layer": 0.0}, 0.002, INCONCLUSIVE),  # BN's drop not beyond the margin
    ],
)
def test_every_verdict_of_the_batch_independent_rule_is_reachable(drops, noise, word):
    study = batch_numbers({**drops, "renorm": 0.1, "no_bn": 0.0}, noise)
    verdict = batch.judge(study)["batch_independent"]
    assert verdict.word == word
    assert set(verdict.parts) == {*drops, "renorm"}  # no normalization is the control, not judged


def test_the_batch_rule_judges_each_norm_against_no_normalization():
    """When the schedule alone costs 0.2 at batch 2, BN's drop of 0.2 is none of BN's doing: flat, not supported;
    GN losing nothing is then 0.2 better than no normalization there: it rises."""
    verdict = batch.judge(batch_numbers({"bn": 0.2, "group": 0.0, "layer": 0.2, "no_bn": 0.2}))["batch_independent"]
    assert (verdict.parts["bn"], verdict.parts["group"], verdict.parts["layer"]) == (
        batch.FLAT,
        batch.RISES,
        batch.FLAT,
    )
    assert verdict.word == NOT_SUPPORTED


@pytest.mark.parametrize(
    ("drops", "noise", "word"),
    [
        ({"bn": 0.2, "renorm_warmup": 0.05}, 0.002, SUPPORTED),  # BN falls; renorm removes 0.15 of it
        ({"bn": 0.2, "renorm_warmup": 0.2}, 0.002, PARTLY),  # renorm falls as far
        ({"bn": 0.2, "renorm_warmup": 0.25}, 0.002, PARTLY),  # or further
        ({"bn": 0.0, "renorm_warmup": 0.0}, 0.002, NOT_SUPPORTED),  # BN does not fall
        ({"bn": -0.05, "renorm_warmup": 0.0}, 0.002, NOT_SUPPORTED),  # BN better at batch 2
        ({"bn": 0.2, "renorm_warmup": 0.19}, 0.02, INCONCLUSIVE),  # renorm's reduction cannot be told
        ({"bn": 0.012, "renorm_warmup": 0.0}, 0.002, INCONCLUSIVE),  # BN's fall is not beyond the margin
    ],
)
def test_every_verdict_of_the_batch_size_rule_is_reachable(drops, noise, word):
    study = batch_numbers({**drops, "bessel": 0.2, "renorm": 0.1, "no_bn": 0.0}, noise)
    verdict = batch.judge(study)["batch"]
    assert verdict.word == word
    assert set(verdict.parts) == {"bn", "bessel", "renorm", "renorm_warmup"}  # every variant gets its word


def test_the_batch_rule_needs_the_batch_independent_arms():
    """results.json from before GN and LN joined the study has no drops: their claim is not judged."""
    old = batch_numbers({"bn": 0.2, "renorm": 0.0, "no_bn": 0.0})
    old = BatchStudy(old.sizes, old.examples, old.learning_rates, old.arms)
    assert explain_study.judge(Studies(batch=old)).batch_independent is None


def plain_numbers(learned: dict[str, int], seeds: int = 10) -> PlainStudy:
    arms = {key: seeds_outcomes([0.96] * k + [0.1] * (seeds - k)) for key, k in learned.items()}
    behind = {key: stats.paired_effect(arms["bn"].seeds, found.seeds) for key, found in arms.items() if key != "bn"}
    return PlainStudy(800, arms, behind)


@pytest.mark.parametrize(
    ("he", "lsuv", "selu", "word"),
    [
        (10, 9, 10, SUPPORTED),  # 9/10: Wilson 0.60..0.98
        (10, 0, 0, PARTLY),  # 10/10: 0.72..1
        (0, 1, 0, NOT_SUPPORTED),  # 0/10: 0..0.28, 1/10: 0.02..0.40
        (8, 2, 0, INCONCLUSIVE),  # 8/10: 0.49..0.94, 2/10: 0.06..0.51
    ],
)
def test_every_verdict_of_the_plain_net_rule_is_reachable(he, lsuv, selu, word):
    verdict = plain.judge(plain_numbers({"bn": 10, "no_bn": 0, "he": he, "lsuv": lsuv, "selu": selu}))["plain"]
    assert verdict.word == word
    assert verdict.parts["bn"] == plain.LEARNS and verdict.parts["no_bn"] == plain.FAILS


def test_the_plain_rule_text_gives_the_seed_counts_that_decide_at_10_seeds():
    """9 of 10 is the fewest that learn and 1 of 10 the most that do not learn, as the rule says."""
    words = [plain.RULE.parts[0].word(judge_fraction([True] * k + [False] * (10 - k))) for k in range(11)]
    assert words == [plain.FAILS] * 2 + [UNDECIDED] * 7 + [plain.LEARNS] * 2
    assert "9 or more of 10" in plain.RULE.text() and "at most 1 of 10" in plain.RULE.text()


def test_three_seeds_cannot_decide_whether_an_arm_learns():
    """The Wilson interval of 3/3 is 0.44..1 and of 0/3 0..0.56: the plain study has its own 10 seeds."""
    verdict = plain.judge(plain_numbers({"bn": 3, "no_bn": 0, "he": 3, "lsuv": 0, "selu": 0}, seeds=3))["plain"]
    assert set(verdict.parts.values()) == {UNDECIDED} and verdict.word == INCONCLUSIVE
    assert choose(BUDGETS, None, quick=False).seeds["plain"] == 10


RATES = [0.001, 0.1, 1.0, 10.0]


def lr_numbers(bn_breaks: list[int], no_bn_breaks: list[int], small_gap: float, noise: float = 0.002) -> GridPanel:
    """Per seed, the index of the first rate at which BN's (no BN's) run diverges (len(RATES): none); at the smallest
    rate BN ends small_gap above no BN's 0.8, each seed off by a known +-noise pattern; 0.95 elsewhere."""
    seeds = len(bn_breaks)
    wobble = [noise * (seed % 5 - 2) / 2 for seed in range(seeds)]
    at_small = {"bn": [0.8 + small_gap + w for w in wobble], "no_bn": [0.8 - w for w in wobble]}
    points = {arm: [seeds_outcomes(at_small[arm] if i == 0 else [0.95] * seeds) for i in range(4)] for arm in at_small}
    breaks = {"bn": bn_breaks, "no_bn": no_bn_breaks}
    diverged = {arm: [[i >= b for b in breaks[arm]] for i in range(len(RATES))] for arm in breaks}
    return grid.paired_panel(lr.GRID.panels[0], RATES, points, diverged)


@pytest.mark.parametrize(
    ("bn_breaks", "no_bn_breaks", "small_gap", "word"),
    [
        ([3] * 10, [2] * 10, 0.0, SUPPORTED),  # stable to 1 vs 0.1, even at 0.001
        ([3] * 10, [2] * 10, -0.05, SUPPORTED),  # BN behind at the small rate: its advantage is gone
        ([3] * 10, [2] * 10, 0.3, PARTLY),  # BN ahead at the small rate too
        ([4] * 9 + [2], [2] * 10, 0.0, SUPPORTED),  # 9 of 10 seeds higher decide
        ([3] * 10, [3] * 10, 0.0, NOT_SUPPORTED),  # never higher
        ([3] * 7 + [2] * 3, [2] * 10, 0.0, INCONCLUSIVE),  # 7 of 10: undecided
        ([3] * 10, [2] * 10, 0.012, INCONCLUSIVE),  # the small-rate interval crosses the margin
        ([3] * 5, [2] * 5, 0.0, SUPPORTED),  # 5 of 5 conv seeds decide (Wilson 0.57..1)
        ([3] * 3, [2] * 3, 0.0, INCONCLUSIVE),  # 3 of 3 cannot (0.44..1)
        ([4] * 10, [4] * 10, 0.0, INCONCLUSIVE),  # both stable at the grid's top: it cannot judge
        ([4] * 10, [4] * 9 + [3], 0.0, INCONCLUSIVE),  # one seed it can judge is not enough
    ],
)
def test_every_verdict_of_the_learning_rate_rule_is_reachable(bn_breaks, no_bn_breaks, small_gap, word):
    panel = lr_numbers(bn_breaks, no_bn_breaks, small_gap)
    verdict = lr.STUDY.judge(GridStudy(common.REACH, {"fc-relu": panel}))["lr"]
    assert verdict.word == word and verdict.parts["fc-relu"] == word


def test_the_largest_stable_rate_is_where_a_seed_first_diverges():
    diverged = [[False, True, False], [False, False, True], [True, False, False]]  # per rate, per seed
    # seed 1 diverged at 0.001: none; seed 2 at 0.1, though not at 1: its first divergence counts
    assert grid.largest_stable(RATES[:3], diverged) == [0.1, None, 0.001]
    panel = lr_numbers([3, 0, 4], [2, 2, 2], 0.0)
    assert panel.largest_stable == {"bn": [1.0, None, 10.0], "no_bn": [0.1, 0.1, 0.1]}
    assert panel.stable_higher.k == 2  # a seed stable nowhere is not higher


def init_numbers(curves: dict[str, list[float]], noise: float = 0.002, seeds: int = 10) -> GridPanel:
    """Per arm its mean final accuracy at each initial SD; each run off by seeded normal noise of SD `noise`."""
    values, rng = list(common.INIT_STDS), np.random.default_rng(0)
    points = {
        arm: [seeds_outcomes(list(acc + noise * rng.standard_normal(seeds))) for acc in curve]
        for arm, curve in curves.items()
    }
    diverged = {arm: [[False] * seeds for _ in values] for arm in curves}
    return grid.paired_panel(init.GRID.panels[0], values, points, diverged)


FLAT, FALLING, DEAD = [0.97] * 7, [0.97, 0.97, 0.96, 0.9, 0.8, 0.7, 0.64], [0.97, 0.97, 0.9, 0.5, 0.1, 0.1, 0.1]


@pytest.mark.parametrize(
    ("bn", "no_bn", "seeds", "word"),
    [
        (FLAT, DEAD, 10, SUPPORTED),  # BN does not care, no BN does
        (FALLING, DEAD, 10, PARTLY),  # BN cares, less than no BN
        ([0.97] * 6 + [0.96], DEAD, 10, PARTLY),  # a fall of 0.01 at one SD is told at 10 seeds
        ([0.97] * 6 + [0.96], DEAD, 3, INCONCLUSIVE),  # not at 3
        (FLAT, FLAT, 10, NOT_SUPPORTED),  # nothing for BN to fix
        (DEAD, DEAD, 10, NOT_SUPPORTED),  # BN cares as much
    ],
)
def test_every_verdict_of_the_initial_scale_rule_is_reachable(bn, no_bn, seeds, word):
    """Seed-to-seed noise of SD 0.003 (this net's is ~0.002)."""
    panel = init_numbers({"bn": bn, "no_bn": no_bn}, 0.003, seeds)
    verdict = init.STUDY.judge(GridStudy(common.REACH, {"fc-relu": panel}))["init"]
    assert verdict.word == word and verdict.parts["fc-relu"] == word


def test_the_effective_rate_is_the_rate_over_the_first_kernels_squared_norm():
    panel = init_numbers({"bn": FLAT, "no_bn": FLAT})
    assert panel.effective_rate[0] == pytest.approx(0.1 / (0.01**2 * 784 * 100))  # SGD 0.1, SD 0.01, 784 x 100
    assert panel.effective_rate[-1] == pytest.approx(0.1 / (25 * 784 * 100))  # SD 5: 250,000 times smaller


def landscape_numbers(decades: dict[str, float], seeds: int = 10) -> LandscapeStudy:
    """Per judged measure, BN's median log10(no BN's) + decades, each seed off by seeded noise of 0.05 decades."""
    rng, nothing = np.random.default_rng(0), MeasureArm(SpreadCurve([], []), None)
    paired = {}
    for tag in landscape.JUDGED_LANDSCAPE:
        no_bn = list(rng.normal(size=seeds))
        bn = [x + decades.get(tag, decades["rest"]) + 0.05 * rng.standard_normal() for x in no_bn]
        smaller = judge_fraction([b < n for b, n in zip(bn, no_bn)])
        paired[tag] = PairedMeasure(smaller, nothing, nothing, stats.paired_effect(bn, no_bn))
    return LandscapeStudy(0.1, [0.1], [0.01], paired)


BETA_HELD_OUT = "landscape_held_out/beta_smoothness"


@pytest.mark.parametrize(
    ("decades", "word"),
    [
        ({"rest": -1.0}, SUPPORTED),  # every measure 10x smaller with BN
        ({"rest": -1.0, BETA_HELD_OUT: 0.0}, PARTLY),  # one of them the same
        ({"rest": -1.0, BETA_HELD_OUT: 0.3}, INCONCLUSIVE),  # one of them 2x larger: they disagree
        ({"rest": 0.0}, NOT_SUPPORTED),  # all the same
        ({"rest": 0.0, BETA_HELD_OUT: 0.5}, NOT_SUPPORTED),  # none smaller, one larger
        ({"rest": 0.0, BETA_HELD_OUT: -0.1}, INCONCLUSIVE),  # none smaller, one cannot be told
    ],
)
def test_every_verdict_of_the_landscape_rule_is_reachable(decades, word):
    verdict = landscape.judge(landscape_numbers(decades))["landscape"]
    assert verdict.word == word and set(verdict.parts) == set(landscape.JUDGED_LANDSCAPE)


def ics_numbers(shifts: dict[str, tuple[float, float]], seeds: int = 10) -> IcsStudy:
    """Per layer after the first, BN's l2 shift in decades and its cosine minus no BN's, each seed off by seeded
    noise (0.05 decades, 0.005 in cosine)."""
    rng, layers = np.random.default_rng(0), ["dense01", *shifts]
    l2, cosine = {}, {}
    for layer in layers:
        decades, closer = shifts.get(layer, (0.0, 0.0))
        l2_effect = stats.paired_effect(list(decades + 0.05 * rng.standard_normal(seeds)), [0.0] * seeds)
        cos_effect = stats.paired_effect(list(closer + 0.005 * rng.standard_normal(seeds)), [0.0] * seeds)
        none = judge_fraction([False] * seeds)
        l2[layer], cosine[layer] = LayerShift(none, None, None, l2_effect), LayerShift(none, None, None, cos_effect)
    return IcsStudy(layers, 0.1, l2, cosine)


@pytest.mark.parametrize(
    ("shifts", "word"),
    [
        ({"dense02": (0.3, -0.1), "dense03": (0.0, 0.0), "logits": (0.2, 0.0)}, SUPPORTED),  # never reduced
        ({"dense02": (-0.5, 0.1), "dense03": (-0.5, 0.1), "logits": (-0.5, 0.1)}, NOT_SUPPORTED),  # always
        ({"dense02": (0.3, -0.1), "dense03": (-0.5, 0.1), "logits": (-0.5, 0.1)}, PARTLY),  # in two of three
        ({"dense02": (-0.5, 0.0), "dense03": (-0.5, 0.1), "logits": (-0.5, 0.1)}, INCONCLUSIVE),  # l2 smaller,
        # cosine the same: the measures disagree in dense02
    ],
)
def test_every_verdict_of_the_covariate_shift_rule_is_reachable(shifts, word):
    verdict = ics.judge(ics_numbers(shifts))["ics"]
    assert verdict.word == word and "dense01" not in verdict.parts  # nothing before the first layer


@pytest.mark.parametrize(
    ("behind", "noise", "word"),
    [
        (0.0, 0.002, SUPPORTED),  # noisy BN as good as BN
        (-0.02, 0.002, SUPPORTED),  # better
        (0.05, 0.002, NOT_SUPPORTED),  # 0.05 behind
        (0.01, 0.002, INCONCLUSIVE),  # about the margin: the seeds cannot tell
    ],
)
def test_every_verdict_of_the_noisy_bn_rule_is_reachable(behind, noise, word):
    rng = np.random.default_rng(0)
    bn = list(0.97 + noise * rng.standard_normal(10))
    noisy = [b - behind + noise * rng.standard_normal() for b in bn]
    found = NoisyBN(seeds_outcomes(noisy), stats.paired_effect(bn, noisy), stats.paired_effect(noisy, [0.9] * 10), {})
    assert ics.NOISY_RULE.judge({"behind BN": found.behind_bn}).word == word


@pytest.mark.parametrize(
    ("words", "word"),
    [
        ([SUPPORTED] * 3, SUPPORTED),
        ([NOT_SUPPORTED] * 2, NOT_SUPPORTED),
        ([SUPPORTED, NOT_SUPPORTED], PARTLY),
        ([PARTLY, INCONCLUSIVE], PARTLY),
        ([NOT_SUPPORTED, INCONCLUSIVE], INCONCLUSIVE),
    ],
)
def test_panels_combine_into_one_word(words, word):
    assert AGREE.word(dict(enumerate(words))) == word


def test_the_batch_and_plain_plans_change_only_the_normalization_and_the_init():
    budget = choose(BUDGETS, None, quick=False)
    batch = {spec.key: spec.config for spec in explain_study.plan(("batch",), budget).specs()}
    assert {c.train.batch_size for c in batch.values()} == {2, 4, 8, 16, 32, 64}
    kinds = {
        (key.split("/")[2].split("-seed")[0], c.bn.enabled, c.bn.kind, c.bn.impl, c.bn.renorm, c.bn.bessel)
        for key, c in batch.items()
    }
    assert kinds == {  # every run of each arm, at every size and seed
        ("bn", True, "batch", "keras", False, False),
        ("bessel", True, "batch", "nn", False, True),
        ("renorm", True, "batch", "keras", True, False),
        ("renorm_warmup", True, "batch", "nn", True, False),
        ("group", True, "group", "keras", False, False),
        ("layer", True, "layer", "keras", False, False),
        ("no_bn", False, "batch", "keras", False, False),
    }
    for key, config in batch.items():  # the warm-up: plain BN for 5% of the run, relaxed by 30%
        warmup, steps = config.bn.renorm_warmup, config.train.steps
        assert (warmup.hold, warmup.relaxed) == (
            (round(steps * 0.05), round(steps * 0.3)) if "warmup" in key else (0, 0)
        )
    plain = {spec.key: spec.config for spec in explain_study.plan(("plain",), budget).specs()}
    assert len(plain) == 5 * 10 and {c.train.steps for c in plain.values()} == {800}
    starts = {
        (key.split("/")[1].split("-seed")[0], c.bn.enabled, c.model.weight_init, c.model.activation)
        for key, c in plain.items()
    }
    assert starts == {
        ("bn", True, "glorot_uniform", "relu"),
        ("no_bn", False, "glorot_uniform", "relu"),
        ("he", False, "he_normal", "relu"),
        ("lsuv", False, "lsuv", "relu"),
        ("selu", False, "lecun_normal", "selu"),
    }
