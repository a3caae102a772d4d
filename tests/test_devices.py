"""GPU slot allocation on one machine, tested on the CPU by faking the device count."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
import torch

from smartmixed.devices import claim_slot, resolve


def test_cpu_and_explicit_devices_need_no_slot(tmp_path):
    assert resolve("cpu", count=4, lock_dir=tmp_path) == (torch.device("cpu"), None)
    assert resolve("auto", count=0, lock_dir=tmp_path) == (torch.device("cpu"), None)
    assert resolve("cuda:3", count=4, lock_dir=tmp_path)[0] == torch.device("cuda:3")
    assert resolve("auto", count=1, lock_dir=tmp_path) == (torch.device("cuda"), None)


def test_concurrent_jobs_get_distinct_gpus_and_slots_free_on_exit(tmp_path):
    held = [resolve("auto", count=3, lock_dir=tmp_path) for _ in range(3)]
    assert [str(d) for d, _ in held] == ["cuda:0", "cuda:1", "cuda:2"]
    with pytest.raises(RuntimeError, match="all 3 GPU slots are taken"):
        resolve("cuda", count=3, lock_dir=tmp_path)
    held[1][1].close()  # that job ended
    device, _ = resolve("auto", count=3, lock_dir=tmp_path)
    assert device == torch.device("cuda:1")


def test_slots_are_exclusive_across_processes(tmp_path):
    """Another process holding slot 0 pushes this one to slot 1; its death frees slot 0."""
    code = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from smartmixed.devices import claim_slot
        slot, handle = claim_slot(2, Path({str(tmp_path)!r}))
        print(slot, flush=True)
        sys.stdin.read()
    """)
    other = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert other.stdout.readline().strip() == "0"
    slot, handle = claim_slot(2, tmp_path)
    assert slot == 1
    handle.close()
    other.kill()
    other.wait()
    assert claim_slot(2, tmp_path)[0] == 0
