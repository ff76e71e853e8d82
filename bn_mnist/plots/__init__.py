"""Figures (matplotlib's Agg backend: no screen needed): `convergence` for one comparison, `seed_curves` for curves
over seeds. Drawing functions return a laid-out Figure (a notebook shows it); `save` writes it as a PNG."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: works without a screen
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from bn_mnist import files


def laid_out(figure: Figure, rect: tuple[float, float, float, float] = (0, 0, 1, 1)) -> Figure:
    """`figure` with its axes laid out within `rect` (what is left is for a legend below them)."""
    figure.tight_layout(rect=rect)
    return figure


def save(figure: Figure, path: Path) -> Path:
    """Write `figure` as a PNG at `path`, whole (`files.written`), and free it."""
    try:
        with files.written(path) as partial:
            figure.savefig(partial, dpi=100)
    finally:
        plt.close(figure)
    return path
