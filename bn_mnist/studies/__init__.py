"""The studies, one folder (or module) each: `compare` (one config with and without BN, over seeds) and the studies
that keep the contract of `lab.study`, which this registry lists for the API, the CLI and `report`: adding one is
its folder, its test and one line here. A study stands on `lab` and the core and never imports another study or a
tool (tests/test_architecture.py). Names only here: the CLI's --help needs no TensorFlow."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from bn_mnist.lab.names import Names
from bn_mnist.studies import explain, pitfalls, reproduce

if TYPE_CHECKING:
    from bn_mnist.lab.study import Study

REGISTRY: dict[str, Names] = {names.command: names for names in (reproduce.NAMES, explain.NAMES, pitfalls.NAMES)}


def load(command: str) -> Study[Any, Any, Any, Any]:
    """The `Study` of a command in the registry (its `study` module imports TensorFlow's side of the code)."""
    found: Study[Any, Any, Any, Any] = importlib.import_module(f"bn_mnist.studies.{command}.study").STUDY
    return found
