"""The catalogue of published experiments: rows, shared settings, and configs equal to the shipped YAML files."""

from __future__ import annotations

import dataclasses

from bn_mnist.config import load_config
from bn_mnist.reproduction import EXPERIMENTS
from bn_mnist.reproduction.experiments import (
    CONV,
    LESSON,
    LESSON_STEPS,
    QUICK_LESSON_STEPS,
    SHORT_STEPS,
    conv_config,
    lesson_config,
    plan,
)


def test_lesson_has_18_rows_over_15_settings_and_the_published_repeats():
    assert [row.row for row in LESSON] == list(range(1, 19))
    assert len({row.setting for row in LESSON}) == 15
    by_row = {row.row: row.setting for row in LESSON}
    assert by_row[4] == by_row[5] and by_row[13] == by_row[17] and by_row[15] == by_row[18]


def test_lesson_row_1_is_configs_fc_yaml():
    shipped = load_config("fc")
    ours = lesson_config(LESSON[0], "bn", seed=0, quick=False)
    assert (
        dataclasses.replace(
            ours, name=shipped.name, train=dataclasses.replace(ours.train, log_every=shipped.train.log_every)
        )
        == shipped
    )


def test_conv_runs_are_the_shipped_conv_configs():
    assert dataclasses.replace(conv_config("bn_keras", 0), name="conv") == load_config("conv")
    assert dataclasses.replace(conv_config("bn_nn", 0), name="conv-nn") == load_config("conv-nn")
    assert conv_config("no_bn", 0).bn.enabled is False


def test_bad_weights_and_steps_follow_the_row():
    bad = lesson_config(LESSON[12], "no_bn", seed=2, quick=False)  # row 13: bad, lr 1, relu
    assert (bad.model.init_std, bad.train.learning_rate, bad.seed, bad.bn.enabled) == (5.0, 1.0, 2, False)
    assert bad.train.steps == LESSON_STEPS and bad.train.eval_every == 500
    assert lesson_config(LESSON[12], "bn", 0, quick=True).train.steps == QUICK_LESSON_STEPS
    short = lesson_config(LESSON[1], "bn", 0, quick=True)  # the 2,000-batch rows are short already
    assert (short.train.steps, short.train.eval_every) == (SHORT_STEPS, 50)


def test_plan_runs_each_setting_once_and_the_slowest_first():
    specs = plan(EXPERIMENTS, range(3), quick=False)
    assert len(specs) == 3 * len(CONV) + 15 * 2 * 3  # pitfall and paper reuse Lesson runs
    assert len({spec.key for spec in specs}) == len(specs)
    assert all(spec.config.model.arch == "conv" for spec in specs[: 3 * len(CONV)])
    assert sorted(spec.key for spec in specs if spec.probe) == sorted(
        f"lesson/good-lr0.01-sigmoid/{net}-seed{seed}" for net in ("bn", "no_bn") for seed in range(3)
    )
    assert {spec.key for spec in plan(("pitfall",), range(2), quick=True)} == {
        "lesson/good-lr0.01-relu-2k/bn-seed0",
        "lesson/good-lr0.01-relu-2k/bn-seed1",
    }
