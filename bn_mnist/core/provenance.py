"""Which code trained a run or made a result: a hash of the package's source files, and the git commit when the
package runs from a checkout. A finished run is reused only when the code that trained it is the code running now
(`training/runner.py`), so a results file never mixes runs of two versions without saying so."""

from __future__ import annotations

import hashlib
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bn_mnist.core.records import Record, optional

PACKAGE = Path(__file__).resolve().parent.parent  # the whole package, not core/ alone
SOURCE_PATTERNS = ("*.py", "*.yaml")  # the code and the shipped configs
SHOWN = 12  # hex digits of a hash or commit that a line prints


@dataclass(frozen=True)
class CodeVersion(Record):
    """The code that ran: `source` hashes every source file of the package (path and content), `commit` is the
    checkout's HEAD (None outside a git checkout), `modified` whether the package's files differ from it."""

    source: str
    commit: str | None = optional()
    modified: bool | None = optional()

    def __str__(self) -> str:
        if self.commit is None:
            return f"source {self.source[:SHOWN]}"
        return f"source {self.source[:SHOWN]}, commit {self.commit[:SHOWN]}{' (modified)' if self.modified else ''}"


def source_hash(package: Path) -> str:
    """sha256 over every source file under package, in path order: each file's relative path, then its bytes."""
    digest = hashlib.sha256()
    paths = sorted(path for pattern in SOURCE_PATTERNS for path in package.rglob(pattern) if path.is_file())
    for path in paths:
        digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def git(package: Path, *args: str) -> str | None:
    """A git command's output in the checkout holding package, or None when there is none (or no git)."""
    try:
        done = subprocess.run(
            ["git", "-C", str(package.parent), *args], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def version_of(package: Path) -> CodeVersion:
    """The version of the package at `package`; a commit only when the package is the top of a checkout (an
    installed copy inside some checkout, say a virtual environment's, is no commit's)."""
    top = git(package, "rev-parse", "--show-toplevel")
    commit = git(package, "rev-parse", "HEAD") if top and Path(top).resolve() == package.parent else None
    status = git(package, "--no-optional-locks", "status", "--porcelain", "--", package.name) if commit else None
    return CodeVersion(source_hash(package), commit, None if status is None else bool(status))


_running: list[CodeVersion] = []  # the version this process runs, once known


def current() -> CodeVersion:
    """The running package's version: computed once per process, or pinned by the parent that started it."""
    if not _running:
        _running.append(version_of(PACKAGE))
    return _running[0]


def pin(version: CodeVersion) -> None:
    """Make `current()` the version a parent computed when it started this worker: the code it imported then, even
    if a file changes on disk during a long command."""
    _running[:] = [version]
