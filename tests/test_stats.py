"""Statistics against hand-computed values, and each verdict outcome on constructed tables."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as st

from smartmixed import stats
from smartmixed.activations import POOL
from smartmixed.tables import metric_rows, relative_depth

TARGETS = {
    "alpha": 0.05,
    "min_seeds": 3,
    "C1": {"val_accuracy": 98.22, "test_accuracy": 98.03, "tolerance_pp": 0.3},
    "C2": {"improvement_pp": [2.0, 3.0], "tolerance_pp": 0.5},
    "C3": {"min_moved_share": 0.05, "consistency": 0.75},
    "C4": {"min_pairs": 6},
    "C5": {"max_ratio": 1.10, "partly_ratio": 1.5},
}
FULL = {"complete": True, "why": ""}
REDUCED = {"complete": False, "why": "reduced budget: epochs 10 instead of 400"}


def rng():
    return np.random.default_rng(0)


# -- primitives, by hand ------------------------------------------------------------------------
def test_holm_by_hand():
    # sorted p: 0.005*4=0.02, 0.01*3=0.03, 0.03*2=0.06, 0.04*1=0.04 -> monotone 0.06
    adj = stats.holm([0.01, 0.04, 0.03, 0.005])
    np.testing.assert_allclose(adj, [0.03, 0.06, 0.06, 0.02])
    assert np.isnan(stats.holm([0.01, np.nan])[1])
    assert stats.holm([0.9, 0.8])[0] == 1.0  # capped


def test_chi_square_and_cramers_v_by_hand():
    # expected 12, 18, 28, 42 -> chi2 = 4/12 + 4/18 + 4/28 + 4/42
    chi2, p, v, dof = stats.cramers_v(np.array([[10, 20], [30, 40]]))
    expected = 4 / 12 + 4 / 18 + 4 / 28 + 4 / 42
    assert chi2 == pytest.approx(expected)
    assert v == pytest.approx(math.sqrt(expected / 100))
    assert dof == 1 and p == pytest.approx(st.chi2.sf(expected, 1))
    # Empty columns (an activation nobody picked) are dropped, not divided by zero.
    chi2b, _, _, dofb = stats.cramers_v(np.array([[10, 0, 20], [30, 0, 40]]))
    assert chi2b == pytest.approx(expected) and dofb == 1


def test_wilcoxon_by_hand():
    stat, p, r, n = stats.wilcoxon([1, 2, 3, 4, 5])
    assert stat == 0 and n == 5 and r == 1.0
    assert p == pytest.approx(2 / 32)  # exact: only the all-positive sign pattern and its mirror
    stat, p, r, n = stats.wilcoxon([1, -2, 3, 4, -5])
    assert r == pytest.approx((1 + 3 + 4 - 2 - 5) / 15)
    assert math.isnan(stats.wilcoxon([0, 0, 0])[1])


def test_bootstrap_is_repeatable_and_says_its_method():
    x = [97.1, 97.4, 97.9, 98.0, 97.6]
    a = stats.bootstrap_ci(x, np.random.default_rng(1))
    b = stats.bootstrap_ci(x, np.random.default_rng(1))
    assert a == b and a[2] == "BCa"
    assert a[0] < np.mean(x) < a[1]
    assert stats.bootstrap_ci([5.0], rng())[2] == "none"
    assert stats.bootstrap_ci([5.0, 5.0, 5.0], rng()) == (5.0, 5.0, "degenerate")


# -- synthetic run tables ----------------------------------------------------------------------
def _metrics(arch, method, seed, acc, p1=None):
    m = {"arch": arch, "arch_name": f"a{arch}", "method": method, "seed": seed,
         "status": "completed", "val_accuracy": acc, "test_accuracy": acc,
         "val_loss": 1.5, "test_loss": 1.5}  # fmt: skip
    if method == "smartmixed":
        block = {"val_accuracy": p1, "test_accuracy": p1, "val_loss": 1.6, "test_loss": 1.6}
        m["phase1"] = {"noisy": block, "argmax": block}
        m["phase2"] = {"val_accuracy": acc, "test_accuracy": acc, "val_loss": 1.5, "test_loss": 1.5}
    return m


def _runs(acc_of, archs=(1, 2, 3), seeds=(1, 2, 3), p1_gap=0.025):
    rows = []
    for a in archs:
        for s in seeds:
            for m in ("smartmixed", *POOL):
                acc = acc_of(a, m, s)
                rows += metric_rows(_metrics(a, m, s, acc, acc - p1_gap))
    return pd.DataFrame(rows)


def test_friedman_by_hand_through_claim_c4():
    order = ["smartmixed", *POOL]  # a fixed order in every architecture: ranks 1..7
    runs = _runs(lambda a, m, s: 0.99 - 0.01 * order.index(m), archs=(1, 2, 3, 4))
    summary, tests, verdict = stats.claim_c4(runs, TARGETS, FULL)
    fried = tests[tests.test.str.startswith("Friedman")].iloc[0]
    # n=4 blocks, k=7: Q = 12/(n k (k+1)) * sum R_j^2 - 3 n (k+1) = 120 - 96 = 24
    assert fried.statistic == pytest.approx(24.0)
    assert fried.p == pytest.approx(st.chi2.sf(24, 6))
    sm = summary[(summary.split == "test") & (summary.method == "smartmixed")].iloc[0]
    assert sm.first_ranks == 4 and sm.mean_reciprocal_rank == 1.0
    assert verdict["verdict"] == "reproduced"


def test_c4_outcomes():
    base = {"smartmixed": 0.0, "relu": 0.0, "sigmoid": -0.02, "tanh": -0.01,
            "leaky_relu": 0.0, "elu": 0.0, "selu": 0.0}  # fmt: skip
    noise = lambda a, s: 0.001 * ((a * 7 + s * 3) % 5)  # noqa: E731
    worse = lambda a, m, s: 0.97 + noise(a, s) + (0.01 if m != "smartmixed" else 0)  # noqa: E731
    _, _, v = stats.claim_c4(_runs(worse), TARGETS, FULL)
    assert v["verdict"] == "not reproduced"
    mid = lambda a, m, s: 0.97 + noise(a, s) + base[m] + (0.01 if m == "relu" else 0)  # noqa: E731
    _, _, v = stats.claim_c4(_runs(mid), TARGETS, FULL)
    assert v["verdict"] == "partly reproduced"  # beaten by ReLU only
    _, _, v = stats.claim_c4(_runs(mid, archs=(1,), seeds=(1, 2)), TARGETS, FULL)
    assert v["verdict"] == "inconclusive"


def test_c1_outcomes():
    def cells(val, test, n=5):
        rows = []
        for split, m in (("val", val), ("test", test)):
            rows.append({"study": "paper", "arch": 3, "arch_name": "medium_5layer",
                         "method": "smartmixed", "phase": "final", "eval": "-", "split": split,
                         "n": n, "mean": m, "ci_low": m - 0.1, "ci_high": m + 0.1})  # fmt: skip
        return pd.DataFrame(rows)

    assert stats.claim_c1(cells(98.2, 98.0), TARGETS, FULL)[1]["verdict"] == "reproduced"
    assert stats.claim_c1(cells(98.2, 97.5), TARGETS, FULL)[1]["verdict"] == "partly reproduced"
    assert stats.claim_c1(cells(96.0, 95.5), TARGETS, FULL)[1]["verdict"] == "not reproduced"
    assert stats.claim_c1(cells(98.2, 98.0), TARGETS, REDUCED)[1]["verdict"] == "inconclusive"
    assert stats.claim_c1(cells(98.2, 98.0, n=2), TARGETS, FULL)[1]["verdict"] == "inconclusive"


def test_c2_outcomes():
    acc = lambda a, m, s: 0.97 + 0.001 * s  # noqa: E731
    for gap, expected in ((0.025, "reproduced"), (0.005, "partly reproduced")):
        runs = _runs(acc, p1_gap=gap)
        runs.loc[(runs.phase == "phase1"), "value"] -= (
            0.0001 * runs.loc[(runs.phase == "phase1"), "seed"]
        )  # distinct differences, so the signed-rank test has no ties
        table, v = stats.claim_c2(runs, TARGETS, FULL, rng())
        assert v["verdict"] == expected, v["numbers"]
    flat = _runs(acc, p1_gap=0.0)
    assert stats.claim_c2(flat, TARGETS, FULL, rng())[1]["verdict"] == "not reproduced"
    assert stats.claim_c2(_runs(acc), TARGETS, REDUCED, rng())[1]["verdict"] == "inconclusive"


def _shares(pattern, archs=(1, 2, 3), seeds=(1, 2, 3), layers=4, units=60):
    """pattern(relative depth) -> counts per POOL activation; initial counts uniform."""
    rows = []
    for a in archs:
        for s in seeds:
            for layer in range(1, layers + 1):
                d = relative_depth(layer, layers)
                counts = pattern(d)
                for act, c in zip(POOL, counts):
                    rows.append({"arch": a, "arch_name": f"a{a}", "method": "smartmixed",
                                 "seed": s, "study": "paper", "layer": layer, "n_layers": layers,
                                 "relative_depth": d, "units": units, "activation": act,
                                 "count": c, "share": c / units, "initial_count": units // 6,
                                 "initial_share": 1 / 6, "phase2_share": c / units,
                                 "moved": 0.5})  # fmt: skip
    return pd.DataFrame(rows)


def test_c3_outcomes():
    def trend(d):  # relu, sigmoid, tanh, leaky, elu, selu; 60 units
        early = round(20 * (1 - d))
        return [early, 10, 10, early, 10 + 20 - early, 10 + 20 - early - 0]

    tests, trends, v = stats.claim_c3(_shares(lambda d: _fix(trend(d))), TARGETS, FULL, rng())
    assert v["verdict"] == "reproduced", v["numbers"]
    _, _, v = stats.claim_c3(_shares(lambda d: [10] * 6), TARGETS, FULL, rng())
    assert v["verdict"] == "not reproduced"
    flat = _shares(lambda d: [10] * 6).assign(moved=0.0)
    assert stats.claim_c3(flat, TARGETS, REDUCED, rng())[2]["verdict"] == "inconclusive"
    pooled = tests[(tests.scope == "pooled") & (tests.table == "learned")].iloc[0]
    assert pooled.cramers_v > 0 and pooled.p < 0.05


def _fix(counts):
    """Make counts sum to 60 by adjusting sigmoid."""
    counts = list(counts)
    counts[1] += 60 - sum(counts)
    return counts


def test_c5_outcomes():
    def costs(p2):
        rows = []
        for a in (1, 2):
            for s in (1, 2, 3):
                for m in POOL:
                    rows.append({"study": "paper", "arch": a, "method": m, "seed": s,
                                 "phase": "baseline", "train_seconds": 2.0})  # fmt: skip
                rows.append({"study": "paper", "arch": a, "method": "smartmixed", "seed": s,
                             "phase": "phase2", "train_seconds": p2 + 0.01 * s})  # fmt: skip
                rows.append({"study": "paper", "arch": a, "method": "smartmixed", "seed": s,
                             "phase": "phase1", "train_seconds": 3.5})  # fmt: skip
        return pd.DataFrame(rows)

    assert stats.claim_c5(costs(2.0), TARGETS, FULL, rng())[1]["verdict"] == "reproduced"
    assert stats.claim_c5(costs(2.6), TARGETS, FULL, rng())[1]["verdict"] == "partly reproduced"
    assert stats.claim_c5(costs(4.0), TARGETS, FULL, rng())[1]["verdict"] == "not reproduced"
    subset = {"complete": False, "why": "reduced budget: training subset of 256 samples"}
    assert stats.claim_c5(costs(2.0), TARGETS, subset, rng())[1]["verdict"] == "inconclusive"
