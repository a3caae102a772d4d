"""The speed benchmark runs end to end and writes what the README quotes (no timing asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def test_speed_benchmark_runs_and_writes_its_tables(tmp_path):
    cmd = [sys.executable, "benchmarks/speed.py", "--archs", "4", "--steps", "2", "--rounds", "3"]
    subprocess.run([*cmd, "--no-epochs", "--out", str(tmp_path)], cwd=ROOT, check=True)
    steps = pd.read_csv(tmp_path / "steps.csv")
    assert {"uniform relu", "phase2 (ours)", "phase1 (ours)", "torch elu"} <= set(steps.network)
    relu = steps.set_index("network").loc["uniform relu"]
    assert relu.ratio_to_uniform_relu == 1.0  # paired with itself in every round
    assert (steps.ratio_to_uniform_relu_q25 <= steps.ratio_to_uniform_relu).all()
    assert (steps.ratio_to_uniform_relu <= steps.ratio_to_uniform_relu_q75).all()
    assert (steps.step_ms > 0).all() and (steps.rounds == 3).all()
