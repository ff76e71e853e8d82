"""A write that fails as on a full disk, at the real write call: the file's temporary name (`files.written`) or its
log (metrics.jsonl) is /dev/full, whose writes fail with the kernel's ENOSPC, whichever library (Keras, YAML, JSON,
matplotlib) writes it."""

from __future__ import annotations

import builtins
from pathlib import Path

from bn_mnist.core import files, runfiles
from bn_mnist.core.tensorboard import writer

FULL = "/dev/full"


def at(monkeypatch, name: str) -> None:
    """Every write of a file called `name` fails from now on, until monkeypatch undoes it."""
    if name == runfiles.METRICS_FILE:

        def opened(path, *args, **kwargs):
            return builtins.open(FULL if Path(path).name == name else path, *args, **kwargs)

        monkeypatch.setattr(writer, "open", opened, raising=False)
        return
    partial_name = files.partial_name

    def full_partial(path: Path) -> Path:
        partial = partial_name(path)
        if path.name == name:
            partial.symlink_to(FULL)
        return partial

    monkeypatch.setattr(files, "partial_name", full_partial)
