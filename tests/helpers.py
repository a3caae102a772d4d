"""Helpers for the workflow and cluster tests: a private copy of the workflow, Snakemake runs."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]
WORKFLOW_FILES = [
    "Snakefile",
    "config",
    "workflow",
    "report",
    ".test",
    "profiles",
    "benchmarks",
    "environment.yml",
]


def copy_workflow(dst: Path, data_root: Path) -> Path:
    for name in WORKFLOW_FILES:
        src = REPO / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, dst / name)
    (dst / "resources").mkdir()
    (dst / "resources" / "data").symlink_to(data_root)
    return dst


def snakemake(workdir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([*SNAKEMAKE, *args], cwd=workdir, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def job_counts(output: str) -> dict[str, int]:
    """The 'Job stats' table of a (dry) run."""
    block = output.split("Job stats:")[1]
    return {
        m[0]: int(m[1])
        for m in re.findall(r"^(\w+)\s+(\d+)$", block, flags=re.M)
        if m[0] != "total"
    }
