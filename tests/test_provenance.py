"""The code version a run records: a hash of the package's sources that any change of a file moves, and the git
commit only when the package is the top of a checkout."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from bn_mnist.core import provenance
from bn_mnist.lab.text import code_lines


def package_in(root, files: dict[str, str]):
    package = root / "bn_mnist"
    for name, text in files.items():
        (package / name).parent.mkdir(parents=True, exist_ok=True)
        (package / name).write_text(text)
    return package


BASE = {"a.py": "x = 1\n", "configs/fc.yaml": "seed: 0\n"}


def test_the_source_hash_moves_with_any_source_file_and_nothing_else(tmp_path):
    package = package_in(tmp_path / "base", {**BASE, "notes.txt": "not a source file"})
    first = provenance.source_hash(package)
    (package / "notes.txt").write_text("changed")
    (package / "__pycache__").mkdir()
    (package / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"compiled")
    assert provenance.source_hash(package) == first
    assert provenance.source_hash(package_in(tmp_path / "same", BASE)) == first  # content and paths, not place
    changes = {"code": {"a.py": "x = 2\n"}, "config": {"configs/fc.yaml": "seed: 1\n"}, "new": {"b.py": ""}}
    for name, change in changes.items():
        assert provenance.source_hash(package_in(tmp_path / name, {**BASE, **change})) != first, name


@pytest.mark.skipif(shutil.which("git") is None, reason="no git")
def test_a_checkout_gives_its_commit_and_whether_the_package_differs(tmp_path):
    package = package_in(tmp_path, {"a.py": "x = 1\n"})
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t"]
    for args in (["init", "-q"], ["add", "."], ["commit", "-q", "-m", "first"]):
        subprocess.run([*git, *args], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    clean = provenance.version_of(package)
    assert (clean.commit, clean.modified) == (head, False)
    (package / "a.py").write_text("x = 2\n")
    assert provenance.version_of(package).modified is True
    inside = package_in(tmp_path / "venv" / "site-packages", {"a.py": "x = 1\n"})  # a copy inside the checkout
    assert provenance.version_of(inside).commit is None and provenance.version_of(inside).modified is None
    assert str(clean) == f"source {clean.source[:12]}, commit {head[:12]}"


def test_a_report_says_which_code_made_it_and_lists_reused_runs_of_other_code():
    code = provenance.CodeVersion("a" * 64, "b" * 40, True)
    assert code_lines(None, []) == []  # results from before the code version was kept: their reports unchanged
    (made,) = code_lines(code, [])
    assert made.startswith("- Code: source aaaaaaaaaaaa, commit bbbbbbbbbbbb (modified). Every run's summary.json")
    assert code_lines(code, ["lesson/x/bn-seed0", "paper/bn-seed1"])[1] == (
        "- **Reused runs that other code trained** (`--reuse-other-code`): lesson/x/bn-seed0, paper/bn-seed1."
    )
