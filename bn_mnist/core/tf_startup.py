"""Start TensorFlow without its C++ start-up chatter on the user's console, and without hiding a real error.

TensorFlow's C++ runtime logs through absl before its own log level (`TF_CPP_MIN_LOG_LEVEL`) is read, so even
level 3 leaves lines such as "Could not find cuda drivers on your machine" and, at the first op, an error-level
"failed call to cuInit" on every machine without a GPU. Here stderr's file descriptor is captured while TensorFlow
imports and finds its devices, and every captured line is written back except the informational ones and a cuInit
failure on a machine that has no CUDA driver at all (where it is expected, not an error). What must be set
before the runtime starts is set here too (`start_tensorflow`).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from bn_mnist.core.errors import DistributeError

if TYPE_CHECKING:
    from bn_mnist.core.config import DistributeConfig

INFO = re.compile(r"^I\d{4} ")  # absl's informational lines: "I0000 00:00:... port.cc:153] ..."
BANNERS = ("WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",)
CONTINUATIONS = ("To enable the following instructions:",)  # the second line of an informational message
NO_DRIVER = "Could not find cuda drivers on your machine"
_started = False  # whether this process's TensorFlow runtime has been initialised here
CUINIT_FAILED = "failed call to cuInit"


def lines_to_keep(lines: list[str]) -> list[str]:
    """The captured start-up lines a user should still see."""
    no_driver = any(NO_DRIVER in line for line in lines)
    return [
        line
        for line in lines
        if not INFO.match(line)
        and line not in BANNERS
        and not line.startswith(CONTINUATIONS)
        and not (no_driver and CUINIT_FAILED in line)
    ]


@contextlib.contextmanager
def filtered_stderr(keep: Callable[[list[str]], list[str]] = lines_to_keep) -> Iterator[None]:
    """Capture file descriptor 2 (C++ writes there directly) and replay what `keep` keeps (by default, what
    `lines_to_keep` keeps of TensorFlow's start-up)."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            for line in keep(capture.read().decode(errors="replace").splitlines()):
                print(line, file=sys.stderr)


multi_worker: Any = None  # this process's MultiWorkerMirroredStrategy (at most one may exist)


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
    global multi_worker
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
        implementation=tf.distribute.experimental.CommunicationImplementation.RING, timeout_seconds=distribute.timeout
    )
    try:
        multi_worker = tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    except tf.errors.OpError as error:  # a peer answered, then failed: TensorFlow's reason, on one line
        raise DistributeError(
            line.removeprefix("bn-mnist: error: ").strip() + f": {error.message.splitlines()[0]}"
        ) from None
    finally:
        watchdog.kill()
        watchdog.wait()


def start_tensorflow(
    threads: int | None = None, distribute: DistributeConfig | None = None, logical_cpus: int = 1
) -> int | None:
    """Import TensorFlow and initialise its runtime quietly, with `threads` intra- and inter-op threads when given,
    `logical_cpus` CPU devices (for mirrored runs on a machine without GPUs) and, when `distribute` asks for it, the
    multi-worker strategy (made once per process; `training/distribution.py` hands it out). These can only be set
    before the runtime starts: a later call with other values changes nothing. Returns the intra-op thread count the
    runtime has (0: TensorFlow's default)."""
    global _started
    if not _started:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's own warnings and infos, once started
        console_fd = os.dup(2)  # the user's stderr, for a line that must reach it while start-up output is captured
        try:
            with filtered_stderr():
                import tensorflow as tf

                if threads is not None:
                    with contextlib.suppress(RuntimeError):  # the runtime was started elsewhere: it keeps its threads
                        tf.config.threading.set_intra_op_parallelism_threads(threads)
                        tf.config.threading.set_inter_op_parallelism_threads(threads)
                prepare(distribute, logical_cpus, console_fd)
                tf.constant(0).numpy()  # the first op initialises the runtime and its devices (and tries CUDA)
        finally:
            os.close(console_fd)
        _started = True
    import tensorflow as tf

    return tf.config.threading.get_intra_op_parallelism_threads()
