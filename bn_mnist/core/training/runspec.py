"""A run to train, as the runner and its back-ends take it (no TensorFlow here: plans are made without it)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bn_mnist.core.config import Config

if TYPE_CHECKING:
    from bn_mnist.core.training.measurement import Measurement


@dataclass(frozen=True)
class RunSpec:
    """One training run of many: its directory under the output directory, its config, and (optionally) what makes
    the probe measuring at every evaluation (`training.measurement`): a module-level class or function, so that it
    pickles into worker processes."""

    key: str  # e.g. "lesson/good-lr1-relu/bn-seed0"
    config: Config
    probe: Callable[[], Measurement] | None = None
