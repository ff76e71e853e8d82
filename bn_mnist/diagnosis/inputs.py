"""The two inputs of `diagnose`, read without changing them: a saved Keras 3 model and the data to measure it on
(an .npz with `x` and optionally `y`, a directory with MNIST, or by default MNIST's test set when the model takes
28x28 images). Anything it cannot use is a `DiagnoseError`: one line, exit 2."""

from __future__ import annotations

import dataclasses
import zipfile
from pathlib import Path

import keras
import numpy as np

import bn_mnist.nets  # noqa: F401  registers this project's layers, so its own models load
from bn_mnist.console import Log
from bn_mnist.errors import BnMnistError, DiagnoseError

MNIST_SHAPES = ((28, 28, 1), (28, 28), (784,))  # a model taking one of these gets MNIST without --data
DATA_LIMIT = 10_000  # examples measured at most (MNIST's test set): enough for per-channel statistics to ~1% of an SD


@dataclasses.dataclass(frozen=True)
class Data:
    """Examples the model can take as they are, labels when given (class indices), and where they came from."""

    x: np.ndarray  # (N, *model input shape), float32
    y: np.ndarray | None  # (N,) int
    source: str


def load_model(path: Path) -> keras.Model:
    """The model in `path`, with its optimizer when one was saved (for its iteration count); the file is only read."""
    if not path.is_file():
        raise DiagnoseError(f"{path}: no such file")
    if not zipfile.is_zipfile(path):
        raise DiagnoseError(f"{path}: not a Keras model (.keras archive)")
    try:
        return keras.saving.load_model(path, compile=True)
    except Exception:  # a loss or metric it cannot rebuild: the layers are what diagnose needs
        pass
    try:
        return keras.saving.load_model(path, compile=False)
    except Exception as error:
        raise DiagnoseError(f"{path}: not a Keras model Keras can load ({type(error).__name__}: {error})") from None


def input_shape(model: keras.Model) -> tuple[int | None, ...]:
    """The shape of one example the model takes; a model of several inputs is not one diagnose can feed."""
    if len(model.inputs) != 1:
        raise DiagnoseError(f"{model.name}: takes {len(model.inputs)} inputs; diagnose feeds models of one input")
    return tuple(model.inputs[0].shape[1:])


def load_data(model: keras.Model, data: Path | None, log: Log) -> Data:
    """The examples to measure `model` on, shaped for it (see the module's docstring)."""
    shape = input_shape(model)
    if data is not None and data.is_file():
        return from_npz(data, shape)
    if data is None and shape not in MNIST_SHAPES:
        raise DiagnoseError(f"{model.name} takes examples of shape {shape}, not MNIST's: give --data with an .npz")
    if data is not None and shape not in MNIST_SHAPES:
        raise DiagnoseError(f"{data}: MNIST's 28x28 images do not fit {model.name}'s input of shape {shape}")
    from bn_mnist.data import load_mnist

    try:
        mnist = load_mnist(data, log)
    except BnMnistError as error:
        raise DiagnoseError(str(error)) from None
    x = mnist.test_x.reshape((len(mnist.test_x), *shape))
    return Data(x, mnist.test_y, f"MNIST's {len(x):,} test images scaled to [0, 1]")


def from_npz(path: Path, shape: tuple[int | None, ...]) -> Data:
    """`x` (and `y`) of an .npz, at most DATA_LIMIT examples, checked against the model's input shape."""
    try:
        with np.load(path, allow_pickle=False) as arrays:
            if "x" not in arrays:
                raise DiagnoseError(f"{path}: no array named x (found: {', '.join(arrays.files) or 'none'})")
            x, y = arrays["x"][:DATA_LIMIT], arrays["y"][:DATA_LIMIT] if "y" in arrays else None
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        raise DiagnoseError(f"{path}: not an .npz numpy can read ({error})") from None
    if not fits(x.shape[1:], shape):
        raise DiagnoseError(f"{path}: x has examples of shape {x.shape[1:]}; the model takes {shape}")
    if y is not None and len(y) != len(x):
        raise DiagnoseError(f"{path}: {len(y)} labels y for {len(x)} examples x")
    labels = None if y is None else (y.argmax(-1) if y.ndim == 2 else y).astype(np.int64)
    return Data(x.astype(np.float32), labels, f"{len(x):,} examples of {path}")


def fits(example: tuple[int, ...], shape: tuple[int | None, ...]) -> bool:
    return len(example) == len(shape) and all(want in (None, have) for have, want in zip(example, shape))
