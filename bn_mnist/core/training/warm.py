"""Compiled networks kept from run to run in one process: a run's fixed cost (building the network and optimizer,
tracing and compiling the training, evaluation and inspection) is paid once per trace key (`runspec.trace_key`),
and each later run of that key starts by assignment: every variable back to its value as built, then the kernels
and random states of its own seed. A traced function reads variables at run time, so it stays valid; the runs'
numbers are those of a new build, bit for bit (tests/test_warm.py)."""

from __future__ import annotations

import gc
from collections import OrderedDict
from dataclasses import dataclass, field

import keras
import numpy as np
import tensorflow as tf

from bn_mnist.core.config import Config
from bn_mnist.core.data import Mnist
from bn_mnist.core.data.mnist import prepared
from bn_mnist.core.nets import lsuv
from bn_mnist.core.nets.models import reinitialize
from bn_mnist.core.training import distribution
from bn_mnist.core.training.engine import DeviceData, Engine, build_engine
from bn_mnist.core.training.inspection import Inspector
from bn_mnist.core.training.runspec import trace_key

KEPT = 4  # networks a worker keeps (least recently used dropped): a run's plan groups its runs by key
REUSED = "network kept from an earlier run of this process"  # train.log says so: nothing was built or compiled


def variables(engine: Engine) -> list[keras.Variable]:
    """Every variable a run changes: the network's (weights, BN statistics, random states) and the optimizer's."""
    return [*engine.model.variables, *engine.optimizer.variables]


@dataclass
class Entry:
    """One compiled network and what a new run of its key needs to start from its beginning."""

    engine: Engine
    built: list[np.ndarray]  # every variable as built, in `variables` order
    inspector: Inspector = field(default_factory=Inspector)  # its traced function is this network's
    runs: int = 0  # started on it so far, this one included

    @classmethod
    def of(cls, engine: Engine) -> Entry:
        return cls(engine, [np.array(variable.numpy()) for variable in variables(engine)])

    def restart(self, config: Config, data: DeviceData) -> None:
        """The variables and batches of a new build for `config` (the same key), without tracing anything."""
        engine = self.engine
        for variable, value in zip(variables(engine), self.built, strict=True):
            variable.assign(value)
        reinitialize(engine.model, config.model, config.seed)
        if not config.train.lr_drop_at:  # without a schedule the rate is a variable (trace_key leaves it out)
            optimizer = getattr(engine.optimizer, "inner_optimizer", engine.optimizer)  # under loss scaling
            optimizer.learning_rate = config.train.learning_rate
        if config.model.weight_init == "lsuv":
            lsuv.initialize(engine.model, data.source.train_x[: lsuv.BATCH])
        engine.start(config, data)


class Engines:
    """A process's compiled networks by trace key; `kept` 0 builds every run anew (what a single `train` does)."""

    def __init__(self, kept: int = KEPT) -> None:
        self.kept = kept
        self.entries: OrderedDict[str, Entry] = OrderedDict()
        self.data: DeviceData | None = None  # the last run's, with the arrays and the preparation it came from:
        self.source: tuple[Mnist | None, bool, float] = (None, False, 1.0)  # (raw MNIST, binarize, pixel_max)
        self.builds = 0

    def entry(self, config: Config, mnist: Mnist, strategy: tf.distribute.Strategy | None) -> Entry:
        """A network for this run, at its starting values: a kept one of its key restarted, else a new build."""
        key, data = trace_key(config), self.device_data(mnist, config)
        entry = self.entries.pop(key, None)
        if entry is None or entry.engine.strategy is not strategy:
            self.builds += 1
            entry = Entry.of(build_engine(config, data, strategy))
        else:
            with distribution.scope(strategy):
                entry.restart(config, data)
        entry.runs += 1
        if self.kept:
            self.entries[key] = entry
            while len(self.entries) > self.kept:
                self.entries.popitem(last=False)
                gc.collect()  # a dropped Engine is a reference cycle (tf.functions of its own methods)
        return entry

    def discard(self, config: Config) -> None:
        """Forget the network of a run that failed: whatever it left behind, the next run of its key builds anew."""
        if self.entries.pop(trace_key(config), None) is not None:
            gc.collect()

    def device_data(self, mnist: Mnist, config: Config) -> DeviceData:
        """MNIST as the run takes it (binarized, scaled), on the device: copied once for as long as the runs train on
        the same arrays, prepared the same way."""
        source = (mnist, config.data.binarize, config.data.pixel_max)
        if self.data is None or self.source[0] is not mnist or self.source[1:] != source[1:]:
            self.data, self.source = DeviceData.of(prepared(mnist, config.data)), source
        return self.data
