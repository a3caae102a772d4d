"""Tidy tables from finished runs: pure functions from run records to DataFrames (no file I/O)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from .activations import POOL
from .models import architecture

RUN_KEYS = ["arch", "arch_name", "method", "seed", "study"]


def run_key(metrics: dict[str, Any], study: str) -> dict[str, Any]:
    """The RUN_KEYS columns of one run: what identifies its rows in every table."""
    return {k: metrics[k] for k in RUN_KEYS[:-1]} | {"study": study}


def study_of(run_dir: str | Path) -> str:
    """'paper' for results/runs/..., the study name for results/studies/<name>/runs/..."""
    parts = Path(run_dir).parts
    return parts[parts.index("studies") + 1] if "studies" in parts else "paper"


def relative_depth(layer: int, n_layers: int) -> float:
    """0 for the first hidden layer, 1 for the last (0 when there is only one)."""
    return 0.0 if n_layers == 1 else (layer - 1) / (n_layers - 1)


def metric_rows(metrics: dict[str, Any], study: str = "paper") -> list[dict[str, Any]]:
    """One row per (phase, evaluation, split, metric) of one run.

    phase: "final" (what the method reports: Phase 2 for smartmixed, the baseline otherwise),
    "phase1" with eval "noisy" / "argmax", and "phase2".
    """
    key = run_key(metrics, study)
    blocks = [("final", "-", metrics)]
    if metrics["method"] == "smartmixed":
        p1, p2 = metrics.get("phase1") or {}, metrics.get("phase2") or {}
        blocks += [("phase1", m, p1.get(m) or {}) for m in ("noisy", "argmax")]
        blocks += [("phase2", "-", p2)]
    rows = []
    for phase, ev, block in blocks:
        for split in ("val", "test"):
            for metric in ("accuracy", "loss"):
                value = block.get(f"{split}_{metric}")
                rows.append(
                    {
                        **key,
                        "status": metrics["status"],
                        "phase": phase,
                        "eval": ev,
                        "split": split,
                        "metric": metric,
                        "value": float("nan") if value is None else value,
                    }
                )
    return rows


def runs_table(metrics: Iterable[dict[str, Any]], study: str = "paper") -> pd.DataFrame:
    return pd.DataFrame([r for m in metrics for r in metric_rows(m, study)])


def curves_table(
    history: pd.DataFrame, metrics: dict[str, Any], study: str = "paper"
) -> pd.DataFrame:
    """Per-epoch loss/accuracy/seconds of one run (share columns dropped)."""
    keep = ["phase", "epoch", "split", "loss", "accuracy", "seconds"]
    return history[keep].assign(**run_key(metrics, study))[RUN_KEYS + keep]


def shares_table(
    choices: pd.DataFrame, metrics: dict[str, Any], study: str = "paper"
) -> pd.DataFrame:
    """Per (layer, activation): learned, initial and Phase 2 share of the layer's neurons."""
    n_layers = len(architecture(metrics["arch"]).widths)
    rows = []
    for layer, g in choices.groupby("layer"):
        n = len(g)
        for act in POOL:
            rows.append(
                {
                    **run_key(metrics, study),
                    "layer": int(layer),
                    "n_layers": n_layers,
                    "relative_depth": relative_depth(int(layer), n_layers),
                    "units": n,
                    "activation": act,
                    "count": int((g.activation == act).sum()),
                    "share": float((g.activation == act).mean()),
                    "initial_count": int((g.initial_activation == act).sum()),
                    "initial_share": float((g.initial_activation == act).mean()),
                    "phase2_share": float((g.phase2_activation == act).mean()),
                    "moved": float((g.activation != g.initial_activation).mean()),
                }
            )
    return pd.DataFrame(rows)


def trajectories_table(
    history: pd.DataFrame, metrics: dict[str, Any], study: str = "paper"
) -> pd.DataFrame:
    """Phase 1 per-layer activation shares of the argmax choices, one row per epoch/layer/act."""
    h = history[(history.phase == "phase1") & (history.split == "val")]
    share_cols = [c for c in h.columns if c.startswith("share_l")]
    long = h.melt(id_vars=["epoch"], value_vars=share_cols, var_name="column", value_name="share")
    parts = long.column.str.extract(r"share_l(?P<layer>\d+)_(?P<activation>.+)")
    long = pd.concat([long.drop(columns="column"), parts], axis=1)
    long["layer"] = long.layer.astype(int)
    n_layers = len(architecture(metrics["arch"]).widths)
    long["relative_depth"] = long.layer.map(lambda k: relative_depth(k, n_layers))
    long = long.assign(**run_key(metrics, study))
    return long[RUN_KEYS + ["epoch", "layer", "relative_depth", "activation", "share"]]


def costs_table(
    history: pd.DataFrame, metrics: dict[str, Any], study: str = "paper"
) -> pd.DataFrame:
    """Measured seconds per training epoch of each phase (C5), one row per run and phase."""
    train = history[history.split == "train"]
    out = train.groupby("phase", as_index=False).agg(
        epochs=("epoch", "count"),
        train_seconds=("seconds", "mean"),
        train_seconds_median=("seconds", "median"),
    )
    val = history[history.split == "val"].groupby("phase").seconds.mean()
    out["val_seconds"] = out.phase.map(val)
    out = out.assign(**run_key(metrics, study))
    return out[
        RUN_KEYS + ["phase", "epochs", "train_seconds", "train_seconds_median", "val_seconds"]
    ]


def provenance_row(prov: dict[str, Any], metrics: dict[str, Any], study: str = "paper") -> dict:
    env = prov["environment"]
    return {
        **run_key(metrics, study),
        "status": metrics["status"],
        "device": env["device"],
        "device_name": env.get("device_name"),
        "torch": env["torch"],
        "python": env["python"],
        "git_commit": env["git_commit"],
        "threads": env["torch_threads"],
        "wall_seconds": prov["wall_seconds_this_process"],
        "resumed_from": prov.get("resumed_from"),
        "finished": prov["finished"],
        "split_sha256": prov["data"].get("split_sha256"),
    }
