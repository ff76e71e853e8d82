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
        ("bn.impl=cudnn", "bn.impl = 'cudnn': expected one of keras, nn"),
        ("bn.zero_debias=true", "bn.zero_debias = True: keras.layers.BatchNormalization cannot do this; use bn.impl: nn"),
        ("bn.update_moving_stats=false", "bn.update_moving_stats = False: keras.layers.BatchNormalization cannot"),
        ("bn.batch_weights=inverse_class_frequency", "bn.batch_weights = 'inverse_class_frequency': keras.layers"),
        ("bn.renorm_clipping.dmax=-1", "bn.renorm_clipping.dmax = -1: expected a non-negative number"),
        ("bn.renorm_clipping.rmaxx=3", "bn.renorm_clipping.rmaxx: unknown key (did you mean 'bn.renorm_clipping.rmax'?)"),
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


@pytest.mark.parametrize(("text", "mode"), [("on", "on"), ("off", "off"), ("'on'", "on"), ("auto", "auto")])
def test_jit_on_off_survive_yaml_booleans(text, mode):
    assert load_config(None, (f"train.jit={text}",)).train.jit == mode


def test_nn_accepts_what_keras_cannot():
    config = load_config(None, ("bn.impl=nn", "bn.zero_debias=true", "bn.update_moving_stats=false"))
    assert (config.bn.impl, config.bn.zero_debias, config.bn.update_moving_stats) == ("nn", True, False)


def test_extends_puts_the_base_underneath_section_by_section(tmp_path):
    (tmp_path / "child.yaml").write_text("extends: base.yaml\nname: child\ntrain:\n  steps: 7\n")
    (tmp_path / "base.yaml").write_text(f"extends: {CONFIGS / 'fc.yaml'}\ntrain:\n  batch_size: 10\n")
    config = load_config(tmp_path / "child.yaml")
    assert (config.name, config.train.steps, config.train.batch_size) == ("child", 7, 10)
    assert (config.model.arch, config.train.learning_rate) == ("fc", 0.01)  # from fc.yaml, two levels down


def test_extends_cycle_and_missing_base_are_errors(tmp_path):
    (tmp_path / "a.yaml").write_text("extends: b.yaml\n")
    (tmp_path / "b.yaml").write_text("extends: a.yaml\n")
    with pytest.raises(ConfigError, match="b.yaml: extends a.yaml, which extends it back"):
        load_config(tmp_path / "a.yaml")
    (tmp_path / "c.yaml").write_text("extends: gone.yaml\n")
    with pytest.raises(ConfigError, match="gone.yaml: cannot read config"):
        load_config(tmp_path / "c.yaml")


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_config_loads(path):
    assert load_config(path).name == path.stem
