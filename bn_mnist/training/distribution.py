"""Data-parallel training on TensorFlow's own distributed engine (`distribute:` in the config).

`mirrored` trains on N local devices: the GPUs when there are any, otherwise N logical CPU devices, which must be
configured before TensorFlow's runtime starts (`tf_startup.start_tensorflow` calls `prepare`). `multi_worker`
trains across the processes or machines that `TF_CONFIG` names; its strategy too must exist before the runtime
starts, so `prepare` makes it, once per process. Device placement is left to TensorFlow: the logical-CPU path is the
GPU path with other devices.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import subprocess
import sys
from typing import Any

from bn_mnist.config import DistributeConfig
from bn_mnist.errors import BnMnistError

_multi_worker: Any = None  # this process's MultiWorkerMirroredStrategy (at most one may exist)


class DistributeError(BnMnistError):
    """A strategy cannot be made: no TF_CONFIG, too few devices, or peers that do not answer."""

    exit_code = 2


def logical_cpus(distribute: DistributeConfig) -> int:
    """How many logical CPU devices a process needs for runs like this one (GPUs, when present, are used instead)."""
    return distribute.replicas if distribute.strategy == "mirrored" else 1


def prepare(distribute: DistributeConfig | None, logical_cpu_count: int, console_fd: int) -> None:
    """Before TensorFlow's runtime starts: split the CPU into as many devices as `logical_cpu_count` and the config
    need (when there is no GPU), and make the multi-worker strategy when the config asks for one (its failures are
    written to `console_fd`)."""
    import tensorflow as tf

    count = max(logical_cpu_count, logical_cpus(distribute) if distribute is not None else 1)
    if count > 1 and not tf.config.list_physical_devices("GPU"):
        cpu = tf.config.list_physical_devices("CPU")[0]
        with contextlib.suppress(RuntimeError):  # the runtime was started elsewhere: it keeps its devices
            tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)
    if distribute is not None and distribute.strategy == "multi_worker":
        start_multi_worker(distribute, console_fd)


def cluster_from_environment() -> dict:
    """The cluster and this task from TF_CONFIG, checked enough to fail with a clear line instead of a hang."""
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        raise DistributeError(
            "distribute.strategy multi_worker needs TF_CONFIG (the cluster's workers and this task), e.g. TF_CONFIG="
            '\'{"cluster": {"worker": ["host1:port", "host2:port"]}, "task": {"type": "worker", "index": 0}}\''
        )
    try:
        tf_config = json.loads(raw)
        workers = tf_config["cluster"]["worker"]
        index = int(tf_config["task"]["index"])
    except (ValueError, KeyError, TypeError) as error:
        raise DistributeError(f"TF_CONFIG is not a cluster with workers and a task index ({error!r})") from None
    return {"workers": list(workers), "index": index}


WATCHDOG = """import os, signal, sys, time
parent, seconds, line = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
time.sleep(seconds)
if os.getppid() == parent:  # still waiting (the parent ends this watchdog once it is through)
    os.write(2, line.encode())
    os.kill(parent, signal.SIGKILL)
"""


def start_multi_worker(distribute: DistributeConfig, console_fd: int) -> None:
    """Make this process's MultiWorkerMirroredStrategy (ring collectives, each with `distribute.timeout`).

    TensorFlow waits for every peer without a deadline when making it, inside one call that holds Python's lock (no
    Python thread or signal handler runs meanwhile, and it ignores SIGTERM). So a watchdog process does: after the
    timeout it writes one line to the user's stderr and kills this process (exit status 137)."""
    global _multi_worker
    import tensorflow as tf

    cluster = cluster_from_environment()
    peers = ", ".join(address for i, address in enumerate(cluster["workers"]) if i != cluster["index"])
    line = (
        f"bn-mnist: error: multi_worker: worker {cluster['index']} could not reach its peers ({peers}) within "
        f"{distribute.timeout:g} s (distribute.timeout); start every worker of TF_CONFIG\n"
    )
    watchdog = subprocess.Popen(
        [sys.executable, "-c", WATCHDOG, str(os.getpid()), str(distribute.timeout), line],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=console_fd,
    )
    options = tf.distribute.experimental.CommunicationOptions(
        implementation=tf.distribute.experimental.CommunicationImplementation.RING,
        timeout_seconds=distribute.timeout,
    )
    try:
        _multi_worker = tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    except tf.errors.OpError as error:  # a peer answered, then failed: TensorFlow's reason, on one line
        raise DistributeError(
            line.removeprefix("bn-mnist: error: ").strip() + f": {error.message.splitlines()[0]}"
        ) from None
    finally:
        watchdog.kill()
        watchdog.wait()


def make_strategy(distribute: DistributeConfig) -> Any:
    """The run's strategy (None: one device, no strategy), checked to have exactly `distribute.replicas` replicas."""
    import tensorflow as tf

    if distribute.strategy == "none":
        return None
    if distribute.strategy == "multi_worker":
        cluster_from_environment()  # no TF_CONFIG: say so first
        if _multi_worker is None:
            raise DistributeError("distribute.strategy multi_worker: TensorFlow was started without it in this process")
        strategy = _multi_worker
    else:
        devices = [d.name for d in tf.config.list_logical_devices("GPU")] or [
            d.name for d in tf.config.list_logical_devices("CPU")
        ]
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
    return strategy is None or strategy is not _multi_worker or strategy.cluster_resolver.task_id == 0


def scope(strategy: Any) -> contextlib.AbstractContextManager:
    """Where the model and optimizer variables must be made (mirrored on every replica under a strategy)."""
    return strategy.scope() if strategy is not None else contextlib.nullcontext()
