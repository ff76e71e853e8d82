"""How the networks name their layers, the contract every measurement relies on: each weighted layer (Dense,
Conv2D) is named `dense<i>`, `conv<i>` or `logits`; the activation after it is `act_<layer>`, its BN, when it has
one, `bn_<layer>`, another normalization (layer, group, instance norm) `norm_<layer>`, and the dropout after it,
if any, `drop_<layer>`. `models.py` builds by these names; inspection and the probes find layers by them."""

from __future__ import annotations

import keras

WEIGHTED_LAYERS = (keras.layers.Dense, keras.layers.Conv2D)
ACTIVATION_PREFIX, BN_PREFIX, NORM_PREFIX, DROPOUT_PREFIX = "act_", "bn_", "norm_", "drop_"


def activation_name(layer: str) -> str:
    return f"{ACTIVATION_PREFIX}{layer}"


def bn_name(layer: str) -> str:
    return f"{BN_PREFIX}{layer}"


def norm_name(layer: str) -> str:
    return f"{NORM_PREFIX}{layer}"


def dropout_name(layer: str) -> str:
    return f"{DROPOUT_PREFIX}{layer}"


def weighted_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """The Dense and Conv2D layers, input side first."""
    return [layer for layer in model.layers if isinstance(layer, WEIGHTED_LAYERS)]


def named(model: keras.Model, name: str) -> keras.layers.Layer | None:
    return next((layer for layer in model.layers if layer.name == name), None)


def activation_of(model: keras.Model, layer: str) -> keras.layers.Layer | None:
    """The activation after a weighted layer (None for the logits)."""
    return named(model, activation_name(layer))


def normalization_of(model: keras.Model, layer: str) -> keras.layers.Layer | None:
    """A weighted layer's BN or other normalization (None without)."""
    return named(model, bn_name(layer)) or named(model, norm_name(layer))


def normalization_layers(model: keras.Model) -> dict[str, keras.layers.Layer]:
    """Weighted layer name -> its BN or other normalization layer."""
    prefixes = (BN_PREFIX, NORM_PREFIX)
    return {layer.name.split("_", 1)[1]: layer for layer in model.layers if layer.name.startswith(prefixes)}
