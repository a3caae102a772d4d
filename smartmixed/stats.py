"""Claim statistics: pure functions over tidy tables, the random generator an explicit argument."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as st

from .activations import POOL

VERDICTS = ("reproduced", "partly reproduced", "not reproduced", "inconclusive")
BASELINES = POOL


# -- primitives ---------------------------------------------------------------------------------
def holm(pvalues: Any) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (step-down, monotone, capped at 1); NaN stays NaN."""
    p = np.asarray(pvalues, dtype=float)
    out = np.full_like(p, np.nan)
    ok = ~np.isnan(p)
    q = p[ok]
    m = len(q)
    order = np.argsort(q, kind="stable")
    adj = np.maximum.accumulate((m - np.arange(m)) * q[order])
    res = np.empty(m)
    res[order] = np.minimum(adj, 1.0)
    out[ok] = res
    return out


def cramers_v(table: np.ndarray) -> tuple[float, float, float, int]:
    """(chi2, p, Cramer's V, dof) of a contingency table; empty rows/columns dropped."""
    t = np.asarray(table, dtype=float)
    t = t[t.sum(1) > 0][:, t.sum(0) > 0]
    if min(t.shape) < 2:
        return math.nan, math.nan, math.nan, 0
    chi2, p, dof, _ = st.chi2_contingency(t, correction=False)
    v = math.sqrt(chi2 / (t.sum() * (min(t.shape) - 1)))
    return float(chi2), float(p), v, int(dof)


def bootstrap_ci(
    values: Any, rng: np.random.Generator, confidence: float = 0.95, n_resamples: int = 9999
) -> tuple[float, float, str]:
    """95 % bootstrap CI of the mean: BCa where it is defined, percentile otherwise.

    Returns (low, high, method); method is "BCa", "percentile", "degenerate" (all values equal)
    or "none" (fewer than 2 values).
    """
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    if len(x) < 2:
        return math.nan, math.nan, "none"
    if np.all(x == x[0]):
        return float(x[0]), float(x[0]), "degenerate"
    for method in ("BCa", "percentile"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = st.bootstrap(
                (x,),
                np.mean,
                confidence_level=confidence,
                n_resamples=n_resamples,
                method=method,
                rng=rng,
            )
        lo, hi = res.confidence_interval
        if np.isfinite(lo) and np.isfinite(hi):
            return float(lo), float(hi), method
    return math.nan, math.nan, "none"


def wilcoxon(diffs: Any) -> tuple[float, float, float, int]:
    """Two-sided Wilcoxon signed-rank: (statistic, p, matched-pairs rank-biserial r, n)."""
    d = np.asarray(diffs, dtype=float)
    d = d[~np.isnan(d)]
    n = len(d)
    if n < 2 or np.all(d == 0):
        return math.nan, math.nan, math.nan, n
    res = st.wilcoxon(d)
    nz = d[d != 0]
    ranks = st.rankdata(np.abs(nz))
    r = (ranks[nz > 0].sum() - ranks[nz < 0].sum()) / ranks.sum()
    return float(res.statistic), float(res.pvalue), float(r), n


def spearman(x: Any, y: Any) -> tuple[float, float]:
    """Spearman rho and p; NaN (not a warning) when either side is constant or too short."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(x) < 3 or np.all(x == x[0]) or np.all(y == y[0]):
        return math.nan, math.nan
    rho, p = st.spearmanr(x, y)
    return float(rho), float(p)


# -- per cell -----------------------------------------------------------------------------------
def cell_summary(
    runs: pd.DataFrame, rng: np.random.Generator, confidence: float = 0.95
) -> pd.DataFrame:
    """Per (study, arch, method, phase, eval, split): accuracy n, mean, std, median, CI.

    Diverged runs are counted (n_diverged) and their NaN values left out of the moments.
    """
    acc = runs[runs.metric == "accuracy"]
    keys = ["study", "arch", "arch_name", "method", "phase", "eval", "split"]
    rows = []
    for key, g in acc.groupby(keys, sort=True):
        v = g.value.to_numpy(dtype=float) * 100
        ok = v[~np.isnan(v)]
        lo, hi, how = bootstrap_ci(ok, rng, confidence)
        rows.append(
            {
                **dict(zip(keys, key)),
                "n": len(ok),
                "n_diverged": int((g.status == "diverged").sum()),
                "mean": ok.mean() if len(ok) else math.nan,
                "std": ok.std(ddof=1) if len(ok) > 1 else math.nan,
                "median": float(np.median(ok)) if len(ok) else math.nan,
                "ci_low": lo,
                "ci_high": hi,
                "ci_method": how,
            }
        )
    return pd.DataFrame(rows)


def _final(runs: pd.DataFrame, split: str = "test") -> pd.DataFrame:
    """(arch, method, seed) -> accuracy in percent of what each method reports."""
    f = runs[(runs.phase == "final") & (runs.metric == "accuracy") & (runs.split == split)]
    return f.assign(value=f.value * 100)


# -- claims -------------------------------------------------------------------------------------
def _verdict(claim: str, text: str, verdict: str, numbers: str, **extra: Any) -> dict[str, Any]:
    assert verdict in VERDICTS
    return {"id": claim, "claim": text, "verdict": verdict, "numbers": numbers, **extra}


def claim_c1(cells: pd.DataFrame, targets: dict, protocol: dict) -> tuple[pd.DataFrame, dict]:
    """SmartMixed Phase 2 accuracy against 98.22 % validation / 98.03 % test, per architecture."""
    t = targets["C1"]
    tol = t["tolerance_pp"]
    rows = []
    sm = cells[(cells.method == "smartmixed") & (cells.phase == "final")]
    for arch, g in sm.groupby("arch"):
        row: dict[str, Any] = {"arch": arch, "arch_name": g.arch_name.iloc[0]}
        for split, target in (("val", t["val_accuracy"]), ("test", t["test_accuracy"])):
            c = g[g.split == split].iloc[0]
            near = abs(c["mean"] - target) <= tol or (c.ci_low - tol <= target <= c.ci_high + tol)
            row |= {
                f"{split}_mean": c["mean"],
                f"{split}_ci_low": c.ci_low,
                f"{split}_ci_high": c.ci_high,
                f"{split}_target": target,
                f"{split}_diff": c["mean"] - target,
                f"{split}_consistent": bool(near),
                "n": int(c.n),
            }
        row["consistent"] = row["val_consistent"] and row["test_consistent"]
        rows.append(row)
    table = pd.DataFrame(rows)
    claim = "SmartMixed reaches 98.22 % validation and 98.03 % test accuracy on MNIST"
    if table.empty:
        return table, _verdict("C1", claim, "inconclusive", "no SmartMixed runs")
    best = table.loc[table.test_mean.idxmax()]
    names = ", ".join(table[table.consistent].arch_name) or "none"
    numbers = (
        f"best architecture {best.arch_name}: val {best.val_mean:.2f} % "
        f"[{best.val_ci_low:.2f}, {best.val_ci_high:.2f}], test {best.test_mean:.2f} % "
        f"[{best.test_ci_low:.2f}, {best.test_ci_high:.2f}] (n={best.n}); paper 98.22 / 98.03, "
        f"tolerance {tol} pp; consistent architectures: {names}"
    )
    if not protocol["complete"]:
        verdict = "inconclusive"
        numbers += f" ({protocol['why']})"
    elif table.n.min() < targets["min_seeds"]:
        verdict, numbers = "inconclusive", numbers + " (too few seeds)"
    elif table.consistent.any():
        verdict = "reproduced"
    elif (table.val_consistent | table.test_consistent).any() or (
        table.test_diff.abs() <= 2 * tol
    ).any():
        verdict = "partly reproduced"
    else:
        verdict = "not reproduced"
    return table, _verdict("C1", claim, verdict, numbers, architectures=names)


def _paired(runs: pd.DataFrame, a: dict, b: dict, split: str) -> pd.DataFrame:
    """Per (arch, seed): value of selection a minus selection b (accuracy, percent points)."""
    acc = runs[(runs.metric == "accuracy") & (runs.split == split)]
    sel = lambda s: acc[np.logical_and.reduce([acc[k] == v for k, v in s.items()])]  # noqa: E731
    x = sel(a).set_index(["arch", "seed"]).value
    y = sel(b).set_index(["arch", "seed"]).value
    d = ((x - y) * 100).dropna()
    return d.rename("diff").reset_index()


def claim_c2(runs: pd.DataFrame, targets: dict, protocol: dict, rng: np.random.Generator):
    """Paired Phase 2 - Phase 1 accuracy (same seed), Phase 1 evaluated noisy and by argmax."""
    lo_t, hi_t = targets["C2"]["improvement_pp"]
    tol = targets["C2"]["tolerance_pp"]
    rows = []
    pooled = {}
    for ev in ("noisy", "argmax"):
        for split in ("test", "val"):
            d = _paired(
                runs,
                {"method": "smartmixed", "phase": "phase2"},
                {"method": "smartmixed", "phase": "phase1", "eval": ev},
                split,
            )
            groups = [("all", d)] + [(a, g) for a, g in d.groupby("arch")]
            for arch, g in groups:
                lo, hi, how = bootstrap_ci(g["diff"], rng)
                stat, p, r, n = wilcoxon(g["diff"])
                rows.append(
                    {
                        "arch": arch,
                        "phase1_eval": ev,
                        "split": split,
                        "n": n,
                        "mean_diff": g["diff"].mean(),
                        "ci_low": lo,
                        "ci_high": hi,
                        "ci_method": how,
                        "wilcoxon": stat,
                        "p": p,
                        "rank_biserial": r,
                    }
                )
            pooled[(ev, split)] = rows[-len(groups)]
    table = pd.DataFrame(rows)
    claim = "Phase 2 improves accuracy by 2-3 points over Phase 1"
    main, det = pooled[("noisy", "test")], pooled[("argmax", "test")]
    if main["n"] == 0:
        return table, _verdict("C2", claim, "inconclusive", "no paired runs")
    numbers = (
        f"Phase 2 - Phase 1 (test, noisy Phase 1 eval, official): {main['mean_diff']:+.2f} pp "
        f"[{main['ci_low']:+.2f}, {main['ci_high']:+.2f}], Wilcoxon p={main['p']:.3g}, "
        f"n={main['n']} pairs; with argmax Phase 1 eval: {det['mean_diff']:+.2f} pp "
        f"[{det['ci_low']:+.2f}, {det['ci_high']:+.2f}], p={det['p']:.3g}; claimed {lo_t}-{hi_t} pp"
    )
    in_range = main["ci_high"] >= lo_t - tol and main["ci_low"] <= hi_t + tol
    significant = main["p"] < targets["alpha"] and main["mean_diff"] > 0
    if not protocol["complete"] or main["n"] < targets["min_seeds"]:
        verdict = "inconclusive"
        numbers += f" ({protocol['why'] or 'too few pairs'})"
    elif significant and in_range:
        verdict = "reproduced"
    elif significant or in_range:
        verdict = "partly reproduced"
    else:
        verdict = "not reproduced"
    return table, _verdict("C2", claim, verdict, numbers)


def contingency(shares: pd.DataFrame, column: str = "count") -> np.ndarray:
    """Layer x activation table (rows: layers in order, columns: POOL order)."""
    t = shares.pivot_table(index="layer", columns="activation", values=column, aggfunc="sum")
    return t.reindex(columns=list(POOL)).fillna(0).to_numpy()


# Share/count columns of the shares table, and what the C3 tables call them.
_ASSIGNMENT = {
    "count": "learned",
    "initial_count": "initial",
    "share": "learned",
    "initial_share": "initial",
}


def claim_c3(shares: pd.DataFrame, targets: dict, protocol: dict, rng: np.random.Generator):
    """Layer-wise preferences: independence tests, movement from init, depth trends."""
    sm = shares[shares.method == "smartmixed"]
    tests = []
    for arch, g in sm.groupby("arch"):
        for scope, sub in [("pooled", g)] + [(f"seed {s}", gs) for s, gs in g.groupby("seed")]:
            for which in ("count", "initial_count"):
                chi2, p, v, dof = cramers_v(contingency(sub, which))
                tests.append(
                    {
                        "arch": arch,
                        "scope": scope,
                        "table": _ASSIGNMENT[which],
                        "chi2": chi2,
                        "dof": dof,
                        "p": p,
                        "cramers_v": v,
                        "n": int(sub[which].sum()),
                    }
                )
        # Learned vs initial assignment, per layer (2 x 6 tables), Holm within the architecture.
        per_layer = []
        for layer, gl in g.groupby("layer"):
            t2 = np.vstack(
                [contingency(gl, "count").sum(0), contingency(gl, "initial_count").sum(0)]
            )
            chi2, p, v, dof = cramers_v(t2)
            per_layer.append(
                {
                    "arch": arch,
                    "scope": f"layer {layer}",
                    "table": "learned vs initial",
                    "chi2": chi2,
                    "dof": dof,
                    "p": p,
                    "cramers_v": v,
                    "n": int(t2.sum()),
                }
            )
        adj = holm([r["p"] for r in per_layer])
        for r, a in zip(per_layer, adj):
            r["p_holm"] = a
        tests += per_layer
    tests = pd.DataFrame(tests)

    # Depth trends over (arch, seed, layer) points, learned shares and the initial-assignment null.
    wide = sm.pivot_table(
        index=["arch", "seed", "layer", "relative_depth"],
        columns="activation",
        values=["share", "initial_share"],
    ).reset_index()
    trends = []
    groups = {"ELU+SELU": ["elu", "selu"], "ReLU+LeakyReLU": ["relu", "leaky_relu"]}
    ok = sm[sm.n_layers >= 2].arch.unique()  # architectures with a depth axis
    x = wide["relative_depth"]
    mask = wide["arch"].isin(ok)
    for name, acts in groups.items():
        for source in ("share", "initial_share"):
            y = sum(wide[(source, a)] for a in acts)
            rho, p = spearman(x[mask], y[mask])
            trends.append(
                {
                    "group": name,
                    "shares": _ASSIGNMENT[source],
                    "arch": "all",
                    "spearman_rho": rho,
                    "p": p,
                    "n": int(mask.sum()),
                }
            )
            for arch in ok:
                m = wide["arch"] == arch
                if len(set(x[m])) > 2:
                    rho_a, p_a = spearman(x[m], y[m])
                    trends.append(
                        {
                            "group": name,
                            "shares": _ASSIGNMENT[source],
                            "arch": arch,
                            "spearman_rho": rho_a,
                            "p": p_a,
                            "n": int(m.sum()),
                        }
                    )
    trends = pd.DataFrame(trends)
    moved = sm.drop_duplicates(["arch", "seed", "layer"])
    moved_share = float(np.average(moved.moved, weights=moved.units)) if len(moved) else math.nan

    claim = "Early layers prefer ReLU/LeakyReLU, deeper layers ELU/SELU, across architectures"
    if trends.empty or tests.empty:
        return (
            tests,
            trends,
            _verdict("C3", claim, "inconclusive", "no multi-layer SmartMixed runs"),
        )
    get = lambda g, s: trends[
        (trends.group == g) & (trends.shares == s) & (trends.arch == "all")
    ].iloc[0]  # noqa: E731
    es, rl = get("ELU+SELU", "learned"), get("ReLU+LeakyReLU", "learned")
    es0, rl0 = get("ELU+SELU", "initial"), get("ReLU+LeakyReLU", "initial")
    per_arch = trends[(trends.arch != "all") & (trends.shares == "learned")]
    es_arch = per_arch[per_arch.group == "ELU+SELU"].spearman_rho
    rl_arch = per_arch[per_arch.group == "ReLU+LeakyReLU"].spearman_rho
    consistent = (
        float(((es_arch > 0).mean() + (rl_arch < 0).mean()) / 2) if len(es_arch) else math.nan
    )
    lvi = tests[tests.table == "learned vs initial"]
    sig_layers = int((lvi.p_holm < targets["alpha"]).sum())
    numbers = (
        f"Spearman(depth, ELU+SELU share) = {es.spearman_rho:+.3f} (p={es.p:.3g}; initial "
        f"assignment {es0.spearman_rho:+.3f}), Spearman(depth, ReLU+LeakyReLU share) = "
        f"{rl.spearman_rho:+.3f} (p={rl.p:.3g}; initial {rl0.spearman_rho:+.3f}); "
        f"{moved_share:.1%} of neurons changed activation from their random initial pick; "
        f"{sig_layers}/{len(lvi)} layers differ from the initial assignment "
        f"(Holm p<{targets['alpha']}); "
        + (
            f"direction consistent in {consistent:.0%} of per-architecture trends"
            if not math.isnan(consistent)
            else "no architecture deep enough for a per-architecture trend"
        )
    )
    a = targets["alpha"]
    es_ok = es.spearman_rho > 0 and es.p < a
    rl_ok = rl.spearman_rho < 0 and rl.p < a
    if moved_share < targets["C3"]["min_moved_share"] and not protocol["complete"]:
        verdict = "inconclusive"
        numbers += f" ({protocol['why']}: the choices barely left their initial values)"
    elif es_ok and rl_ok and consistent >= targets["C3"]["consistency"]:
        verdict = "reproduced"
        if not protocol["complete"]:
            numbers += f" ({protocol['why']}; preferences after the shortened Phase 1)"
    elif es_ok or rl_ok:
        verdict = "partly reproduced"
    elif not protocol["complete"]:
        verdict = "inconclusive"
        numbers += f" ({protocol['why']})"
    else:
        verdict = "not reproduced"
    return tests, trends, _verdict("C3", claim, verdict, numbers, moved_share=moved_share)


def ranks(runs: pd.DataFrame, split: str = "test") -> pd.DataFrame:
    """Per architecture, the methods ranked by mean accuracy (1 = best), as the official tally."""
    f = _final(runs, split)
    means = f.groupby(["arch", "method"]).value.mean().reset_index()
    means["rank"] = means.groupby("arch").value.rank(ascending=False, method="min")
    means["split"] = split
    return means


def claim_c4(runs: pd.DataFrame, targets: dict, protocol: dict):
    """SmartMixed against the six uniform baselines: ranks, Friedman, Holm-corrected Wilcoxon."""
    rk = pd.concat([ranks(runs, "test"), ranks(runs, "val")])
    summary = (
        rk.groupby(["split", "method"])
        .agg(
            first_ranks=("rank", lambda r: int((r == 1).sum())),
            mean_reciprocal_rank=("rank", lambda r: float((1 / r).mean())),
            mean_rank=("rank", "mean"),
            archs=("rank", "size"),
        )
        .reset_index()
    )
    f = _final(runs, "test")
    piv = f.groupby(["arch", "method"]).value.mean().unstack()
    methods = [m for m in ["smartmixed", *BASELINES] if m in piv.columns]
    piv = piv[methods].dropna()
    tests = []
    if len(piv) >= 2 and len(methods) >= 3:
        stat, p = st.friedmanchisquare(*[piv[m] for m in methods])
        tests.append(
            {
                "test": "Friedman (methods x architectures, mean test accuracy)",
                "comparison": "all 7 methods",
                "statistic": stat,
                "p": p,
                "p_holm": p,
                "effect": math.nan,
                "mean_diff": math.nan,
                "n": len(piv),
            }
        )
    wil = []
    for base in BASELINES:
        if base not in methods:
            continue
        d = _paired(
            runs,
            {"method": "smartmixed", "phase": "final"},
            {"method": base, "phase": "final"},
            "test",
        )
        stat, p, r, n = wilcoxon(d["diff"])
        wil.append(
            {
                "test": "Wilcoxon signed-rank over (architecture, seed) pairs",
                "comparison": f"smartmixed - {base}",
                "statistic": stat,
                "p": p,
                "effect": r,
                "mean_diff": d["diff"].mean(),
                "n": n,
            }
        )
    for r, a in zip(wil, holm([r["p"] for r in wil])):
        r["p_holm"] = a
    tests = pd.DataFrame(tests + wil)
    claim = "SmartMixed competes with networks using one fixed activation"
    sm = summary[(summary.split == "test") & (summary.method == "smartmixed")]
    if sm.empty or not wil:
        return summary, tests, _verdict("C4", claim, "inconclusive", "no comparisons")
    sm = sm.iloc[0]
    w = pd.DataFrame(wil)
    worse = w[(w.p_holm < targets["alpha"]) & (w.mean_diff < 0)].comparison.str.replace(
        "smartmixed - ", ""
    )
    better = w[(w.p_holm < targets["alpha"]) & (w.mean_diff > 0)].comparison.str.replace(
        "smartmixed - ", ""
    )
    ranked = rk[(rk.split == "test") & (rk.method == "smartmixed")]["rank"]
    fried = tests[tests.test.str.startswith("Friedman")]
    numbers = (
        f"SmartMixed test-accuracy rank {ranked.mean():.2f} of {len(methods)} on average, first in "
        f"{sm.first_ranks}/{sm.archs} architectures, MRR {sm.mean_reciprocal_rank:.3f}; "
        f"significantly better than [{', '.join(better) or 'none'}], worse than "
        f"[{', '.join(worse) or 'none'}] (Wilcoxon, Holm over the 6 baselines, n={int(w.n.max())} "
        f"pairs)" + (f"; Friedman p={fried.p.iloc[0]:.3g}" if len(fried) else "")
    )
    n_pairs = int(w.n.max())
    if n_pairs < targets["C4"]["min_pairs"]:
        verdict, numbers = "inconclusive", numbers + " (too few pairs)"
    elif len(worse) == 0 and ranked.mean() <= (len(methods) + 1) / 2:
        verdict = "reproduced"
    elif len(worse) < len(w) / 2:
        verdict = "partly reproduced"
    else:
        verdict = "not reproduced"
    if not protocol["complete"] and verdict != "inconclusive":
        numbers += f" ({protocol['why']}; ranks at reduced budget)"
    return summary, tests, _verdict("C4", claim, verdict, numbers)


def claim_c5(costs: pd.DataFrame, targets: dict, protocol: dict, rng: np.random.Generator):
    """Phase 2 seconds per training epoch relative to uniform networks of the same shape."""
    sm = costs[costs.method == "smartmixed"]
    p2 = sm[sm.phase == "phase2"].set_index(["arch", "seed"])
    base = costs[costs.method.isin(BASELINES)]
    mean6 = base.groupby(["arch", "seed"]).train_seconds.mean()
    relu = base[base.method == "relu"].set_index(["arch", "seed"]).train_seconds
    p1 = sm[sm.phase == "phase1"].set_index(["arch", "seed"])
    rows = []
    for ref_name, ref in (("mean of uniform networks", mean6), ("uniform relu", relu)):
        for who, src in (("phase2", p2), ("phase1", p1)):
            ratio = (src.train_seconds / ref).dropna()
            for arch, r in [("all", ratio)] + list(ratio.groupby(level="arch")):
                lo, hi, how = bootstrap_ci(r.to_numpy(), rng)
                rows.append(
                    {
                        "network": who,
                        "reference": ref_name,
                        "arch": arch,
                        "n": len(r),
                        "mean_ratio": r.mean(),
                        "ci_low": lo,
                        "ci_high": hi,
                        "ci_method": how,
                    }
                )
    table = pd.DataFrame(rows)
    claim = "The Phase 2 network costs about as much as a uniform network"
    main = table[
        (table.network == "phase2")
        & (table.reference == "mean of uniform networks")
        & (table.arch == "all")
    ]
    if main.empty or main.n.iloc[0] == 0:
        return table, _verdict("C5", claim, "inconclusive", "no timed runs")
    m = main.iloc[0]
    r = table[
        (table.network == "phase2") & (table.reference == "uniform relu") & (table.arch == "all")
    ].iloc[0]
    t = targets["C5"]
    numbers = (
        f"Phase 2 epoch time / mean of the six uniform networks = {m.mean_ratio:.3f} "
        f"[{m.ci_low:.3f}, {m.ci_high:.3f}] (n={m.n} runs); / uniform ReLU = {r.mean_ratio:.3f} "
        f"[{r.ci_low:.3f}, {r.ci_high:.3f}]; target <= {t['max_ratio']}"
    )
    if m.n < 2 or "subset" in protocol["why"]:
        verdict = "inconclusive"
        numbers += (
            " (timings of a training subset are dominated by fixed costs)" if m.n >= 2 else ""
        )
    elif m.ci_high <= t["max_ratio"] or m.mean_ratio <= t["max_ratio"]:
        verdict = "reproduced"
    elif m.mean_ratio <= t["partly_ratio"]:
        verdict = "partly reproduced"
    else:
        verdict = "not reproduced"
    return table, _verdict("C5", claim, verdict, numbers)


def tests_table(
    c2: pd.DataFrame, c3_tests: pd.DataFrame, c3_trends: pd.DataFrame, c4_tests: pd.DataFrame
) -> pd.DataFrame:
    """Every test in one tidy table: claim, test, comparison, statistic, p, p_holm, effect, n."""
    rows = []
    for r in c2.itertuples():
        rows.append(
            {
                "claim": "C2",
                "test": "Wilcoxon signed-rank (Phase 2 - Phase 1, paired)",
                "comparison": f"arch {r.arch}, {r.split}, Phase 1 {r.phase1_eval} eval",
                "statistic": r.wilcoxon,
                "p": r.p,
                "p_holm": math.nan,
                "effect": r.mean_diff,
                "effect_name": "mean difference (pp)",
                "n": r.n,
            }
        )
    for r in c3_tests.itertuples():
        rows.append(
            {
                "claim": "C3",
                "test": f"chi-square ({r.table})",
                "comparison": f"arch {r.arch}, {r.scope}",
                "statistic": r.chi2,
                "p": r.p,
                "p_holm": getattr(r, "p_holm", math.nan),
                "effect": r.cramers_v,
                "effect_name": "Cramer's V",
                "n": r.n,
            }
        )
    for r in c3_trends.itertuples():
        rows.append(
            {
                "claim": "C3",
                "test": "Spearman (relative depth vs share)",
                "comparison": f"{r.group}, {r.shares} shares, arch {r.arch}",
                "statistic": r.spearman_rho,
                "p": r.p,
                "p_holm": math.nan,
                "effect": r.spearman_rho,
                "effect_name": "rho",
                "n": r.n,
            }
        )
    for r in c4_tests.itertuples():
        rows.append(
            {
                "claim": "C4",
                "test": r.test,
                "comparison": r.comparison,
                "statistic": r.statistic,
                "p": r.p,
                "p_holm": r.p_holm,
                "effect": r.effect,
                "effect_name": "rank-biserial r" if "Wilcoxon" in r.test else "",
                "n": r.n,
            }
        )
    return pd.DataFrame(rows)


# -- studies ("What drives the result") ---------------------------------------------------------
def _final_values(runs: pd.DataFrame, study: str, method: str, split: str) -> pd.Series:
    f = _final(runs[runs.study == study], split)
    return f[f.method == method].set_index(["arch", "seed"]).value


def _gap(runs: pd.DataFrame, study: str) -> pd.Series:
    """Phase 2 - Phase 1 test accuracy (pp, Phase 1 evaluated as the study selects it)."""
    acc = runs[(runs.study == study) & (runs.metric == "accuracy") & (runs.split == "test")]
    acc = acc[acc.method == "smartmixed"]
    p2 = acc[acc.phase == "phase2"].set_index(["arch", "seed"]).value
    ev = "argmax" if study == "phase1_argmax" else "noisy"
    p1 = acc[(acc.phase == "phase1") & (acc["eval"] == ev)].set_index(["arch", "seed"]).value
    return (p2 - p1) * 100


def study_effects(
    runs: pd.DataFrame, studies: dict[str, dict], alpha: float, rng: np.random.Generator
) -> pd.DataFrame:
    """Paired (architecture, seed) differences of each study to the faithful runs.

    A study's SmartMixed or baseline runs are compared with the faithful runs of the same
    method; methods the paper runs lack (SiLU, GELU) are compared with faithful SmartMixed
    (SmartMixed minus the baseline). The Phase 2 - Phase 1 gap is compared for SmartMixed too.
    Holm correction over every test-accuracy comparison of every study (one family).
    """
    rows = []
    paper_methods = set(runs[runs.study == "paper"].method)
    for study, spec in studies.items():
        for method in spec.get("methods", ["smartmixed"]):
            s = _final_values(runs, study, method, "test")
            if method in paper_methods:
                ref, label = (
                    _final_values(runs, "paper", method, "test"),
                    f"{method}: study - faithful",
                )
                d = s - ref  # both in percent already
            else:
                ref = _final_values(runs, "paper", "smartmixed", "test")
                label, d = f"faithful smartmixed - {method}", ref - s
            rows.append(_effect_row(study, spec, label, "test accuracy (pp)", d.dropna(), rng))
            if method == "smartmixed":
                g = (_gap(runs, study) - _gap(runs, "paper")).dropna()
                rows.append(_effect_row(study, spec, "smartmixed: study - faithful",
                                        "Phase 2 - Phase 1 gap (pp)", g, rng))  # fmt: skip
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    fam = table.quantity == "test accuracy (pp)"
    table["p_holm"] = math.nan
    table.loc[fam, "p_holm"] = holm(table.loc[fam, "p"])
    table["conclusion"] = [_conclusion(r, alpha) for r in table.itertuples()]
    return table


def _effect_row(study, spec, comparison, quantity, d: pd.Series, rng) -> dict[str, Any]:
    lo, hi, how = bootstrap_ci(d.to_numpy(), rng)
    stat, p, r, n = wilcoxon(d.to_numpy())
    return {"study": study, "family": spec["family"], "description": spec["description"],
            "comparison": comparison, "quantity": quantity, "n": n,
            "mean_diff": d.mean() if len(d) else math.nan, "ci_low": lo, "ci_high": hi,
            "ci_method": how, "wilcoxon": stat, "p": p, "effect": r}  # fmt: skip


def _conclusion(r: Any, alpha: float) -> str:
    """One generated line per comparison, from its numbers."""
    if r.n == 0 or math.isnan(r.mean_diff):
        return f"{r.study}: no paired runs"
    p = r.p_holm if not math.isnan(r.p_holm) else r.p
    tag = "Holm p" if not math.isnan(r.p_holm) else "p"
    if math.isnan(p):
        verdict = "no test possible (too few or identical pairs)"
    elif p < alpha:
        verdict = "a significant " + ("increase" if r.mean_diff > 0 else "decrease")
    else:
        verdict = "no significant difference"
    return (f"{r.description}: {r.comparison}, {r.quantity} {r.mean_diff:+.2f} "
            f"[{r.ci_low:+.2f}, {r.ci_high:+.2f}], {tag}={p:.3g}, n={r.n}: {verdict}")  # fmt: skip


def equal_time(curves: pd.DataFrame, runs: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """SmartMixed against each baseline at equal wall time (validation accuracy, pp).

    Budget per (study, architecture, seed): SmartMixed's total epoch seconds (Phase 1 + Phase 2,
    training and validation). A baseline is credited with its best validation accuracy among the
    epochs finished within that budget (its first epoch if none fits); SmartMixed with the
    validation accuracy it reports. Pairs are (architecture, seed); baselines of every study
    (the strong SiLU/GELU baselines included) against the faithful SmartMixed.
    """
    c = curves.copy()
    per_epoch = c.groupby(
        ["study", "arch", "method", "seed", "phase", "epoch"], as_index=False
    ).agg(seconds=("seconds", "sum"))
    val = c[c.split == "val"][["study", "arch", "method", "seed", "phase", "epoch", "accuracy"]]
    per_epoch = per_epoch.merge(val, on=["study", "arch", "method", "seed", "phase", "epoch"])
    sm = per_epoch[per_epoch.method == "smartmixed"]
    sm = sm[sm.study == "paper"]
    budget = sm.groupby(["arch", "seed"]).seconds.sum()
    sm_acc = (_final_values(runs, "paper", "smartmixed", "val") / 100).to_dict()
    rows = []
    base = per_epoch[(per_epoch.method != "smartmixed")]
    for (study, method), gm in base.groupby(["study", "method"]):
        diffs = []
        for key, g in gm.groupby(["arch", "seed"]):
            if key not in budget or key not in sm_acc:
                continue
            g = g.sort_values("epoch")
            within = g[g.seconds.cumsum() <= budget[key]]
            best = (within if len(within) else g.head(1)).accuracy.max()
            diffs.append((sm_acc[key] - best) * 100)
        d = np.asarray(diffs)
        lo, hi, how = bootstrap_ci(d, rng)
        stat, p, r, n = wilcoxon(d)
        name = method if study == "paper" else f"{method} ({study})"
        rows.append({"comparison": f"smartmixed - {name}", "quantity":
                     "validation accuracy at equal wall time (pp)", "n": n,
                     "mean_diff": d.mean() if len(d) else math.nan, "ci_low": lo,
                     "ci_high": hi, "ci_method": how, "wilcoxon": stat, "p": p,
                     "effect": r})  # fmt: skip
    table = pd.DataFrame(rows)
    if len(table):
        table["p_holm"] = holm(table.p)
    return table
