"""Output directories: one writer at a time through an OS lock that dies with its holder; results never
overwritten; a returned Ray run lands whole or not at all."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from bn_mnist import outdir
from bn_mnist.errors import ClusterError, OutputError
from bn_mnist.training import ray_backend

HOLDER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from bn_mnist import outdir
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


def test_a_returned_run_lands_whole(tmp_path):
    run_dir = tmp_path / "group" / "bn-seed0"
    run_dir.parent.mkdir()
    (run_dir.parent / ".bn-seed0.incoming").mkdir()  # left by a driver killed mid-write
    ray_backend.write_run(run_dir, {"summary.json": b"{}", "sub/events": b"\x00\x01"})
    assert (run_dir / "summary.json").read_bytes() == b"{}" and (run_dir / "sub" / "events").read_bytes() == b"\x00\x01"
    assert sorted(p.name for p in run_dir.parent.iterdir()) == ["bn-seed0"]


@pytest.mark.parametrize(
    ("address", "parsed"),
    [("10.0.0.5:6379", ("10.0.0.5", 6379)), ("[::1]:6379", ("::1", 6379)), ("head:1", ("head", 1))],
)
def test_cluster_addresses(address, parsed):
    assert ray_backend.host_and_port(address) == parsed


@pytest.mark.parametrize("address", ["head", ":6379", "head:port"])
def test_a_malformed_cluster_address_is_one_line(address):
    with pytest.raises(ClusterError, match="expected auto, local or HOST:PORT"):
        ray_backend.host_and_port(address)


def test_loopback_hosts():
    assert [ray_backend.is_loopback(h) for h in ("127.0.0.1", "::1", "localhost", "10.0.0.5", "head")] == [
        True,
        True,
        True,
        False,
        False,
    ]
