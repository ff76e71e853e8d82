"""Files written whole or not at all, write failures as one line, and damaged files set aside.

Every file bn-mnist writes in one go (configs, summaries, results, reports, figures, models) is written under a
temporary name beside its final one and renamed into place: a reader, or a process killed half-way, never leaves half
a file under the final name. The logs a run appends to as it trains (metrics.jsonl, TensorBoard's event files) are
whole once its summary.json, written last, exists.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import re
from collections.abc import Iterator
from pathlib import Path

from bn_mnist.core.errors import WriteError

EXCERPT_CHARS = 60  # how much of a bad value an error line quotes
SET_ASIDE = re.compile(r"\.[a-z]+(-[a-z]+)*-\d{8}-\d{6}(-\d+)?$")  # the suffix `set_aside` gives


def partial_name(path: Path) -> Path:
    """The temporary name a file is written under: hidden, this process's, and with the final suffix (Keras and
    matplotlib choose the format by it)."""
    return path.with_name(f".{path.stem}.partial-{os.getpid()}{path.suffix}")


def write_error(path: Path, error: OSError | str) -> WriteError:
    """'cannot write PATH: No space left on device', in the OS's words."""
    reason = error if isinstance(error, str) else error.strerror or str(error)
    return WriteError(f"cannot write {path}: {reason}")


@contextlib.contextmanager
def written(path: Path) -> Iterator[Path]:
    """A temporary path beside `path` for the block to write; renamed to `path` when the block succeeds, removed
    when it fails. An OSError while writing or renaming (the disk is full, the directory is read-only) is a
    WriteError."""
    partial = partial_name(path)
    try:
        yield partial
        os.replace(partial, path)
    except OSError as error:
        raise write_error(path, error) from None
    finally:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)


def write_text(path: Path, text: str) -> None:
    """`text` as the whole of `path` (UTF-8), or a WriteError and no file under that name."""
    with written(path) as partial:
        partial.write_text(text, encoding="utf-8")


def is_set_aside(path: Path) -> bool:
    """Whether path lies in (or is) something `set_aside` renamed."""
    return any(SET_ASIDE.search(part) for part in path.parts)


def stamped(path: Path) -> Path:
    """`PATH-YYYYmmdd-HHMMSS[-k]`: path with the time now, and a count when needed, so never one that exists."""
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    fresh, k = path.with_name(f"{path.name}-{stamp}"), 1
    while fresh.exists():
        k += 1
        fresh = path.with_name(f"{path.name}-{stamp}-{k}")
    return fresh


def set_aside(path: Path, label: str = "damaged") -> Path:
    """Rename a file or directory that failed its checks to `NAME.LABEL-YYYYmmdd-HHMMSS[-k]` beside it (kept for
    inspection, never deleted); returns the new path."""
    aside = stamped(path.with_name(f"{path.name}.{label}"))
    path.rename(aside)
    return aside


def excerpt(value: object) -> str:
    """A value as an error line quotes it: its repr, cut to EXCERPT_CHARS with the length of the rest."""
    text = repr(value)
    if len(text) <= EXCERPT_CHARS:
        return text
    return f"{text[:EXCERPT_CHARS]}... ({len(value) if isinstance(value, str) else len(text):,} characters)"
