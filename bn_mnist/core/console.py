"""Where progress lines go: a `Log` is any function taking one line; the default writes it to stderr."""

from __future__ import annotations

import sys
from collections.abc import Callable

Log = Callable[[str], None]


def stderr_log(message: str) -> None:
    """One line on stderr, so stdout stays free for results."""
    print(message, file=sys.stderr, flush=True)
