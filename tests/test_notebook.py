"""The tutorial notebook (docs/tutorial.ipynb) executed end to end by a real kernel (nbclient) at a small budget,
and its outputs checked: the tables, the figures, the numbers and the progress lines."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).parents[1] / "docs" / "tutorial.ipynb"
SMALL_BUDGET = "FC_STEPS = 200\nCONV_STEPS = 20\nSEEDS = 1\nOUT = {out!r}"
ACCURACY_ROW = re.compile(r"^\| final validation accuracy \| (.+) \|$", re.MULTILINE)


def executed(tmp_path: Path) -> list[list[dict]]:
    """Every code cell's outputs, after a run with the small budget in the cell tagged `parameters`."""
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    (parameters,) = [cell for cell in notebook.cells if "parameters" in cell.metadata.get("tags", [])]
    parameters.source = SMALL_BUDGET.format(out=str(tmp_path / "runs"))
    NotebookClient(
        notebook, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    return [cell.outputs for cell in notebook.cells if cell.cell_type == "code"]


def shown(outputs: list[dict], kind: str) -> list[str]:
    return [output["data"][kind] for output in outputs if kind in output.get("data", {})]


def test_the_tutorial_runs_and_shows_tables_figures_and_numbers(real_mnist, tmp_path):
    _, _, fc, fc_figure, finals, conv, conv_figure, inside = executed(tmp_path)
    for table in (shown(fc, "text/markdown"), shown(conv, "text/markdown")):
        (row,) = ACCURACY_ROW.findall(table[0])
        cells = [float(cell.split()[0]) for cell in row.split(" | ")]  # one per arm: BN, no BN
        assert len(cells) == 2 and all(0.0 <= value <= 1.0 for value in cells), row
        assert "![" not in table[0]  # the report's image lines are left out: figure() draws them
    progress = "".join(output.get("text", "") for output in fc if output.get("name") == "stderr")
    assert "0 of 2 runs already finished" in progress and "runs/fc" in progress
    for figure in (fc_figure, conv_figure, inside):
        assert len(shown(figure, "image/png")) == 1  # shown once, as a PNG
    accuracies = ast.literal_eval(shown(finals, "text/plain")[0])
    assert set(accuracies) == {"bn", "no_bn"} and all(0 < a[0] <= 1 for a in accuracies.values())
    assert "| final validation accuracy |" in shown(inside, "text/markdown")[0]
    assert (tmp_path / "runs" / "conv" / "convergence.png").read_bytes()[:4] == b"\x89PNG"
