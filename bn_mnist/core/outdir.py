"""Output directories: fresh names, never overwritten, and one writer at a time.

A command holds an OS file lock (`flock`) on its output directory for as long as it writes there: the kernel
releases it when the process ends, however it ends (exit, crash, SIGKILL), so a second command on the same
directory is refused while the first lives, and never refused by a lock its dead holder left behind.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import itertools
import os
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from bn_mnist.core import files
from bn_mnist.core.errors import OutputError

LOCK_FILE = ".bn-mnist.lock"  # holds the holder's description; removed when the holder is done
LOCK_ATTEMPTS = 20  # x 10 ms


def new_run_dir(root: Path, name: str) -> Path:
    """A fresh directory `root/name-YYYYmmdd-HHMMSS[-k]`: never one that already exists."""
    return files.stamped(root / name)


def holder_of(path: Path) -> str:
    """Who holds path's lock, as its holder wrote it ('unknown' if it is gone or unreadable)."""
    try:
        return (path / LOCK_FILE).read_text(encoding="utf-8").strip() or "unknown"
    except OSError:
        return "unknown"


def in_use_by(path: Path) -> str | None:
    """Who holds path's lock now, or None when nobody does (checked without taking it for long)."""
    try:
        fd = os.open(path / LOCK_FILE, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return holder_of(path)
    finally:
        os.close(fd)
    return None


def in_use_error(path: Path, holder: str) -> OutputError:
    return OutputError(
        f"{path} is in use by {holder}: wait for it to end or choose another --out (nothing was changed)"
    )


def refuse_used_out_dir(path: Path) -> None:
    """Raise OutputError when `path` already holds files (a lock file alone does not count), or another command
    writes there: earlier results are never overwritten."""
    refuse_in_use(path)
    refuse_non_empty(path)


def refuse_in_use(path: Path) -> None:
    """Raise OutputError naming the holder when another command writes into `path` now."""
    holder = in_use_by(path)
    if holder is not None:
        raise in_use_error(path, holder)


def refuse_non_empty(path: Path) -> None:
    if path.exists() and (not path.is_dir() or any(entry.name != LOCK_FILE for entry in path.iterdir())):
        raise OutputError(f"{path} already exists and is not empty: choose another --out (nothing was written)")


def try_lock(lock_path: Path) -> int | None:
    """An open descriptor holding the exclusive lock on lock_path, or None when another process holds it.

    The file is locked, then checked to still be the one at lock_path: a holder removes it on release, and a lock
    on a removed file would lock nothing. A lock held for a moment (`in_use_by` looking) is waited for."""
    for attempt in itertools.count():
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            if attempt >= LOCK_ATTEMPTS:
                return None
            time.sleep(0.01)
            continue
        with contextlib.suppress(FileNotFoundError):
            if os.stat(lock_path).st_ino == os.fstat(fd).st_ino:
                return fd
        os.close(fd)  # removed by its previous holder between our open and our lock: take the new file


@contextlib.contextmanager
def locked(path: Path) -> Iterator[Path]:
    """Create `path` if needed and hold its lock while the block runs; an OutputError naming the holder when
    another process holds it (nothing was changed)."""
    path.mkdir(parents=True, exist_ok=True)
    lock_path = path / LOCK_FILE
    fd = try_lock(lock_path)
    if fd is None:
        raise in_use_error(path, holder_of(path))
    started = datetime.datetime.now().isoformat(timespec="seconds")
    description = f"pid {os.getpid()} on {socket.gethostname()} since {started} ({' '.join(sys.argv)})"
    os.ftruncate(fd, 0)
    os.write(fd, description.encode())
    try:
        yield path
    finally:
        lock_path.unlink(missing_ok=True)
        os.close(fd)  # releases the lock


@contextlib.contextmanager
def claimed(path: Path) -> Iterator[Path]:
    """`locked`, for a command that needs a new or empty directory. Callers check `refuse_used_out_dir` first
    (before loading their inputs); emptiness is checked again here, under the lock, for a writer in between."""
    with locked(path):
        refuse_non_empty(path)
        yield path
