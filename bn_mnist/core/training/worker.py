"""What runs inside one of the runner's worker processes (local, or a Ray worker's task). This module imports no
TensorFlow at the top: a spawned worker imports it first, and TensorFlow must start quietly and with the runs'
thread count before anything else imports it."""

from __future__ import annotations

import ctypes
import gc
import os
import signal
import sys
from pathlib import Path
from typing import Any

from bn_mnist.core import provenance
from bn_mnist.core.config import Config
from bn_mnist.core.data import Mnist
from bn_mnist.core.errors import Interrupted
from bn_mnist.core.files import write_error
from bn_mnist.core.provenance import CodeVersion
from bn_mnist.core.tf_startup import start_tensorflow

PR_SET_PDEATHSIG = 1  # prctl(2)
LOG_FILE = "train.log"  # a run's progress lines (workers do not print them: many runs would interleave)
_state: dict[str, Any] = {}  # this worker's MNIST, the parent's stop event and its compiled networks


def die_with_parent() -> None:
    """On Linux, ask the kernel for SIGTERM when the parent dies: a killed parent must not leave workers training."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() == 1:  # the parent died before the request
        os.kill(os.getpid(), signal.SIGTERM)


def start(mnist: Mnist, threads: int, stop: Any, logical_cpus: int, code: CodeVersion) -> None:
    """Ctrl-C ignored except inside a run (trainer.run stops there and keeps what is done), TensorFlow started with
    the runs' thread count and logical CPU devices, MNIST as the parent verified it, and the parent's code version
    as the one its runs record."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent()
    start_tensorflow(threads, logical_cpus=logical_cpus)
    provenance.pin(code)
    _state.update(mnist=mnist, stop=stop)


def train_one(config: Config, probe: Any, run_dir: Path) -> Any:
    """Train one run into run_dir with this worker's MNIST; returns its RunSummary."""
    if _state["stop"].is_set():  # queued before Ctrl-C: do not start
        raise Interrupted("not started")
    return train_logged(config, probe, run_dir, _state["mnist"])


def train_logged(config: Config, probe: Any, run_dir: Path, mnist: Mnist) -> Any:
    """Train one run into run_dir, its progress lines into run_dir/train.log; returns its RunSummary."""
    from bn_mnist.core.training import trainer

    def log(line: str) -> None:
        try:
            with open(run_dir / LOG_FILE, "a", encoding="utf-8") as file:
                file.write(line + "\n")
        except OSError as error:
            raise write_error(run_dir / LOG_FILE, error) from None

    try:
        return trainer.run(config, run_dir, mnist, log, probe() if probe else None, engines())
    finally:
        if probe:  # a probe's traced functions are reference cycles of its own, holding graphs: collect them now
            gc.collect()


def engines() -> Any:
    """This process's compiled networks (`warm.Engines`), kept from run to run."""
    from bn_mnist.core.training import warm

    return _state.setdefault("engines", warm.Engines())
