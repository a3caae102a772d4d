"""Figures: pure functions from tidy tables to matplotlib Figures (they never save)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from .activations import POOL  # noqa: E402

METHOD_ORDER = ["smartmixed", *POOL, "silu", "gelu"]
sns.set_theme(style="whitegrid", context="paper")


def _methods(df: pd.DataFrame) -> list[str]:
    return [m for m in METHOD_ORDER if m in set(df.method)]


def _arch_label(df: pd.DataFrame) -> pd.Series:
    return df.arch.astype(str) + " " + df.arch_name


def _run_label(df: pd.DataFrame) -> pd.Series:
    """'smartmixed phase1' / 'smartmixed phase2' for SmartMixed rows, the method otherwise."""
    label = np.where(df.method == "smartmixed", "smartmixed " + df.phase, df.method)
    return pd.Series(label, index=df.index)


def accuracy(cells: pd.DataFrame) -> Figure:
    """Mean test and validation accuracy with 95 % CIs, per architecture and method."""
    d = cells[(cells.phase == "final") & (cells.study == "paper")].copy()
    d["architecture"] = _arch_label(d)
    archs = sorted(d.architecture.unique(), key=lambda s: int(s.split()[0]))
    methods = _methods(d)
    fig, axes = plt.subplots(
        1, 2, figsize=(12, 0.5 + 0.45 * len(archs) * len(methods) / 4), sharey=True, squeeze=False
    )
    colors = dict(zip(methods, sns.color_palette("tab10", len(methods))))
    for ax, split in zip(axes[0], ("test", "val")):
        s = d[d.split == split]
        for j, m in enumerate(methods):
            g = s[s.method == m].set_index("architecture").reindex(archs)
            y = np.arange(len(archs)) + (j - len(methods) / 2) * 0.8 / len(methods)
            err = [g["mean"] - g.ci_low, g.ci_high - g["mean"]]
            ax.errorbar(
                g["mean"],
                y,
                xerr=np.nan_to_num(np.abs(err)),
                fmt="o",
                ms=4,
                color=colors[m],
                label=m,
                capsize=2,
            )
        ax.set_title(f"{split} accuracy (%), mean and 95 % CI over seeds")
        ax.set_yticks(range(len(archs)), archs)
        ax.invert_yaxis()
    axes[0, 1].legend(loc="lower left", fontsize=7)
    fig.tight_layout()
    return fig


def phases(cells: pd.DataFrame) -> Figure:
    """Phase 1 (noisy and argmax evaluation) against Phase 2 test accuracy per architecture."""
    d = cells[
        (cells.method == "smartmixed")
        & (cells.split == "test")
        & (cells.study == "paper")
        & cells.phase.isin(["phase1", "phase2"])
    ].copy()
    d["what"] = d.phase + np.where(d["eval"] == "-", "", " (" + d["eval"] + " eval)")
    d["architecture"] = _arch_label(d)
    fig, ax = plt.subplots(figsize=(8, 0.6 + 0.35 * d.architecture.nunique() * 3))
    sns.barplot(d, y="architecture", x="mean", hue="what", ax=ax, orient="h")
    ax.set_xlim(max(0, d["mean"].min() - 5), 100)
    ax.set_xlabel("test accuracy (%), mean over seeds")
    ax.set_title("Phase 1 vs Phase 2 (C2)")
    fig.tight_layout()
    return fig


def shares_heatmap(shares: pd.DataFrame) -> Figure:
    """Learned share of each activation per layer, one panel per architecture (pooled seeds)."""
    d = shares[(shares.method == "smartmixed") & (shares.study == "paper")]
    archs = sorted(d.arch.unique())
    n = max(len(archs), 1)
    fig, axes = plt.subplots(1, n, figsize=(3.2 * n, 0.8 + 0.35 * d.layer.max()), squeeze=False)
    for ax, arch in zip(axes[0], archs):
        g = d[d.arch == arch]
        t = g.groupby(["layer", "activation"])[["count", "units"]].sum()
        piv = (t["count"] / t["units"]).unstack().reindex(columns=list(POOL))
        sns.heatmap(
            piv,
            ax=ax,
            vmin=0,
            vmax=0.5,
            cmap="viridis",
            annot=len(piv) <= 8,
            fmt=".2f",
            cbar=ax is axes[0, -1],
        )
        ax.set_title(f"{arch} {g.arch_name.iloc[0]}", fontsize=8)
        ax.set_xlabel("")
    fig.suptitle("Share of neurons per activation, by layer (exported Phase 1 choices)")
    fig.tight_layout()
    return fig


def shares_depth(shares: pd.DataFrame) -> Figure:
    """Learned and initial shares against relative depth, pooled over architectures (C3)."""
    d = shares[(shares.method == "smartmixed") & (shares.study == "paper")].copy()
    d["depth bin"] = pd.cut(
        d.relative_depth,
        [-0.01, 0.2, 0.4, 0.6, 0.8, 1.0],
        labels=["0-0.2", "0.2-0.4", "0.4-0.6", "0.6-0.8", "0.8-1"],
    )
    long = pd.concat(
        [
            d.assign(assignment="learned", value=d.share),
            d.assign(assignment="initial (random)", value=d.initial_share),
        ]
    )
    fig, axes = plt.subplots(1, 2, figsize=(12, 4), sharey=True)
    for ax, what in zip(axes, ("learned", "initial (random)")):
        sns.pointplot(
            long[long.assignment == what],
            x="depth bin",
            y="value",
            hue="activation",
            hue_order=list(POOL),
            ax=ax,
            errorbar=("ci", 95),
            dodge=0.4,
        )
        ax.set_title(f"{what} assignment")
        ax.set_ylabel("share of the layer's neurons")
        ax.set_xlabel("relative depth (0 = first hidden layer)")
    fig.tight_layout()
    return fig


def share_trajectories(traj: pd.DataFrame) -> Figure:
    """Phase 1 argmax shares over epochs, first vs last hidden layer, mean over seeds."""
    d = traj[traj.study == "paper"].copy()
    last = d.groupby("arch").layer.transform("max")
    d = d[(d.layer == 1) | (d.layer == last)]
    d["position"] = np.where(d.layer == 1, "first hidden layer", "last hidden layer")
    d["architecture"] = _arch_label(d)
    g = sns.relplot(
        d,
        x="epoch",
        y="share",
        hue="activation",
        hue_order=list(POOL),
        col="position",
        row="architecture",
        kind="line",
        height=2.2,
        aspect=1.6,
        errorbar=None,
        facet_kws={"sharey": False},
    )
    g.figure.suptitle("Phase 1: share of each activation in the argmax choices", y=1.01)
    return g.figure


def ranks(rank_summary: pd.DataFrame, rank_table: pd.DataFrame) -> Figure:
    """Rank of each method per architecture (test), and mean reciprocal rank (C4)."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 4), gridspec_kw={"width_ratios": [2, 1]})
    r = rank_table[rank_table.split == "test"]
    methods = _methods(r)
    piv = r.pivot_table(index="method", columns="arch", values="rank").reindex(methods)
    sns.heatmap(piv, annot=True, fmt=".0f", cmap="viridis_r", ax=axes[0], cbar=False)
    axes[0].set_title("rank by mean test accuracy (1 = best)")
    s = rank_summary[rank_summary.split == "test"].set_index("method").reindex(methods)
    axes[1].barh(methods, s.mean_reciprocal_rank, color=sns.color_palette("tab10", len(methods)))
    axes[1].invert_yaxis()
    axes[1].set_title("mean reciprocal rank (official tally)")
    fig.tight_layout()
    return fig


def curves(curves_df: pd.DataFrame) -> Figure:
    """Validation accuracy per epoch, mean over seeds, per architecture and method."""
    d = curves_df[(curves_df.split == "val") & (curves_df.study == "paper")].copy()
    d["run"] = _run_label(d)
    d["architecture"] = _arch_label(d)
    d["accuracy"] = d.accuracy * 100
    g = sns.relplot(
        d,
        x="epoch",
        y="accuracy",
        hue="run",
        col="architecture",
        col_wrap=3,
        kind="line",
        height=2.6,
        aspect=1.3,
        errorbar=None,
        facet_kws={"sharey": False},
    )
    g.figure.suptitle("Validation accuracy (%) per epoch, mean over seeds", y=1.02)
    return g.figure


def cost(costs: pd.DataFrame) -> Figure:
    """Measured seconds per training epoch by method and architecture (C5)."""
    d = costs[costs.study == "paper"].copy()
    d["run"] = _run_label(d)
    d["architecture"] = _arch_label(d)
    fig, ax = plt.subplots(figsize=(10, 0.8 + 0.5 * d.architecture.nunique() * 2))
    sns.barplot(
        d, y="architecture", x="train_seconds", hue="run", ax=ax, orient="h", errorbar=("ci", 95)
    )
    ax.set_xlabel("seconds per training epoch (mean over epochs and seeds)")
    ax.set_title("Measured cost per epoch (C5)")
    fig.tight_layout()
    return fig


def study(effects: pd.DataFrame, family: str) -> Figure:
    """Paired differences of a study family to the faithful runs, mean and 95 % CI (forest plot)."""
    d = effects[effects.family == family].reset_index(drop=True)
    labels = [f"{r.study}\n{r.comparison}\n{r.quantity}" for r in d.itertuples()]
    fig, ax = plt.subplots(figsize=(8, 0.8 + 0.75 * max(len(d), 1)))
    y = np.arange(len(d))
    err = np.nan_to_num(np.abs([d.mean_diff - d.ci_low, d.ci_high - d.mean_diff]))
    colors = ["tab:red" if (p == p and p < 0.05) else "tab:gray" for p in d.p_holm.fillna(d.p)]
    for i, color in enumerate(colors):
        ax.errorbar(d.mean_diff[i], y[i], xerr=err[:, i : i + 1], fmt="o", color=color, capsize=3)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(y, labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("paired difference (percentage points), mean and 95 % bootstrap CI")
    ax.set_title(f"Study family: {family} (red: significant after Holm)")
    fig.tight_layout()
    return fig


FIGURES = {
    "accuracy": (accuracy, ["cells"]),
    "phases": (phases, ["cells"]),
    "shares_heatmap": (shares_heatmap, ["shares"]),
    "shares_depth": (shares_depth, ["shares"]),
    "share_trajectories": (share_trajectories, ["share_trajectories"]),
    "ranks": (ranks, ["c4_rank_summary", "c4_ranks"]),
    "curves": (curves, ["curves"]),
    "cost": (cost, ["costs"]),
    "study": (study, ["studies"]),
}
