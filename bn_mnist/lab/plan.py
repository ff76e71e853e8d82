"""A plan of runs: every run a command needs, each once, with an index from what a run is for (study, panel, swept
value, arm, seed) to its directory, so that analysis looks runs up and never rebuilds a key."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

from bn_mnist.core.config import Config
from bn_mnist.core.training.runspec import RunSpec

if TYPE_CHECKING:
    from bn_mnist.core.training.measurement import Measurement

CONV_STEP_COST = 80  # a conv step costs ~80 FC steps here (python -m bn_mnist.tools.bench)


class RunId(NamedTuple):
    """What a run is for."""

    study: str  # "lr", "lesson", "conv", ...
    arm: str  # an `Arm.key`
    seed: int
    panel: str = ""  # a panel of the study ("fc-relu", a Lesson setting); "" when it has one
    value: float | None = None  # the swept value; None when nothing is swept


def seed_key(arm: str, seed: int) -> str:
    """One arm's run of one seed: `<arm>-seed<n>` (a comparison's run directories)."""
    return f"{arm}-seed{seed}"


def run_key(group: str, arm: str, seed: int) -> str:
    """A run's directory under the output directory: `<group>/<arm>-seed<n>`."""
    return f"{group}/{seed_key(arm, seed)}"


def expected_cost(config: Config) -> float:
    """Rough training time in FC-step units."""
    return config.train.steps * (CONV_STEP_COST if config.model.arch == "conv" else 1)


def seeds_per_kind(seeds: int | None, defaults: dict[str, int]) -> dict[str, int]:
    """Seeds per kind of run: `seeds` for every kind when given, else the defaults."""
    return dict(defaults) if seeds is None else dict.fromkeys(defaults, seeds)


class Plan:
    """Runs added with what they are for; a run two studies share (same directory, same config) is trained once."""

    def __init__(self) -> None:
        self._specs: dict[str, RunSpec] = {}
        self._index: dict[RunId, str] = {}

    def add(self, run: RunId, group: str, config: Config, probe: Callable[[], Measurement] | None = None) -> str:
        key = run_key(group, run.arm, run.seed)
        spec = RunSpec(key, config, probe)
        if self._specs.setdefault(key, spec) != spec:
            raise ValueError(f"{key}: planned twice with different configs")  # a bug in a plan, not a user error
        self._index[run] = key
        return key

    def key(self, study: str, arm: str, seed: int, panel: str = "", value: float | None = None) -> str:
        return self._index[RunId(study, arm, seed, panel, value)]

    def seeds(self, study: str, arm: str, panel: str = "", value: float | None = None) -> list[str]:
        """The keys of one setting's runs over all its planned seeds, in seed order.

        Raises:
            KeyError: no run of that setting is planned (a misspelt name fails here, not as an empty statistic).
        """
        found = sorted(
            (run.seed, key)
            for run, key in self._index.items()
            if (run.study, run.arm, run.panel, run.value) == (study, arm, panel, value)
        )
        if not found:
            raise KeyError(f"no planned run of {study}/{panel}/{value}/{arm}")
        return [key for _, key in found]

    def has(self, study: str, arm: str, seed: int, panel: str = "", value: float | None = None) -> bool:
        return RunId(study, arm, seed, panel, value) in self._index

    def with_configs(self, change: Callable[[Config], Config]) -> Plan:
        """The same runs, each config changed (a test's shortened runs)."""
        changed = Plan()
        changed._specs = {
            key: dataclasses.replace(spec, config=change(spec.config)) for key, spec in self._specs.items()
        }
        changed._index = dict(self._index)
        return changed

    def specs(self) -> list[RunSpec]:
        """Every run once, slowest first (so that parallel workers finish together)."""
        return sorted(self._specs.values(), key=lambda spec: -expected_cost(spec.config))

    def __len__(self) -> int:
        return len(self._specs)
