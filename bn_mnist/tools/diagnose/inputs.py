"""The two inputs of `diagnose`, read without changing them: a saved Keras 3 model and the data to measure it on
(an .npz with `x` and optionally `y`, a directory with MNIST, or by default MNIST's test set when the model takes
28x28 images). Anything it cannot use is a `DiagnoseError`: one line, exit 2."""

from __future__ import annotations

import contextlib
import dataclasses
import zipfile
from pathlib import Path

import keras
import numpy as np

import bn_mnist.core.nets  # noqa: F401  registers this project's layers, so its own models load
from bn_mnist.core.console import Log
from bn_mnist.core.data.sources import first_line
from bn_mnist.core.errors import BnMnistError, DiagnoseError

MNIST_SHAPES = ((28, 28, 1), (28, 28), (784,))  # a model taking one of these gets MNIST without --data
DATA_LIMIT = 10_000  # examples measured at most (MNIST's test set): enough for per-channel statistics to ~1% of an SD

Shape = tuple[int | None, ...]


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
    with contextlib.suppress(Exception):  # a loss or metric it cannot rebuild: the layers are what diagnose needs
        return keras.saving.load_model(path, compile=True)
    try:
        return keras.saving.load_model(path, compile=False)
    except Exception as error:
        reason = f"{type(error).__name__}: {first_line(error)}"
        raise DiagnoseError(f"{path}: not a model Keras can load ({reason})") from None


def input_shape(model: keras.Model) -> Shape | None:
    """The shape of one example the model takes (None for a subclassed model, which does not say); a model of
    several inputs is not one diagnose can feed."""
    inputs = getattr(model, "inputs", None)  # Functional and Sequential models only
    if not inputs:
        return None
    if len(inputs) != 1:
        raise DiagnoseError(f"{model.name}: takes {len(inputs)} inputs; diagnose feeds models of one input")
    return tuple(inputs[0].shape[1:])


def load_data(model: keras.Model, data: Path | None, log: Log) -> Data:
    """The examples to measure `model` on, shaped for it (see the module's docstring)."""
    shape = input_shape(model)
    if data is not None and data.is_file():
        return from_npz(data, shape)
    mnist_shape = next((mnist for mnist in MNIST_SHAPES if shape is not None and fits(mnist, shape)), None)
    if mnist_shape is None:
        takes = "examples of a shape it does not say" if shape is None else f"examples of shape {shape}"
        where = f"{data}: MNIST's 28x28 images do not fit {model.name}" if data else model.name
        raise DiagnoseError(f"{where}: it takes {takes}, not MNIST's: give --data with an .npz")
    from bn_mnist.core.data import load_mnist

    try:
        mnist = load_mnist(data, log)
    except BnMnistError as error:
        raise DiagnoseError(str(error)) from None
    x = mnist.test_x.reshape((len(mnist.test_x), *mnist_shape))
    return Data(x, mnist.test_y.astype(np.int64), f"MNIST's {len(x):,} test images scaled to [0, 1]")


def from_npz(path: Path, shape: Shape | None) -> Data:
    """`x` (and `y`) of an .npz, at most DATA_LIMIT examples, checked against the model's input shape."""
    try:
        with np.load(path, allow_pickle=False) as arrays:
            if "x" not in arrays:
                raise DiagnoseError(f"{path}: no array named x (found: {', '.join(arrays.files) or 'none'})")
            x, y = arrays["x"][:DATA_LIMIT], arrays["y"][:DATA_LIMIT] if "y" in arrays else None
    except (OSError, ValueError, IndexError, zipfile.BadZipFile) as error:
        raise DiagnoseError(f"{path}: not an .npz of arrays numpy can read ({first_line(error)})") from None
    if len(x) == 0 or not np.issubdtype(x.dtype, np.number):
        raise DiagnoseError(f"{path}: x holds no examples of numbers (shape {x.shape}, {x.dtype})")
    if shape is not None and not fits(x.shape[1:], shape):
        raise DiagnoseError(f"{path}: x has examples of shape {x.shape[1:]}; the model takes {shape}")
    kind = "" if x.dtype == np.float32 else f", {x.dtype} values used as they are"
    return Data(x.astype(np.float32), labels(path, y, len(x)), f"{len(x):,} examples of {path}{kind}")


def labels(path: Path, y: np.ndarray | None, examples: int) -> np.ndarray | None:
    """Class indices from `y`: indices, (N, 1) indices, or one-hot rows."""
    if y is None:
        return None
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    elif y.ndim == 2:
        y = y.argmax(-1)
    if y.ndim != 1 or len(y) != examples or not np.issubdtype(y.dtype, np.number) or np.any(y != np.round(y)):
        raise DiagnoseError(f"{path}: y must hold one class index (or one-hot row) per example of x; got {y.shape}")
    return y.astype(np.int64)


def check_labels(data: Data, classes: int) -> None:
    """Labels the model's outputs can score: 0 <= y < the number of classes it outputs."""
    if data.y is not None and (data.y.min() < 0 or data.y.max() >= classes):
        raise DiagnoseError(f"{data.source}: labels {data.y.min()}..{data.y.max()} for a model of {classes} classes")


def fits(example: Shape, shape: Shape) -> bool:
    """Whether an example of shape `example` fits an input of `shape` (None: any size)."""
    return len(example) == len(shape) and all(want in (None, have) for have, want in zip(example, shape))
