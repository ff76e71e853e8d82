"""A run to train, as the runner and its back-ends take it (no TensorFlow here: plans are made without it)."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bn_mnist.core.config import Config, to_dict

if TYPE_CHECKING:
    from bn_mnist.core.training.measurement import Measurement


@dataclass(frozen=True)
class RunSpec:
    """One training run of many: its directory under the output directory, its config, and (optionally) what makes
    the probe measuring at every evaluation (`training.measurement`): a module-level class or function, so that it
    pickles into worker processes."""

    key: str  # e.g. "lesson/good-lr1-relu/bn-seed0"
    config: Config
    probe: Callable[[], Measurement] | None = None


# Config values that no traced function of a run reads: they set the variables' starting values (seed, init), the
# batches (data, steps: `order` is an argument, padded to a bucket) or the eager loop. Every other value is part of
# the trace key, so a value added later is keyed until shown free: a mistake costs a compile, never a wrong number.
FREE = (
    "name",
    "seed",
    "data.dir",
    "data.binarize",
    "data.classes_per_batch",
    "data.pixel_max",
    "model.weight_init",
    "model.init_std",
    "model.dense_init",
    "train.steps",
    "train.eval_every",
    "train.log_every",
    "distribute.timeout",
    "log.histograms",
)
FREE_WITHOUT_SCHEDULE = ("train.learning_rate", "train.lr_drop_factor")  # the rate is a variable unless it steps


def trace_key(config: Config) -> str:
    """Every config value a run's traced functions read as a constant, a branch or a shape: runs with one key can
    share one compiled network (`warm.Engines`)."""
    raw = to_dict(config)
    for dotted in FREE + (() if config.train.lr_drop_at else FREE_WITHOUT_SCHEDULE):
        *parents, leaf = dotted.split(".")
        del functools.reduce(dict.__getitem__, parents, raw)[leaf]
    return json.dumps(raw, sort_keys=True)
