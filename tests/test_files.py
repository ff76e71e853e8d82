"""Files written whole or not at all: a failed write leaves nothing under the final name, a process killed between
writing and renaming leaves the previous file readable, and an error line quotes only an excerpt."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from bn_mnist.cli import main
from bn_mnist.core import files, records
from bn_mnist.core.errors import WriteError


def test_a_file_appears_whole_under_its_name_and_only_then(tmp_path):
    path = tmp_path / "results.json"
    with files.written(path) as partial:
        partial.write_text("{}")
        assert not path.exists() and partial.parent == tmp_path and partial.suffix == ".json"
    assert path.read_text() == "{}" and os.listdir(tmp_path) == ["results.json"]


def test_a_failed_write_keeps_the_previous_file_and_no_partial(tmp_path):
    path = tmp_path / "report.md"
    path.write_text("before")
    failure = pytest.raises(WriteError, match=f"cannot write {path}: No space left on device$")
    with failure, files.written(path) as partial:
        os.symlink("/dev/full", partial)  # writes to /dev/full fail with ENOSPC, as on a full disk
        partial.write_text("after")
    assert path.read_text() == "before" and os.listdir(tmp_path) == ["report.md"]


def test_a_process_killed_between_writing_and_renaming_leaves_the_previous_file(tmp_path):
    path = tmp_path / "summary.json"
    records.write_json(path, {"steps": 1})
    killed_before_rename = textwrap.dedent(
        f"""
        import os, signal
        from pathlib import Path
        from bn_mnist.core import records
        os.replace = lambda *_: os.kill(os.getpid(), signal.SIGKILL)
        records.write_json(Path({str(path)!r}), {{"steps": 2}})
        """
    )
    run = subprocess.run([sys.executable, "-c", killed_before_rename], capture_output=True, check=False)
    assert run.returncode == -9
    assert json.loads(path.read_text()) == {"steps": 1}
    (left,) = (p.name for p in tmp_path.iterdir() if p != path)  # hidden, and never read as a summary
    assert left.startswith(".summary.partial-") and left.endswith(".json")


def test_set_aside_renames_and_never_overwrites(tmp_path):
    run = tmp_path / "bn-seed0"
    run.mkdir()
    first = files.set_aside(run)
    run.mkdir()
    second = files.set_aside(run)
    assert first != second and first.name.startswith("bn-seed0.damaged-") and second.is_dir() and not run.exists()


def test_an_error_quotes_an_excerpt(tmp_path):
    assert files.excerpt("short") == "'short'"
    quoted = files.excerpt("x" * 5000)
    assert len(quoted) < 100 and quoted.endswith("(5,000 characters)")
    passwd = tmp_path / "passwd"
    passwd.write_text("".join(f"user{i}:x:{i}:{i}::/home/user{i}:/bin/sh\n" for i in range(200)))
    result = CliRunner().invoke(main, ["train", "--config", str(passwd)])
    line = result.output.strip()
    # one short line: the excerpt is bounded whatever the path's length (pytest-xdist's tmp paths are longer)
    assert result.exit_code == 2 and len(line.splitlines()) == 1 and len(line) - len(str(passwd)) < 200
    assert "expected a mapping of sections (model:, train:, bn:, ...), got 'user0:x:0:0" in line


def test_a_write_error_crosses_a_process_pool_whole():
    """A worker's WriteError reaches the parent as itself, its one line intact (the pool pickles it)."""
    error = files.write_error(Path("out/run/model.keras"), OSError(28, "No space left on device"))
    crossed = pickle.loads(pickle.dumps(error))
    assert type(crossed) is WriteError and str(crossed) == "cannot write out/run/model.keras: No space left on device"
