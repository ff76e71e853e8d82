"""Start TensorFlow without its C++ start-up chatter on the user's console, and without hiding a real error.

TensorFlow's C++ runtime logs through absl before its own log level (`TF_CPP_MIN_LOG_LEVEL`) is read, so even
level 3 leaves lines such as "Could not find cuda drivers on your machine" and, at the first op, an error-level
"failed call to cuInit" on every machine without a GPU. Here stderr's file descriptor is captured while TensorFlow
imports and finds its devices, and every captured line is written back except the informational ones and a cuInit
failure on a machine that has no CUDA driver at all (where it is expected, not an error).
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bn_mnist.config import DistributeConfig

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


def start_tensorflow(
    threads: int | None = None, distribute: DistributeConfig | None = None, logical_cpus: int = 1
) -> int | None:
    """Import TensorFlow and initialise its runtime quietly, with `threads` intra- and inter-op threads when given,
    `logical_cpus` CPU devices (for mirrored runs on a machine without GPUs) and, when `distribute` asks for it, the
    multi-worker strategy (`training/distribution.py`).

    These can only be set before the runtime starts: a later call with other values changes nothing.
    Returns the intra-op thread count the runtime has (0: TensorFlow's default).
    """
    global _started
    if not _started:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's own warnings and infos, once started
        console_fd = os.dup(2)  # the user's stderr, for a line that must reach it while start-up output is captured
        try:
            with filtered_stderr():
                import tensorflow as tf

                from bn_mnist.training import distribution

                if threads is not None:
                    with contextlib.suppress(RuntimeError):  # the runtime was started elsewhere: it keeps its threads
                        tf.config.threading.set_intra_op_parallelism_threads(threads)
                        tf.config.threading.set_inter_op_parallelism_threads(threads)
                distribution.prepare(distribute, logical_cpus, console_fd)
                tf.constant(0).numpy()  # the first op initialises the runtime and its devices (and tries CUDA)
        finally:
            os.close(console_fd)
        _started = True
    import tensorflow as tf

    return tf.config.threading.get_intra_op_parallelism_threads()
