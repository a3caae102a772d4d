"""Device choice: 'auto', explicit devices, and a lock-based GPU slot allocator for one machine."""

from __future__ import annotations

import fcntl
import os
import tempfile
from pathlib import Path
from typing import IO

import torch

LOCK_DIR_ENV = "SMARTMIXED_GPU_LOCK_DIR"


def default_lock_dir() -> Path:
    """Per machine, or per SLURM job: device numbers are relative to a job's own allocation."""
    job = os.environ.get("SLURM_JOB_ID")
    name = f"smartmixed-gpu-locks-{job}" if job else "smartmixed-gpu-locks"
    return Path(os.environ.get(LOCK_DIR_ENV, Path(tempfile.gettempdir()) / name))


def claim_slot(count: int, lock_dir: Path | None = None) -> tuple[int, IO] | None:
    """Claim the first free of `count` device slots with an exclusive, non-blocking file lock.

    Returns (slot, handle); the slot stays claimed while the handle is open (the process lives),
    and is freed by the kernel however the process ends. None when every slot is taken.
    """
    folder = lock_dir or default_lock_dir()
    folder.mkdir(parents=True, exist_ok=True)
    for slot in range(count):
        handle = open(folder / f"gpu{slot}.lock", "a+")  # noqa: SIM115 - held for the process
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        return slot, handle
    return None


def resolve(name: str, count: int | None = None, lock_dir: Path | None = None):
    """(torch.device, lock handle or None) for a config device name.

    'auto' and 'cuda' take a free GPU slot when several GPUs are visible (Snakemake hands out
    GPU *counts*, not ids: `--resources gpu=N` bounds the concurrent jobs, the locks keep them
    on distinct GPUs); 'cuda:N' and 'cpu' are taken as given. `count` fakes the GPU count (tests).
    """
    n = torch.cuda.device_count() if count is None else count
    if name == "cpu" or (name == "auto" and n == 0):
        return torch.device("cpu"), None
    if name in ("auto", "cuda"):
        if n <= 1:
            return torch.device("cuda"), None
        claimed = claim_slot(n, lock_dir)
        if claimed is None:
            raise RuntimeError(
                f"all {n} GPU slots are taken; run at most {n} training jobs at once "
                "(snakemake --resources gpu=N)"
            )
        slot, handle = claimed
        return torch.device(f"cuda:{slot}"), handle
    return torch.device(name), None
