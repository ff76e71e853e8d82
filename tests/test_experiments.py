"""The catalogue of published experiments: rows, shared settings, and configs equal to the shipped YAML files."""

from __future__ import annotations

import dataclasses

from bn_mnist.core.config import load_config
from bn_mnist.lab.arms import BN, BN_KERAS, BN_NN, NO_BN
from bn_mnist.lab.study import choose
from bn_mnist.studies.reproduce import EXPERIMENTS
from bn_mnist.studies.reproduce.experiments import (
    BUDGETS,
    LESSON,
    LESSON_STEPS,
    QUICK_LESSON_STEPS,
    SHORT_STEPS,
    conv_config,
    lesson_config,
    paper_config,
    plan,
    roundoff_config,
)

FULL, QUICK = choose(BUDGETS, None, quick=False), choose(BUDGETS, None, quick=True)


def test_lesson_has_18_rows_over_15_settings_and_the_published_repeats():
    assert [row.row for row in LESSON] == list(range(1, 19))
    assert len({row.setting for row in LESSON}) == 15
    by_row = {row.row: row.setting for row in LESSON}
    assert by_row[4] == by_row[5] and by_row[13] == by_row[17] and by_row[15] == by_row[18]


def test_lesson_row_1_is_configs_fc_yaml():
    shipped = load_config("fc")
    ours = lesson_config(LESSON[0], BN, 0, FULL)
    assert (
        dataclasses.replace(
            ours, name=shipped.name, train=dataclasses.replace(ours.train, log_every=shipped.train.log_every)
        )
        == shipped
    )


def test_conv_runs_are_the_shipped_conv_configs():
    assert dataclasses.replace(conv_config(BN_KERAS, 0), name="conv") == load_config("conv")
    assert dataclasses.replace(conv_config(BN_NN, 0), name="conv-nn") == load_config("conv-nn")
    assert conv_config(NO_BN, 0).bn.enabled is False


def test_bad_weights_and_steps_follow_the_row():
    bad = lesson_config(LESSON[12], NO_BN, 2, FULL)  # row 13: bad, lr 1, relu
    assert (bad.model.init_std, bad.train.learning_rate, bad.seed, bad.bn.enabled) == (5.0, 1.0, 2, False)
    assert bad.train.steps == LESSON_STEPS and bad.train.eval_every == 500
    assert lesson_config(LESSON[12], BN, 0, QUICK).train.steps == QUICK_LESSON_STEPS
    short = lesson_config(LESSON[1], BN, 0, QUICK)  # the 2,000-batch rows are short already
    assert (short.train.steps, short.train.eval_every) == (SHORT_STEPS, 50)


def test_default_plan_seeds_and_each_run_once_slowest_first():
    assert FULL.seeds == {"conv": 20, "short": 20, "long": 20} and QUICK.seeds == dict.fromkeys(FULL.seeds, 1)
    assert choose(BUDGETS, 3, quick=True).seeds == dict.fromkeys(FULL.seeds, 3)
    specs = plan(EXPERIMENTS, FULL).specs()
    conv, roundoff, long_settings, short_settings, pitfall = 3 * 20, 3, 12, 3, 20  # pitfall: its batch-stats runs
    assert len(specs) == conv + roundoff + long_settings * 2 * 20 + short_settings * 2 * 20 + 2 * 20 + pitfall
    assert len({spec.key for spec in specs}) == len(specs)
    assert all(spec.config.model.arch == "conv" for spec in specs[: conv + roundoff])
    assert sorted(spec.key for spec in specs if spec.probe) == sorted(
        f"paper/{net}-seed{seed}" for net in ("bn", "no_bn") for seed in range(20)
    )
    pitfall = {spec.key: spec.config for spec in plan(("pitfall",), choose(BUDGETS, 2, quick=True)).specs()}
    assert set(pitfall) == {  # two trainings per seed, as the Lesson's cells 71 and 73: row 2's BN run and another
        "lesson/good-lr0.01-relu-2k/bn-seed0",
        "lesson/good-lr0.01-relu-2k/bn-seed1",
        "pitfall/bn-seed10000",
        "pitfall/bn-seed10001",
    }
    batch, population = pitfall["pitfall/bn-seed10000"], pitfall["lesson/good-lr0.01-relu-2k/bn-seed0"]
    assert dataclasses.replace(batch, seed=0, name=population.name) == population


def test_the_paper_runs_follow_the_paper():
    config = paper_config(NO_BN, 1, FULL)
    assert (config.model.arch, config.model.activation, config.data.binarize) == ("fc", "sigmoid", True)
    assert (config.train.batch_size, config.train.steps, config.train.optimizer) == (60, 50_000, "sgd")
    assert config.train.learning_rate == 0.1 and config.bn.enabled is False and config.seed == 1


def test_the_roundoff_runs_differ_from_the_conv_runs_in_threads_only():
    assert roundoff_config(2) == dataclasses.replace(
        conv_config(BN_KERAS, 2),
        name="conv-roundoff",
        train=dataclasses.replace(conv_config(BN_KERAS, 2).train, threads=2),
    )
