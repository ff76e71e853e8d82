"""Ctrl-C as a request to stop that a loop checks between its units of work (compiled calls, finished runs), not as
an exception raised wherever the program happens to be. TensorFlow-free: a command's main process uses it too."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator


@contextlib.contextmanager
def ctrl_c_requests_stop() -> Iterator[dict[str, bool]]:
    """Ctrl-C sets a flag the loop checks between its units of work: a KeyboardInterrupt raised at a random point
    can land in a destructor, where Python ignores it, and the run would go on (seen once in CI rehearsal)."""
    request = {"stop": False}
    if threading.current_thread() is not threading.main_thread():
        yield request
        return
    previous = signal.signal(signal.SIGINT, lambda signum, frame: request.update(stop=True))
    try:
        yield request
    finally:
        signal.signal(signal.SIGINT, previous)
