"""The real entry point on a small subset: every output file and key, reruns, kill-and-resume."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from smartmixed.activations import POOL
from smartmixed.cli import main

REPO = Path(__file__).resolve().parents[1]


def _args(out, root, method, *extra):
    return [
        "train",
        "--arch",
        "4",
        "--method",
        method,
        "--seed",
        "5",
        "--out",
        str(out),
        "--data-root",
        str(root),
        "--train-subset",
        "256",
        "--threads",
        "1",
        *extra,
    ]


def _read_csv(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def test_smartmixed_run_writes_every_output(tmp_path, data_root, capsys):
    out = tmp_path / "run"
    assert (
        main(_args(out, data_root, "smartmixed", "--phase1-epochs", "2", "--phase2-epochs", "1"))
        == 0
    )
    printed = capsys.readouterr().out
    assert "[phase1   1/2]" in printed and "[phase2   1/1]" in printed and "ETA" in printed
    assert sorted(p.name for p in out.iterdir()) == [
        "choices.csv",
        "history.csv",
        "metrics.json",
        "model.pt",
        "provenance.json",
    ]
    m = json.loads((out / "metrics.json").read_text())
    assert m["status"] == "completed" and m["method"] == "smartmixed" and m["arch"] == 4
    for key in ("val_accuracy", "test_accuracy", "val_loss", "test_loss", "best_epoch"):
        assert isinstance(m[key], (int, float))
    assert set(m["phase1"]) >= {"noisy", "argmax", "best_epoch", "status", "val_accuracy"}
    assert set(m["phase1"]["argmax"]) == {"val_loss", "val_accuracy", "test_loss", "test_accuracy"}
    assert m["test_accuracy"] == m["phase2"]["test_accuracy"]
    hist = _read_csv(out / "history.csv")
    assert [(r["phase"], r["epoch"], r["split"]) for r in hist] == [
        ("phase1", "1", "train"),
        ("phase1", "1", "val"),
        ("phase1", "2", "train"),
        ("phase1", "2", "val"),
        ("phase2", "1", "train"),
        ("phase2", "1", "val"),
    ]
    p1 = hist[0]
    for layer in (1, 2):
        assert sum(float(p1[f"share_l{layer}_{a}"]) for a in POOL) == pytest.approx(1.0)
    assert hist[-1]["share_l1_relu"] == ""  # Phase 2 rows carry no shares
    choices = _read_csv(out / "choices.csv")
    assert len(choices) == 256 + 128
    assert set(choices[0]) == {
        "layer",
        "neuron",
        "activation",
        "initial_activation",
        "phase2_activation",
    }
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["seed"] == 5 and prov["config"]["train_subset"] == 256
    assert set(prov["environment"]) >= {"torch", "python", "device", "git_commit"}
    assert prov["data"]["train-images-idx3-ubyte"] == "6bbc9ace898e44ae57da46a324031adb"
    assert len(prov["data"]["split_sha256"]) == 64
    model = torch.load(out / "model.pt", weights_only=False)
    assert model["choices"] == [
        [r["phase2_activation"] for r in choices if r["layer"] == str(k)] for k in (1, 2)
    ]
    # A finished run is not redone.
    assert (
        main(_args(out, data_root, "smartmixed", "--phase1-epochs", "2", "--phase2-epochs", "1"))
        == 0
    )
    assert "already finished" in capsys.readouterr().out
    # ...and another config in the same folder is refused.
    with pytest.raises(SystemExit, match="another config"):
        main(_args(out, data_root, "smartmixed", "--phase1-epochs", "3", "--phase2-epochs", "1"))


def test_baseline_run(tmp_path, data_root):
    out = tmp_path / "relu"
    assert main(_args(out, data_root, "relu", "--epochs", "2")) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["method"] == "relu" and "phase1" not in m and m["epochs_run"] == 2
    assert not (out / "choices.csv").exists()
    assert {r["phase"] for r in _read_csv(out / "history.csv")} == {"baseline"}


def test_bad_config_is_one_clear_error(tmp_path, data_root, capsys):
    assert main(_args(tmp_path / "x", data_root, "relu", "--arch", "99")) == 2
    assert "arch: unknown id 99" in capsys.readouterr().err
    cfg = tmp_path / "c.yaml"
    cfg.write_text("phase1_epochs: 1\nlearning_rate: 0.1\n")
    assert main(_args(tmp_path / "y", data_root, "relu", "--config", str(cfg))) == 2
    assert "unknown config key(s): learning_rate" in capsys.readouterr().err


def test_killed_run_resumes_to_the_same_metrics(tmp_path, data_root):
    """SIGKILL mid-training, rerun the same command: same metrics as an uninterrupted run."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    extra = ("--phase1-epochs", "4", "--phase2-epochs", "4")

    def cmd(out):
        return [sys.executable, "-m", "smartmixed", *_args(out, data_root, "smartmixed", *extra)]

    subprocess.run(cmd(tmp_path / "full"), check=True, env=env, capture_output=True)
    killed = tmp_path / "killed"
    proc = subprocess.Popen(cmd(killed), env=env, stdout=subprocess.PIPE, text=True)
    for line in proc.stdout:  # kill right after a Phase 2 epoch was checkpointed
        if line.startswith("[phase2   1/4]"):
            deadline = time.time() + 30
            while (
                not (killed / "history.csv").read_text().count("phase2") and time.time() < deadline
            ):
                time.sleep(0.05)
            time.sleep(0.2)
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert (killed / "checkpoint.pt").exists() and not (killed / "metrics.json").exists()
    resumed = subprocess.run(cmd(killed), check=True, env=env, capture_output=True, text=True)
    assert "resuming" in resumed.stdout
    full = json.loads((tmp_path / "full" / "metrics.json").read_text())
    assert json.loads((killed / "metrics.json").read_text()) == full
    assert (killed / "choices.csv").read_text() == (tmp_path / "full" / "choices.csv").read_text()


def test_figure_names_match_the_figure_registry():
    from smartmixed.cli import FIGURE_NAMES
    from smartmixed.figures import FIGURES

    assert {*FIGURE_NAMES, "study"} == set(FIGURES)
