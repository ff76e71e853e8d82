"""`bn-mnist report DIR`: the committed reproduction, explain and comparison reports made again from their results alone
(report.md byte for byte, every figure a drawn PNG), and the clear errors of a directory with nothing to rebuild."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest
from click.testing import CliRunner

from bn_mnist import studies
from bn_mnist.cli import main
from bn_mnist.rebuild import kind_of
from bn_mnist.studies import compare as comparison
from bn_mnist.studies.explain.study import markdown as explain_markdown
from bn_mnist.studies.explain.study import results_of as explain_results

DOCS = Path(__file__).resolve().parent.parent / "docs"


@pytest.mark.parametrize("folder", ["reproduction", "explain", "norms/explain", "pitfalls"])
def test_the_committed_report_is_its_results_rendered(folder):
    """Through the study that `report` finds for the results' kind, as it rebuilds them."""
    raw = json.loads((DOCS / folder / "results.json").read_text())
    study = studies.load(kind_of(raw))
    assert study.markdown(study.read(raw)) == (DOCS / folder / "report.md").read_text()


def test_verdicts_judged_after_the_runs_say_so():
    """Results from before verdicts were stored are judged by today's rules, and their report cannot say those rules
    were declared before their runs."""
    raw = json.loads((DOCS / "norms/explain/results.json").read_text())
    unjudged = {key: value for key, value in raw.items() if key != "verdicts"}
    for results, later in ((explain_results(raw), False), (explain_results(unjudged), True)):
        words = [v for v in vars(results.verdicts).values() if v is not None and hasattr(v, "judged_later")]
        assert words and {bool(v.judged_later) for v in words} == {later}
        text = explain_markdown(results)
        assert ("declared before the runs" in text) is not later and ("applied after the runs" in text) is later


def test_an_explain_report_of_the_older_landscape_records_is_one_line(tmp_path):
    """Results made before schema 2 changed the landscape study (its step multiples gave way to matched distances)
    are one line naming the field and the code to rebuild them with."""
    raw = json.loads((DOCS / "explain/results.json").read_text())
    old = raw["studies"]["landscape"] | {"step_multiples": [0.5, 1, 2, 4]}
    (tmp_path / "results.json").write_text(
        json.dumps(raw | {"schema": 1, "studies": raw["studies"] | {"landscape": old}})
    )
    result = CliRunner().invoke(main, ["report", str(tmp_path)])
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1
    assert "step_multiples" in result.output and "made by an older bn-mnist" in result.output


@pytest.mark.parametrize("folder", ["norms/conv", "norms/fc"])
def test_the_committed_comparisons_are_their_summaries_rendered(folder):
    raw = json.loads((DOCS / folder / "summary.json").read_text())
    summary = comparison.CompareSummary.from_dict(raw)
    assert comparison.markdown_report(summary) == (DOCS / folder / "report.md").read_text()
    assert (DOCS / folder / comparison.PLOT_FILE).is_file()


@pytest.mark.slow  # draws its figures (the reproduction's 19 are drawn by the same code in test_reproduce)
@pytest.mark.parametrize("folder", ["explain", "norms/explain", "pitfalls"])
def test_report_rebuilds_the_committed_docs_from_results_alone(folder, tmp_path):
    out = tmp_path / folder
    out.mkdir(parents=True)  # a nested folder: norms/explain
    shutil.copy(DOCS / folder / "results.json", out)  # nothing else: no run directory, no old figure
    result = CliRunner().invoke(main, ["report", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "report.md").read_text() == (DOCS / folder / "report.md").read_text()
    figures = json.loads((out / "results.json").read_text())["figures"]
    for name in figures.values():
        image = matplotlib.image.imread(out / name)
        assert image.shape[0] > 300 and np.std(image) > 0.05, name
        assert (DOCS / folder / name).is_file()  # the same figures the committed report shows


def test_a_directory_without_results_is_one_line(tmp_path):
    result = CliRunner().invoke(main, ["report", str(tmp_path)])
    assert result.exit_code == 1
    expected = "no results.json (reproduce, explain, pitfalls) or summary.json (compare) to rebuild from"
    assert result.output.strip() == f"bn-mnist: error: {tmp_path}: {expected}"


def test_a_damaged_results_file_is_one_line(tmp_path):
    damaged = {  # what results.json holds -> what the line names
        '{"meta": {}, "unknown_field": 1}': "unknown_field",
        '{"meta": {"quick": true}}': "Meta",
        '{"kind": "explain", "meta": {"stud': "cannot be read",  # cut short, as by a crash
        "[1, 2]": "holds no results",
        '{"kind": "explain", "meta": 7}': "Meta: expected an object, got 7",
    }
    for text, named in damaged.items():
        (tmp_path / "results.json").write_text(text)
        result = CliRunner().invoke(main, ["report", str(tmp_path)])
        assert result.exit_code == 2 and result.output.startswith("bn-mnist: error: ")
        assert named in result.output and len(result.output.strip().splitlines()) == 1


ROOT = DOCS.parent
NORMS = ("norms/conv", "norms/fc", "norms/explain")
QUOTING = {  # a page, or a section of it, -> the reports whose numbers it quotes
    ("docs/reproduce.md", None): ("reproduction",),
    ("docs/explain.md", None): ("explain", "norms/explain"),
    ("docs/norms.md", None): NORMS,
    ("README.md", "Does it reproduce?"): ("reproduction",),
    ("README.md", "Why does BN help?"): ("explain",),
    ("README.md", "Beyond BN"): NORMS,
    ("docs/pitfalls.md", None): ("pitfalls",),
    ("README.md", "BN as it fails today"): ("pitfalls",),
}


def quoting_text(page: str, title: str | None) -> str:
    text = (ROOT / page).read_text()
    if title is None:
        return text
    start = text.index(f"## {title}")
    return text[start : text.index("\n## ", start + 3)]


@pytest.mark.parametrize(("page", "title"), list(QUOTING), ids=[f"{p}:{t or ''}" for p, t in QUOTING])
def test_the_docs_quote_their_numbers_from_the_committed_reports(page, title):
    """Every accuracy (four decimals), every measurement in e-notation and every 'k of n seeds' that the README's
    summaries and the pages behind them quote stands in the report rendered from the committed results.json
    (checked above), so the docs cannot drift from the results."""
    text = quoting_text(page, title)
    report = "\n".join((DOCS / folder / "report.md").read_text() for folder in QUOTING[page, title])
    accuracies = re.findall(r"(?<![\d.])\d\.\d{4}(?!\d)", text)
    measurements = re.findall(r"(?<![\d.])\d+(?:\.\d+)?e-\d+", text)
    seeds = [f"{k}/{n}" for k, n in re.findall(r"(\d+) of (\d+) seeds", text)]
    assert accuracies + measurements + seeds  # it does quote numbers
    assert [number for number in accuracies + measurements + seeds if number not in report] == []
