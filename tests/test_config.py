"""Config schema: strict loading, clear errors, defaults equal to the conv tutorial, saved config reloads."""

from __future__ import annotations

from pathlib import Path

import pytest

from bn_mnist.config import Config, load_config, save_config
from bn_mnist.errors import ConfigError

CONFIGS = Path(__file__).resolve().parent.parent / "configs"


def test_conv_yaml_is_the_default_config():
    assert load_config(CONFIGS / "conv.yaml") == Config()


def test_fc_yaml_is_the_lesson_row_1():
    config = load_config(CONFIGS / "fc.yaml")
    assert (config.model.arch, config.model.activation, config.model.weight_init) == ("fc", "relu", "normal")
    assert (config.model.init_std, config.train.learning_rate, config.train.batch_size) == (0.05, 0.01, 60)
    assert (config.train.optimizer, config.train.loss, config.train.steps) == ("sgd", "softmax_cross_entropy", 50000)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("train.stepz=5", "train.stepz: unknown key (did you mean 'train.steps'?)"),
        ("trian.steps=5", "trian: unknown key (did you mean 'train'?)"),
        ("train.batch_size=0", "train.batch_size = 0: expected a positive integer"),
        ("train.learning_rate=-0.1", "train.learning_rate = -0.1: expected a positive number"),
        ("model.activation=relu6", "model.activation = 'relu6': expected one of relu, sigmoid"),
        ("train.steps=many", "train.steps = 'many': expected an integer"),
        ("train.steps=2.5", "train.steps = 2.5: expected an integer"),
        ("bn.enabled=1", "bn.enabled = 1: expected true or false"),
        ("bn.momentum=1.0", "bn.momentum = 1.0: expected a number in [0, 1)"),
        ("seed=-1", "seed = -1: expected a non-negative integer"),
        ("train.jit=maybe", "train.jit = 'maybe': expected one of auto, on, off"),
        ("train=3", "train: expected a mapping of keys"),
        ("novalue", "'novalue': expected KEY=VALUE"),
    ],
)
def test_bad_override_is_rejected_with_its_key(override, message):
    with pytest.raises(ConfigError) as error:
        load_config(None, (override,))
    assert message in str(error.value)
    assert str(error.value).startswith("--set: ")


def test_bad_file_names_the_file(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("train:\n  steps: 10\n  learnig_rate: 0.1\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: train.learnig_rate: unknown key \(did you mean 'train.learning_rate'\?\)"):
        load_config(path)


@pytest.mark.parametrize(("text", "message"), [("train: [1, 2", "not valid YAML"), ("- 1\n- 2\n", "expected a mapping")])
def test_malformed_yaml(tmp_path, text, message):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_missing_file():
    with pytest.raises(ConfigError, match="nope.yaml: cannot read config"):
        load_config("nope.yaml")


def test_overrides_parse_yaml_values():
    config = load_config(None, ("train.learning_rate=1", "bn.enabled=false", "data.dir=/x", "name=demo"))
    assert config.train.learning_rate == 1.0 and isinstance(config.train.learning_rate, float)
    assert (config.bn.enabled, config.data.dir, config.name) == (False, "/x", "demo")


def test_saved_config_reloads_equal(tmp_path):
    config = load_config(CONFIGS / "fc.yaml", ("seed=7", "bn.enabled=false"))
    save_config(config, tmp_path / "config.yaml")
    assert load_config(tmp_path / "config.yaml") == config
