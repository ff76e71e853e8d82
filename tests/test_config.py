"""Config schema: strict loading, clear errors, defaults equal to the conv tutorial, saved config reloads."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bn_mnist.core.config import SHIPPED_DIR as CONFIGS
from bn_mnist.core.config import Config, load_config, save_config
from bn_mnist.core.errors import ConfigError


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
        (
            "bn.zero_debias=true",
            "bn.zero_debias = True: keras.layers.BatchNormalization cannot do this; use bn.impl: nn",
        ),
        ("bn.renorm=true\nbn.update_moving_stats=false", "re-derives its moving variance from a renorm statistic"),
        ("bn.batch_weights=inverse_class_frequency", "bn.batch_weights = 'inverse_class_frequency': keras.layers"),
        ("bn.renorm_clipping.dmax=-1", "bn.renorm_clipping.dmax = -1: expected a non-negative number"),
        (
            "bn.renorm_clipping.rmaxx=3",
            "bn.renorm_clipping.rmaxx: unknown key (did you mean 'bn.renorm_clipping.rmax'?)",
        ),
        ("bn.bessel=true", "bn.bessel = True: keras.layers.BatchNormalization cannot do this; use bn.impl: nn"),
        ("bn.noise=0.5", "bn.noise = 0.5: keras.layers.BatchNormalization cannot do this; use bn.impl: nn"),
        ("bn.impl=nn\nbn.noise=-1", "bn.noise = -1.0: expected a non-negative number"),
        ("bn.impl=nn\nbn.bessel=true\nbn.renorm=true", "bn.bessel corrects the plain moving variance: not with"),
        ("bn.impl=nn\nbn.renorm_warmup.relaxed=100", "bn.renorm_warmup relaxes the renorm clipping: it needs"),
        ("bn.renorm_warmup.hold=5\nbn.renorm_warmup.relaxed=2", "bn.renorm_warmup.relaxed = 2: expected at least"),
        (
            "bn.renorm=true\nbn.renorm_clipping.rmax=3\nbn.renorm_clipping.rmin=0.3\nbn.renorm_clipping.dmax=5\n"
            "bn.renorm_warmup.relaxed=100",
            "bn.renorm_warmup: keras.layers.BatchNormalization takes fixed clipping limits; use bn.impl: nn",
        ),
        ("novalue", "'novalue': expected KEY=VALUE"),
    ],
)
def test_bad_override_is_rejected_with_its_key(override, message):
    with pytest.raises(ConfigError) as error:
        load_config(None, tuple(override.split("\n")))  # a newline separates two overrides
    assert message in str(error.value)
    assert str(error.value).startswith("--set: ")


def test_bad_file_names_the_file(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("train:\n  steps: 10\n  learnig_rate: 0.1\n")
    with pytest.raises(
        ConfigError, match=r"bad.yaml: train.learnig_rate: unknown key \(did you mean 'train.learning_rate'\?\)"
    ):
        load_config(path)


@pytest.mark.parametrize(
    ("text", "message"), [("train: [1, 2", "not valid YAML"), ("- 1\n- 2\n", "expected a mapping")]
)
def test_malformed_yaml(tmp_path, text, message):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_missing_file():
    with pytest.raises(ConfigError, match=r"nope\.yaml: cannot read config"):
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
    with pytest.raises(ConfigError, match=r"b\.yaml: extends a\.yaml, which extends it back"):
        load_config(tmp_path / "a.yaml")
    (tmp_path / "c.yaml").write_text("extends: gone.yaml\n")
    with pytest.raises(ConfigError, match=r"gone\.yaml: cannot read config"):
        load_config(tmp_path / "c.yaml")


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_config_loads(path):
    assert load_config(path).name == path.stem


def test_a_shipped_config_is_found_by_name_from_anywhere(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no configs/ here: the names resolve to package data
    assert load_config("fc") == load_config("fc.yaml") == load_config(CONFIGS / "fc.yaml")
    assert load_config("fc").model.arch == "fc"
    (tmp_path / "fc").write_text("name: mine\n")  # a file the user names wins over a shipped name
    assert load_config("fc").name == "mine"


def test_an_unknown_config_names_the_shipped_ones(tmp_path):
    with pytest.raises(ConfigError, match=r"nope: cannot read config .*; shipped configs: conv, conv-bias-bn-relu"):
        load_config("nope")
    with pytest.raises(ConfigError, match=r"configs/fc\.yaml: cannot read config"):  # a path is taken as a path
        load_config(tmp_path / "configs" / "fc.yaml")


@pytest.mark.parametrize("value", ["/tmp/my data #2", "~", "2024", "null", "a: b"])
def test_settings_are_typed_values_never_read_as_yaml(value):
    config = load_config(None, (), {"data.dir": value, "seed": 3, "bn.enabled": False})
    assert (config.data.dir, config.seed, config.bn.enabled) == (value, 3, False)


def test_shipped_configs_restate_no_default():
    """Defaults live in the schema alone: a shipped file sets only what differs from the schema (or its base)."""
    import yaml

    from bn_mnist.core.config import find_config, read_config_file, to_dict

    defaults = to_dict(Config())

    def restated(raw: dict, base: dict, prefix: str = "") -> list[str]:
        found = []
        for key, value in raw.items():
            if isinstance(value, dict):
                found += restated(value, base.get(key, {}), f"{prefix}{key}.")
            elif key in base and base[key] == value:
                found.append(prefix + key)
        return found

    for path in sorted(CONFIGS.glob("*.yaml")):
        own = yaml.safe_load(path.read_text()) or {}
        base = read_config_file(find_config(own.pop("extends"))) if "extends" in own else {}
        effective_base = {
            **defaults,
            **{k: {**defaults.get(k, {}), **v} if isinstance(v, dict) else v for k, v in base.items()},
        }
        assert restated(own, effective_base) == [], path.name


def test_the_config_reference_is_the_schema():
    """Every key of the schema is in docs/config.md's table with its default, and the table has no other key."""
    import yaml

    from bn_mnist.core.config import to_dict

    def flattened(mapping: dict, prefix: str = "") -> dict:
        items = {}
        for key, value in mapping.items():
            items.update(flattened(value, f"{prefix}{key}.") if isinstance(value, dict) else {prefix + key: value})
        return items

    reference = (Path(__file__).resolve().parent.parent / "docs" / "config.md").read_text()
    table = dict(re.findall(r"^\| `([\w.]+)` \| `([^`]*)` \|", reference, flags=re.MULTILINE))
    assert {key: yaml.safe_load(text) for key, text in table.items()} == flattened(to_dict(Config()))
