"""Figures: `convergence` for one comparison, `seed_curves` for curves over seeds. They are drawn without pyplot
(no screen or GUI backend needed, nothing held between calls); drawing functions return a laid-out Figure, which a
notebook shows, and `save` writes it as a PNG."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from bn_mnist.core import files

FIGURE_FORMATS = ("image/png", "image/svg+xml", "image/jpeg", "application/pdf")


def shown_in_notebooks() -> None:
    """In a notebook's kernel (IPython running), show a Figure as a PNG, as pyplot's inline backend sets up once
    pyplot draws a figure (these are drawn without it); a format the notebook chose for figures stays."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython else None
    if shell is None:
        return
    formatters = shell.display_formatter.formatters
    if any(Figure in formatters[kind].type_printers for kind in FIGURE_FORMATS):
        return
    from IPython.core.pylabtools import print_figure

    formatters["image/png"].for_type(Figure, lambda figure: print_figure(figure, "png"))  # type: ignore[no-untyped-call]


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
