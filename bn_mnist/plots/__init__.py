"""Figures as PNG files (matplotlib's Agg backend: no screen needed): `convergence` for one comparison,
`seed_curves` for curves over seeds."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: works without a screen
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from bn_mnist import files


def save(figure: Figure, path: Path, rect: tuple[float, float, float, float] = (0, 0, 1, 1)) -> Path:
    """Write `figure` as a PNG at `path` (its axes laid out within `rect`) and free it."""
    figure.tight_layout(rect=rect)
    try:
        with files.written(path) as partial:
            figure.savefig(partial, dpi=100)
    finally:
        plt.close(figure)
    return path
