"""Functions traced for one model, kept while the model lives: a worker's kept network (`training/warm.py`) then
reuses them from run to run, and a dropped network takes them with it."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

import keras

_kept: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # model -> {name: what `make` returned}


def for_model(model: keras.Model, name: str, make: Callable[[Callable[[], keras.Model]], Any]) -> Any:
    """What `make` returns for `model` (made on the first call for this model and name, then kept). `make` gets a
    weak reference to call for the model, never the model itself: the cache must not keep it alive."""
    kept = _kept.setdefault(model, {})
    if name not in kept:
        kept[name] = make(weakref.ref(model))
    return kept[name]
