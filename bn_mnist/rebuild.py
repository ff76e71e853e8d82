"""`bn-mnist report DIR`: a compare, reproduce, explain or pitfalls output's report.md and figures made again from its
summary.json or results.json alone (the records it holds; no run directory is read). It writes no TensorBoard
event file: the IMAGES tab of an output keeps the figures its command drew."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bn_mnist.core import files
from bn_mnist.core.errors import OutputError, ResultsError
from bn_mnist.core.records import SCHEMA_VERSION, read_object
from bn_mnist.core.runfiles import CONFIG_FILE, SUMMARY_FILE
from bn_mnist.lab.meta import RESULTS_FILE


def kind_of(raw: dict[str, Any]) -> str:
    """Which command wrote a results file; results from before schema 1 carry no `kind` and are told apart by their
    sections."""
    return str(raw.get("kind") or ("explain" if "studies" in raw else "reproduce"))


def rebuild(out_dir: Path) -> list[Path]:
    """Rewrite out_dir's report.md and figures from its results; returns the files written.

    Raises:
        OutputError: out_dir holds no results.json or summary.json of bn-mnist.
        ResultsError: the file does not hold the records it should.
    """
    if (out_dir / RESULTS_FILE).is_file():
        path = out_dir / RESULTS_FILE
    elif (out_dir / SUMMARY_FILE).is_file() and not (out_dir / CONFIG_FILE).is_file():
        path = out_dir / SUMMARY_FILE  # a comparison's (a single run's summary.json sits beside its config.yaml)
    else:
        raise OutputError(
            f"{out_dir}: no results.json (reproduce, explain, pitfalls) or summary.json (compare) to rebuild from"
        )
    raw = read_object(path, "results")
    if not isinstance(raw.get("schema", 0), int):
        raise ResultsError(f"{path}: schema {files.excerpt(raw['schema'])}: expected a version number")
    if raw.get("schema", 0) > SCHEMA_VERSION:  # files from before schema 1 hold the same records, unversioned
        raise ResultsError(f"{path}: schema {raw['schema']}, newer than this bn-mnist reads ({SCHEMA_VERSION})")
    try:
        return rebuild_of(path, out_dir, raw)
    except ResultsError as error:
        if raw.get("schema", 0) >= SCHEMA_VERSION:
            raise
        raise ResultsError(
            f"{path}: {error} (made by an older bn-mnist, schema {raw.get('schema', 0)}; this one writes "
            f"{SCHEMA_VERSION}: rebuild it with the code its meta names)"
        ) from error


def rebuild_of(path: Path, out_dir: Path, raw: dict[str, Any]) -> list[Path]:
    """The rebuild of the command that wrote `raw`: a comparison's summary.json, else its study's results.json."""
    if path.name == SUMMARY_FILE:
        from bn_mnist.studies import compare

        return compare.rebuild(out_dir, raw)
    from bn_mnist import studies
    from bn_mnist.lab import pipeline

    kind = kind_of(raw)
    if kind not in studies.REGISTRY:
        raise ResultsError(f"{path}: kind {files.excerpt(kind)}: expected one of {', '.join(studies.REGISTRY)}")
    return pipeline.rebuild(studies.load(kind), out_dir, raw)
