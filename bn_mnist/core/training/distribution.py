"""Data-parallel training on TensorFlow's own distributed engine (`distribute:` in the config).

`mirrored` trains on N local devices: the GPUs when there are any, otherwise N logical CPU devices, which must be
configured before TensorFlow's runtime starts (`tf_startup.start_tensorflow` does). `multi_worker` trains across the
processes or machines that `TF_CONFIG` names; its strategy too must exist before the runtime starts, so `tf_startup`
makes it, once per process, and `make_strategy` returns it. Device placement is left to TensorFlow: the logical-CPU
path is the GPU path with other devices.
"""

from __future__ import annotations

import contextlib
import functools
from typing import Any

from bn_mnist.core import tf_startup
from bn_mnist.core.config import DistributeConfig
from bn_mnist.core.errors import DistributeError


def make_strategy(distribute: DistributeConfig) -> Any:
    """The run's strategy (None: one device, no strategy), checked to have exactly `distribute.replicas` replicas."""
    import tensorflow as tf

    if distribute.strategy == "none":
        return None
    if distribute.strategy == "multi_worker":
        tf_startup.cluster_from_environment()  # no TF_CONFIG: say so first
        if tf_startup.multi_worker is None:
            raise DistributeError("distribute.strategy multi_worker: TensorFlow was started without it in this process")
        strategy = tf_startup.multi_worker
    else:
        devices = [d.name for d in tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")]
        if len(devices) < distribute.replicas:
            raise DistributeError(
                f"distribute.replicas = {distribute.replicas}: this process has {len(devices)} device(s) "
                "(logical CPU devices are made when TensorFlow starts; start it with the run's config)"
            )
        strategy = mirrored_strategy(tuple(devices[: distribute.replicas]))
    if strategy.num_replicas_in_sync != distribute.replicas:
        raise DistributeError(
            f"distribute.replicas = {distribute.replicas}, but the {distribute.strategy} strategy has "
            f"{strategy.num_replicas_in_sync} replicas (TF_CONFIG's workers times each worker's devices)"
        )
    return strategy


@functools.cache
def mirrored_strategy(devices: tuple[str, ...]) -> Any:
    """One MirroredStrategy per device set and process. TensorFlow numbers every strategy's collective groups from
    the same key, so a process with strategies of two sizes (the tests: 2 and 4 replicas) would give one key to
    groups of both sizes and fail at the first all-reduce; each size gets its own range of keys here."""
    import tensorflow as tf

    keyed = type("MirroredStrategy", (tf.distribute.MirroredStrategy,), {"_collective_key_base": 1000 * len(devices)})
    return keyed(list(devices))


def is_chief(strategy: Any) -> bool:
    """Whether this process writes the run's output: always, except a multi-worker run's workers other than 0."""
    return strategy is None or strategy is not tf_startup.multi_worker or strategy.cluster_resolver.task_id == 0


def scope(strategy: Any) -> contextlib.AbstractContextManager:
    """Where the model and optimizer variables must be made (mirrored on every replica under a strategy)."""
    return strategy.scope() if strategy is not None else contextlib.nullcontext()
