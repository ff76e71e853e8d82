"""Output directories: one writer at a time through an OS lock that dies with its holder; results never
overwritten."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from bn_mnist.core import outdir
from bn_mnist.core.errors import OutputError

HOLDER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from bn_mnist.core import outdir
    with outdir.locked(Path(sys.argv[1])):
        print("locked", flush=True)
        sys.stdin.readline()
    """
)


def holding(path):
    """Another process holding path's lock until its stdin closes."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout.readline().strip() == "locked"
    return process


def test_a_held_directory_is_refused_naming_its_holder_and_freed_when_the_holder_ends(tmp_path):
    out = tmp_path / "out"
    holder = holding(out)
    try:
        for attempt in (outdir.refuse_used_out_dir, outdir.refuse_in_use, lambda p: outdir.locked(p).__enter__()):
            with pytest.raises(
                OutputError, match=rf"is in use by pid {holder.pid} on .* since .*\(nothing was changed"
            ):
                attempt(out)
    finally:
        holder.communicate("\n", timeout=30)
    assert not (out / outdir.LOCK_FILE).exists()  # removed on release
    with outdir.claimed(out):
        assert (out / outdir.LOCK_FILE).read_text().startswith(f"pid {os.getpid()} on ")


def test_a_killed_holder_leaves_a_lock_file_that_locks_nothing(tmp_path):
    holder = holding(tmp_path)
    holder.kill()
    holder.wait(timeout=30)
    assert (tmp_path / outdir.LOCK_FILE).exists()
    assert outdir.in_use_by(tmp_path) is None
    with outdir.claimed(tmp_path):  # a lock file alone is not a result
        pass


def test_results_are_never_overwritten(tmp_path):
    (tmp_path / "summary.json").write_text("{}")
    with pytest.raises(OutputError, match="already exists and is not empty"):
        outdir.claimed(tmp_path).__enter__()
    with outdir.locked(tmp_path):  # resuming commands (reproduce) lock a used directory
        pass
