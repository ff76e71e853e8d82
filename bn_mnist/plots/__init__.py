"""Figures: `convergence` for one comparison, `seed_curves` for curves over seeds. They are drawn without pyplot
(no screen or GUI backend needed, nothing held between calls); drawing functions return a laid-out Figure, which a
notebook shows, and `save` writes it as a PNG."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from bn_mnist import files


def shown_in_notebooks() -> None:
    """In IPython (a notebook's kernel), show a Figure as a PNG, as pyplot's inline backend would set up once pyplot
    drew a figure; these figures are drawn without pyplot."""
    try:
        from IPython import get_ipython
        from IPython.core.pylabtools import select_figure_formats
    except ImportError:  # no IPython: nothing to show figures in
        return
    shell = get_ipython()
    if shell is not None:
        select_figure_formats(shell, {"png"})  # type: ignore[no-untyped-call]  # IPython has no annotations here


shown_in_notebooks()


def subplots(rows: int = 1, cols: int = 1, *, figsize: tuple[float, float], squeeze: bool = True) -> tuple[Figure, Any]:
    """A Figure and its axes as `pyplot.subplots` makes them, but not held by pyplot: nothing to close, and a
    notebook shows it once, when a cell returns it (pyplot's figures it would show again at the cell's end)."""
    figure = Figure(figsize=figsize)
    return figure, figure.subplots(rows, cols, squeeze=squeeze)


def laid_out(figure: Figure, rect: tuple[float, float, float, float] = (0, 0, 1, 1)) -> Figure:
    """`figure` with its axes laid out within `rect` (what is left is for a legend below them)."""
    figure.tight_layout(rect=rect)
    return figure


def save(figure: Figure, path: Path) -> Path:
    """Write `figure` as a PNG at `path`, whole (`files.written`)."""
    with files.written(path) as partial:
        figure.savefig(partial, dpi=100)
    return path
