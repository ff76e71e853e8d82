"""The one config schema: frozen dataclasses whose defaults are the tutorial's conv experiment.

Every default is here with its reason. YAML is loaded strictly: an unknown key (with the closest valid one),
a wrong type or an out-of-range value is a ConfigError naming the file and the key, raised before any training.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bn_mnist.core import files
from bn_mnist.core.errors import ConfigError

ACTIVATIONS = ("relu", "sigmoid", "tanh", "elu", "selu", "gelu", "swish", "softplus", "leaky_relu", "linear")
ARCHS = ("conv", "fc")
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")  # Keras dtype policies: variables stay float32
STATISTICS_DTYPES = ("float32", "compute")  # bn.statistics_dtype of the nn layer
DROPOUT_AT = ("every_hidden", "last_hidden")  # model.dropout_at: after every hidden layer, or only the last
INITS = ("glorot_uniform", "normal", "truncated_normal", "he_normal", "lecun_normal", "lsuv")
OPTIMIZERS = ("sgd", "adam")
LOSSES = ("sigmoid_cross_entropy", "softmax_cross_entropy")
JIT_MODES = ("auto", "on", "off")
BN_IMPLS = ("keras", "nn")
NORM_KINDS = ("batch", "layer", "group", "instance", "ws_group")  # bn.kind: which normalization (nets/norms.py)
GROUPED = ("group", "ws_group")  # the kinds that take bn.groups
BATCH_ONLY = {  # option -> its default: what only batch norm (statistics over the batch) can change
    "impl": "keras",
    "momentum": 0.99,
    "renorm": False,
    "zero_debias": False,
    "batch_weights": "none",
    "update_moving_stats": True,
    "bessel": False,
    "noise": 0.0,
    "statistics_dtype": "float32",
}  # (bn.sync needs no check: without batch statistics there is nothing to synchronise across replicas)
PLACEMENTS = ("before_activation", "after_activation")
BATCH_WEIGHTS = ("none", "inverse_class_frequency")
STRATEGIES = ("none", "mirrored", "multi_worker")
NN_ONLY = {  # option -> its value that only the `nn` implementation can honour
    "statistics_dtype": "compute",
    "zero_debias": True,
    "batch_weights": "inverse_class_frequency",
    "bessel": True,
}
KERAS_CANNOT = "keras.layers.BatchNormalization cannot do this; use bn.impl: nn"
SHIPPED_DIR = Path(__file__).parent / "configs"  # package data: there after any kind of install


def _require(ok: bool, key: str, value: Any, expected: str) -> None:
    if not ok:
        raise ConfigError(f"{key} = {files.excerpt(value)}: expected {expected}")


def _one_of(key: str, value: str, choices: tuple[str, ...]) -> None:
    _require(value in choices, key, value, "one of " + ", ".join(choices))


@dataclass(frozen=True)
class DataConfig:
    dir: str | None = None  # a directory with mnist.npz or the IDX files; None: cache, then download
    binarize: bool = False  # pixels > 0.5 become 1, the rest 0: the BN paper's "28x28 binary image" input
    classes_per_batch: int = 0  # 0: shuffled batches (i.i.d.); k: each batch holds batch_size / k examples of each
    # of k classes drawn at random: non-i.i.d. batches, whose statistics give the labels away (Ioffe 2017)
    pixel_max: float = 1.0  # pixels in [0, pixel_max]; 255: the raw bytes, as a pipeline that forgot to scale them

    def __post_init__(self) -> None:
        _require(0 <= self.classes_per_batch <= 10, "data.classes_per_batch", self.classes_per_batch, "0 to 10")
        _require(self.pixel_max > 0, "data.pixel_max", self.pixel_max, "a positive number")


@dataclass(frozen=True)
class ModelConfig:
    arch: str = "conv"  # conv: the Solutions net (19 3x3 convs + dense 100 + 10); fc: the Lesson's 784-100-100-100-10
    activation: str = "relu"  # the Solutions net uses ReLU; the Lesson also tries sigmoid
    weight_init: str = "glorot_uniform"  # tf.layers' default, what the Solutions' high-level net got
    init_std: float = 0.05  # std of normal/truncated_normal init: the Lesson's "good" 0.05 or "bad" 5.0
    dense_init: str | None = None  # the dense layers' init if it differs (Solutions' tf.nn net); None: weight_init
    # he_normal (He et al. 2015, for ReLU), lecun_normal (Klambauer et al. 2017, for SELU), lsuv (Mishkin & Matas
    # 2016: orthogonal, then each layer scaled to unit output variance on a batch before step 0: nets/lsuv.py)
    dropout: float = 0.0  # the rate of dropout after hidden layers' activations; 0: none (the tutorial has none)
    dropout_at: str = "every_hidden"  # every_hidden: each hidden layer's output, so the next layer's BN sees it
    # (Li et al. 2019's variance shift); last_hidden: only the last hidden layer's, after every BN
    precision: str = "float32"  # or a Keras mixed policy: layers compute in float16 (with loss scaling) or bfloat16,
    # variables and the logits stay float32

    def __post_init__(self) -> None:
        _one_of("model.arch", self.arch, ARCHS)
        _one_of("model.activation", self.activation, ACTIVATIONS)
        _one_of("model.weight_init", self.weight_init, INITS)
        if self.dense_init is not None:
            _one_of("model.dense_init", self.dense_init, tuple(i for i in INITS if i != "lsuv"))  # LSUV: whole net
        _require(self.init_std > 0, "model.init_std", self.init_std, "a positive number")
        _require(0 <= self.dropout < 1, "model.dropout", self.dropout, "a rate in [0, 1)")
        _one_of("model.dropout_at", self.dropout_at, DROPOUT_AT)
        _one_of("model.precision", self.precision, PRECISIONS)


@dataclass(frozen=True)
class RenormClipping:
    rmax: float | None = None  # clip r = batch std / moving std to [rmin, rmax]; null: no clipping (Keras' default)
    rmin: float | None = None
    dmax: float | None = None  # clip d = (batch mean - moving mean) / moving std to [-dmax, dmax]

    def __post_init__(self) -> None:
        if self.rmax is not None and self.rmin is not None:
            _require(self.rmin <= self.rmax, "bn.renorm_clipping.rmin", self.rmin, f"at most rmax ({self.rmax})")
        if self.dmax is not None:
            _require(self.dmax >= 0, "bn.renorm_clipping.dmax", self.dmax, "a non-negative number")


@dataclass(frozen=True)
class RenormWarmup:
    """Ioffe (2017)'s schedule: r clipped to 1 and d to 0 (plain BN) until step `hold`, the limits then relaxed
    linearly to renorm_clipping's at step `relaxed`. 0 and 0: no warm-up."""

    hold: int = 0
    relaxed: int = 0

    def __post_init__(self) -> None:
        _require(self.hold >= 0, "bn.renorm_warmup.hold", self.hold, "a non-negative integer")
        _require(self.relaxed >= self.hold, "bn.renorm_warmup.relaxed", self.relaxed, f"at least hold ({self.hold})")

    @property
    def on(self) -> bool:
        return self.relaxed > 0


@dataclass(frozen=True)
class BNConfig:
    enabled: bool = True  # conv and dense layers gain BN (and, by default, lose their bias)
    kind: str = "batch"  # or a normalization that needs no batch: layer, group, instance, ws_group (nets/norms.py)
    groups: int = 4  # group, ws_group: channel groups (4 divides every layer here: 4i filters, dense 100)
    impl: str = "keras"  # keras: keras.layers.BatchNormalization; nn: this project's tf.nn layer (nets/bn.py)
    momentum: float = 0.99  # moving-average decay of the population statistics (TF1 `decay`)
    epsilon: float = 0.001  # added to the batch variance; the tutorial's value
    center: bool = True  # learn beta
    scale: bool = True  # learn gamma (may be off when a ReLU follows, the tutorial notes)
    placement: str = "before_activation"  # the tutorial's order; after_activation is the alternative it mentions
    use_bias: bool = False  # keep the bias of the layer BN follows (redundant before BN: beta replaces it)
    zero_debias: bool = False  # nn: moving averages start at 0 and are divided by 1 - momentum^t (TF1 EMA option)
    renorm: bool = False  # Batch Renormalization (arXiv 1702.03275)
    renorm_clipping: RenormClipping = field(default_factory=RenormClipping)
    renorm_momentum: float = 0.99  # decay of the statistics renorm corrects towards
    renorm_warmup: RenormWarmup = field(default_factory=RenormWarmup)  # nn: Ioffe's relaxation of the clipping
    bessel: bool = False  # nn: the moving variance averages m/(m-1) x the batch variance (m values per channel)
    noise: float = 0.0  # nn: Santurkar et al.'s noisy BN: each training step adds noise of a random mean and SD
    statistics_dtype: str = "float32"  # nn: batch statistics in float32 (as Keras' layer), or `compute`: in the
    # layer's compute dtype, float16 under model.precision mixed_float16 (sums of squares past 65,504 overflow)
    batch_weights: str = "none"  # nn: inverse_class_frequency weighs each example by 1 / its class count in the batch
    update_moving_stats: bool = True  # false reproduces TF1's forgotten UPDATE_OPS (population stats never move)
    sync: bool = True  # under a distribute strategy: statistics over the global batch (all replicas); false: each
    # replica normalises with its own slice's statistics and keeps its own moving averages (docs/distribute.md)

    def __post_init__(self) -> None:
        _one_of("bn.kind", self.kind, NORM_KINDS)
        _require(self.groups >= 1, "bn.groups", self.groups, "a positive integer")
        if self.kind != "batch":
            self._check_no_batch_options()
        if self.kind not in GROUPED and self.groups != BNConfig.groups:
            raise ConfigError(f"bn.groups = {self.groups}: only bn.kind group and ws_group have groups")
        _one_of("bn.impl", self.impl, BN_IMPLS)
        _one_of("bn.placement", self.placement, PLACEMENTS)
        _one_of("bn.batch_weights", self.batch_weights, BATCH_WEIGHTS)
        _one_of("bn.statistics_dtype", self.statistics_dtype, STATISTICS_DTYPES)
        _require(0 <= self.momentum < 1, "bn.momentum", self.momentum, "a number in [0, 1)")
        _require(0 <= self.renorm_momentum < 1, "bn.renorm_momentum", self.renorm_momentum, "a number in [0, 1)")
        _require(self.epsilon > 0, "bn.epsilon", self.epsilon, "a positive number")
        _require(self.noise >= 0, "bn.noise", self.noise, "a non-negative number")
        self._check_renorm_options()
        if self.impl == "keras":
            self._check_keras_can_do_it()

    def _check_renorm_options(self) -> None:
        clipping = self.renorm_clipping
        if self.renorm_warmup.on and not (self.renorm and None not in (clipping.rmax, clipping.rmin, clipping.dmax)):
            raise ConfigError(
                "bn.renorm_warmup relaxes the renorm clipping: it needs bn.renorm and renorm_clipping's rmax, rmin "
                "and dmax"
            )
        if self.statistics_dtype == "compute" and self.renorm:
            raise ConfigError(
                "bn.statistics_dtype = 'compute' with bn.renorm: renorm's corrections are computed in float32 here"
            )
        if self.bessel and (self.renorm or self.batch_weights != "none"):
            raise ConfigError(
                "bn.bessel corrects the plain moving variance: not with bn.renorm (its statistics are standard "
                "deviations) or bn.batch_weights (a weighted variance has no m/(m-1))"
            )

    def _check_no_batch_options(self) -> None:
        """A normalization without batch statistics has no moving averages, no renorm, one implementation."""
        for key, default in BATCH_ONLY.items():
            if getattr(self, key) != default:
                raise ConfigError(
                    f"bn.{key} = {getattr(self, key)!r}: bn.kind {self.kind} normalizes each example by itself "
                    f"(no batch statistics); only bn.kind batch takes it"
                )

    def _check_keras_can_do_it(self) -> None:
        for key, value in NN_ONLY.items():
            if getattr(self, key) == value:
                raise ConfigError(f"bn.{key} = {value!r}: {KERAS_CANNOT}")
        if self.noise > 0:
            raise ConfigError(f"bn.noise = {self.noise}: {KERAS_CANNOT}")
        if self.renorm_warmup.on:
            raise ConfigError(
                "bn.renorm_warmup: keras.layers.BatchNormalization takes fixed clipping limits; use bn.impl: nn"
            )
        if self.renorm and not self.update_moving_stats:  # momentum 1 freezes Keras' plain statistics, not renorm's
            raise ConfigError(
                "bn.update_moving_stats = False with bn.renorm: keras.layers.BatchNormalization re-derives its moving "
                "variance from a renorm statistic even then; use bn.impl: nn"
            )


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 800  # the Solutions notebook trains 800 batches
    batch_size: int = 64  # Solutions: 64; Lesson: 60
    optimizer: str = "adam"  # Solutions: Adam; Lesson: plain gradient descent (sgd)
    learning_rate: float = 0.002  # Solutions: 0.002
    lr_drop_at: int = 0  # after this many steps the rate drops to learning_rate x lr_drop_factor; 0: never
    lr_drop_factor: float = 0.1  # a step schedule's usual tenfold drop
    loss: str = "sigmoid_cross_entropy"  # Solutions: sigmoid on one-hot labels; Lesson: softmax
    eval_every: int = 100  # validation on all 5,000 images, inference mode
    log_every: int = 25  # training loss/accuracy (mean over the steps since the last log)
    jit: str | bool = "auto"  # XLA: on, off, or auto (on for fc, off for conv: measured, see docs/speed.md)
    threads: int = 1  # TensorFlow's intra- and inter-op threads. Thread count changes round-off, and the conv net
    # amplifies it: one value everywhere makes train, compare and reproduce give the same numbers; parallelism
    # comes from training several runs at once (the runner), not from threads within one.

    def __post_init__(self) -> None:
        for key in ("steps", "batch_size", "eval_every", "log_every", "threads"):
            value = getattr(self, key)
            _require(value > 0, f"train.{key}", value, "a positive integer")
        _require(self.batch_size <= 5000, "train.batch_size", self.batch_size, "at most 5000")
        _require(self.learning_rate > 0, "train.learning_rate", self.learning_rate, "a positive number")
        _require(self.lr_drop_at >= 0, "train.lr_drop_at", self.lr_drop_at, "a non-negative integer (0: no drop)")
        _require(0 < self.lr_drop_factor <= 1, "train.lr_drop_factor", self.lr_drop_factor, "a number in (0, 1]")
        _one_of("train.optimizer", self.optimizer, OPTIMIZERS)
        _one_of("train.loss", self.loss, LOSSES)
        if isinstance(self.jit, bool):  # YAML 1.1 reads a bare on/off as true/false
            object.__setattr__(self, "jit", "on" if self.jit else "off")
        _one_of("train.jit", self.jit, JIT_MODES)

    def learning_rate_at(self, step: int) -> float:
        """The rate of the update after `step` steps (the (step + 1)-th, 1-based)."""
        dropped = self.lr_drop_at and step >= self.lr_drop_at
        return self.learning_rate * self.lr_drop_factor if dropped else self.learning_rate


@dataclass(frozen=True)
class DistributeConfig:
    strategy: str = "none"  # mirrored: N local devices (GPUs, else N logical CPUs); multi_worker: processes or
    # machines named by TF_CONFIG (tf.distribute.MultiWorkerMirroredStrategy); none: one device
    replicas: int = 1  # replicas in sync; each gets train.batch_size / replicas examples of every batch
    timeout: float = 60.0  # multi_worker: seconds to wait for every peer (at start and at each collective)

    def __post_init__(self) -> None:
        _one_of("distribute.strategy", self.strategy, STRATEGIES)
        _require(self.replicas > 0, "distribute.replicas", self.replicas, "a positive integer")
        _require(self.timeout > 0, "distribute.timeout", self.timeout, "a positive number of seconds")
        if self.strategy == "none":
            _require(self.replicas == 1, "distribute.replicas", self.replicas, "1 with distribute.strategy none")


@dataclass(frozen=True)
class LogConfig:
    histograms: bool = True  # inside the network at every evaluation: per-layer histograms (pre-activations,
    # weights, BN parameters and statistics) and scalars (weight and gradient norms, dead ReLUs); never changes the
    # numbers (tested); costs ~2 s of a conv run, ~1 s of an FC Lesson run (docs/speed.md)


@dataclass(frozen=True)
class Config:
    name: str = "conv"  # names the run directory
    seed: int = 0  # initial weights and batch order; the same seed gives the same numbers
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    bn: BNConfig = field(default_factory=BNConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    distribute: DistributeConfig = field(default_factory=DistributeConfig)
    log: LogConfig = field(default_factory=LogConfig)

    def __post_init__(self) -> None:
        _require(self.seed >= 0, "seed", self.seed, "a non-negative integer")
        replicas = self.distribute.replicas
        if self.train.batch_size % replicas:
            raise ConfigError(
                f"train.batch_size = {self.train.batch_size}: {replicas} replicas need a batch size they divide "
                "(each replica gets an equal slice of the global batch)"
            )
        if self.model.weight_init == "lsuv" and self.bn.enabled and self.bn.kind == "ws_group":
            raise ConfigError(
                "model.weight_init = 'lsuv' with bn.kind ws_group: weight standardization undoes LSUV's scaling"
            )
        if self.bn.enabled and self.bn.kind == "instance" and self.model.arch == "fc":
            raise ConfigError(
                "bn.kind = 'instance' with model.arch fc: instance norm normalizes a feature map over its pixels, "
                "and a dense unit has one value; use layer or group"
            )
        if self.data.classes_per_batch and self.train.batch_size % self.data.classes_per_batch:
            raise ConfigError(
                f"train.batch_size = {self.train.batch_size}: data.classes_per_batch = "
                f"{self.data.classes_per_batch} needs a batch size it divides (an equal share of every class)"
            )
        if self.distribute.strategy != "none" and self.model.precision != "float32":
            raise ConfigError(
                f"model.precision = {self.model.precision!r} with distribute.strategy {self.distribute.strategy}: "
                "loss scaling across replicas is not supported here; use one device"
            )
        if self.distribute.strategy != "none" and self.bn.enabled and self.bn.batch_weights != "none":
            raise ConfigError(
                f"bn.batch_weights = {self.bn.batch_weights!r}: weights from a replica's own labels are not "
                "defined under distribute.strategy; use one device"
            )

    @property
    def distributed(self) -> bool:
        """Whether the run trains on several replicas through a tf.distribute strategy."""
        return self.distribute.strategy != "none"

    @property
    def xla(self) -> bool:
        """Whether the training loop is XLA-compiled: XLA pays for the FC net and hurts the conv net on CPU
        (`python -m bn_mnist.tools.bench` measures it). Under a distribute strategy the loop runs without it: the
        strategy places a copy of each step on every replica's device, and an XLA-compiled function is one program for
        one device."""
        if self.distributed:
            return False
        if self.train.jit == "auto":
            return self.model.arch == "fc"
        return self.train.jit == "on"


def _type_ok(value: Any, annotation: Any) -> bool:
    """Strict YAML type check: bools are not ints, ints are accepted as floats."""
    options = typing.get_args(annotation) or (annotation,)
    if isinstance(value, bool):
        return bool in options
    return isinstance(value, options) or (float in options and isinstance(value, int))


def _yaml11_float(value: Any) -> Any:
    """YAML 1.1 reads `1e-3` (no dot) as a string; accept it where a number is expected."""
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return float(value)
    return value


def _type_name(annotation: Any) -> str:
    names = {int: "an integer", float: "a number", str: "a string", bool: "true or false", type(None): "null"}
    options = typing.get_args(annotation) or (annotation,)
    return " or ".join(names[option] for option in options)


def from_dict(cls: type, raw: Any, prefix: str = "") -> Any:
    """Build dataclass `cls` from a mapping, rejecting unknown keys and wrong types with the key's full name."""
    if not isinstance(raw, dict):
        what = "a mapping of sections (model:, train:, bn:, ...)" if not prefix else "a mapping of keys"
        raise ConfigError(f"{prefix.rstrip('.') or 'config'}: expected {what}, got {files.excerpt(raw)}")
    hints = typing.get_type_hints(cls)
    fields = {f.name for f in dataclasses.fields(cls)}
    values = {}
    for key, value in raw.items():
        if key not in fields:
            close = difflib.get_close_matches(str(key), sorted(fields), n=1)
            hint = f" (did you mean '{prefix}{close[0]}'?)" if close else f" (valid: {', '.join(sorted(fields))})"
            raise ConfigError(f"{prefix}{key}: unknown key{hint}")
        value = _yaml11_float(value) if float in (*typing.get_args(hints[key]), hints[key]) else value
        if dataclasses.is_dataclass(hints[key]):
            values[key] = from_dict(hints[key], value, f"{prefix}{key}.")
        elif _type_ok(value, hints[key]):
            values[key] = float(value) if hints[key] is float else value
        else:
            raise ConfigError(f"{prefix}{key} = {files.excerpt(value)}: expected {_type_name(hints[key])}")
    return cls(**values)


def set_key(raw: dict, dotted: str, value: Any) -> None:
    """Set `a.b` in a raw config mapping to `value`, creating sections on the way."""
    *parents, leaf = dotted.strip().split(".")
    node = raw
    for part in parents:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"{dotted}: '{part}' is not a section")
    node[leaf] = value


def apply_override(raw: dict, assignment: str) -> None:
    """Apply one `--set a.b=value` to a raw config mapping; the value is parsed as YAML (so 0.1, true, null work)."""
    path, sep, text = assignment.partition("=")
    if not sep or not path.strip():
        raise ConfigError(f"{files.excerpt(assignment)}: expected KEY=VALUE, e.g. train.steps=2000")
    set_key(raw, path, yaml.safe_load(text))


def shipped_configs() -> list[str]:
    """Names of the configs that ship with the package (`--config NAME`)."""
    return sorted(path.stem for path in SHIPPED_DIR.glob("*.yaml"))


def find_config(name_or_path: str | Path) -> Path:
    """A config file's path: an existing file, else a shipped config's name (`fc` or `fc.yaml`)."""
    path = Path(name_or_path)
    shipped = SHIPPED_DIR / f"{path.name.removesuffix('.yaml')}.yaml"
    if path.is_file() or path.parent != Path(".") or not shipped.is_file():
        return path  # a missing path is reported when it is read, with the path the user gave
    return shipped


def load_config(
    path: str | Path | Config | None = None, overrides: tuple[str, ...] = (), settings: dict[str, Any] | None = None
) -> Config:
    """Read a YAML config (a path or a shipped config's name; a Config as it is; None: the defaults, i.e. the conv
    tutorial), then apply `--set` overrides (YAML text) and `settings` (dotted key -> typed value, from the CLI's
    own flags or the Python API)."""
    raw: Any = {}
    if isinstance(path, Config):
        raw = to_dict(path)
    elif path is not None:
        raw = read_config_file(find_config(path))
        _build(raw, str(path))  # blame errors in the file on the file, before overrides muddy it
    for assignment in overrides:
        try:
            apply_override(raw, assignment)
        except ConfigError as error:
            raise ConfigError(f"--set: {error}") from None
    for dotted, value in (settings or {}).items():
        set_key(raw, dotted, value)
    return _build(raw, "--set" if overrides else "option" if settings else "config")


def read_config_file(path: Path, children: tuple[Path, ...] = ()) -> Any:
    """A config file's mapping; `extends: base.yaml` (relative to the file) puts the base's keys underneath."""
    raw = _read_yaml(path)
    if not isinstance(raw, dict) or "extends" not in raw:
        return raw
    base = raw.pop("extends")
    if not isinstance(base, str):
        raise ConfigError(f"{path}: extends = {files.excerpt(base)}: expected a config file name")
    base_path = (path.parent / base).resolve()
    if base_path in (*children, path.resolve()):
        raise ConfigError(f"{path}: extends {base}, which extends it back")
    return merged(read_config_file(base_path, (*children, path.resolve())), raw)


def merged(base: dict, top: dict) -> dict:
    """`top` over `base`, section by section (a key in top replaces the same key in base)."""
    result = dict(base)
    for key, value in top.items():
        both_sections = isinstance(value, dict) and isinstance(base.get(key), dict)
        result[key] = merged(base[key], value) if both_sections else value
    return result


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text()) or {}
    except OSError as error:
        names = ", ".join(shipped_configs())
        raise ConfigError(f"{path}: cannot read config ({error.strerror}); shipped configs: {names}") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML ({str(error).splitlines()[0]})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a text file; expected a YAML config") from None


def _build(raw: Any, where: str) -> Config:
    try:
        return from_dict(Config, raw)
    except ConfigError as error:
        raise ConfigError(f"{where}: {error}") from None


def to_dict(config: Config) -> dict:
    """The resolved config as plain data (what `config.yaml` in a run directory holds)."""
    return dataclasses.asdict(config)


def key_paths(raw: Any, prefix: str = "") -> set[str]:
    """Every dotted key of a nested mapping."""
    if not isinstance(raw, dict):
        return set()
    return {f"{prefix}{key}" for key in raw} | {
        path for key, value in raw.items() for path in key_paths(value, f"{prefix}{key}.")
    }


def load_saved_config(path: Path) -> Config:
    """A run's config.yaml, which `save_config` wrote with every key; a ConfigError when the file cannot be read,
    is no valid config, or lacks a key (a damaged or truncated file)."""
    raw = _read_yaml(path)
    missing = sorted(key_paths(to_dict(Config())) - key_paths(raw))  # before building: a cut can leave a section empty
    if missing:
        more = f" and {len(missing) - 1} more keys" if len(missing) > 1 else ""
        raise ConfigError(f"{path}: lacks {missing[0]}{more}: not a whole saved config")
    return _build(raw, str(path))


def save_config(config: Config, path: Path) -> None:
    """Write the resolved config so that a run can always be explained and rerun with `--config`."""
    files.write_text(path, yaml.safe_dump(to_dict(config), sort_keys=False))


def with_replicas(config: Config, replicas: int) -> Config:
    """The same config on `replicas` replicas: mirrored local devices (1: one device, no strategy), or as many
    multi-worker replicas when the config trains across workers."""
    strategy = config.distribute.strategy
    if strategy != "multi_worker":
        strategy = "none" if replicas == 1 else "mirrored"
    return dataclasses.replace(
        config, distribute=dataclasses.replace(config.distribute, strategy=strategy, replicas=replicas)
    )


def with_bn_on_replicas(config: Config, replicas: int, sync: bool) -> Config:
    """The same config with BN, on `replicas` replicas, its statistics synchronized across them or per replica."""
    return dataclasses.replace(
        with_replicas(config, replicas), bn=dataclasses.replace(config.bn, enabled=True, sync=sync)
    )


def with_bn(config: Config, enabled: bool) -> Config:
    """The same config with BN switched on or off."""
    return dataclasses.replace(config, bn=dataclasses.replace(config.bn, enabled=enabled))
