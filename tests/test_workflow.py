"""The Snakemake DAG: plans, config validation, lint, the smoke preset end to end, its report."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pandas as pd
import pytest
from helpers import REPO, SNAKEMAKE, copy_workflow, job_counts, snakemake
from markupsafe import escape as html_escape

from smartmixed.cli import FIGURE_NAMES

pytestmark = pytest.mark.workflow


@pytest.fixture(scope="module")
def plan_dir(tmp_path_factory, data_root):
    return copy_workflow(tmp_path_factory.mktemp("plan"), data_root)


@pytest.mark.parametrize(
    "preset, trainings",
    [(None, 17 * 7 * 5), ("config/quick.yaml", 3 * 7 * 3), (".test/config.yaml", 2 * 7 * 2)],
)
def test_dry_run_plans_every_cell(plan_dir, preset, trainings):
    args = ["-n", "--cores", "2"] + (["--configfile", preset] if preset else [])
    jobs = job_counts(snakemake(plan_dir, *args).stdout)
    assert jobs["train"] == trainings
    assert jobs["report"] == 1 and jobs["stats"] == 1 and jobs["aggregate"] == 1
    assert {f"figure_{n}" for n in FIGURE_NAMES} <= set(jobs)


def test_official_single_seed_is_one_override(plan_dir):
    jobs = job_counts(snakemake(plan_dir, "-n", "--cores", "1", "--config", "seeds=[42]").stdout)
    assert jobs["train"] == 17 * 7


@pytest.mark.parametrize(
    "override, key",
    [
        ("architectures: [3, 99]", "architectures"),
        ("methods: [smartmixed, swish]", "methods"),
        ("seeds: []", "seeds"),
        ("run: {epochs: -5}", "epochs"),
        ("run: {phase2_start: cold}", "phase2_start"),
        ("run: {learning_rate: 0.1}", "learning_rate"),
        ("device: tpu", "device"),
    ],
)
def test_invalid_config_stops_before_any_job(plan_dir, tmp_path, override, key):
    bad = tmp_path / "bad.yaml"
    bad.write_text(override + "\n")
    proc = snakemake(plan_dir, "-n", "--cores", "1", "--configfile", str(bad), check=False)
    assert proc.returncode != 0
    message = proc.stdout + proc.stderr
    assert key in message and "Job stats" not in message


def test_lint_and_format_are_clean():
    lint = subprocess.run([*SNAKEMAKE, "--lint"], cwd=REPO, capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    files = ["Snakefile", *map(str, (REPO / "workflow" / "rules").glob("*.smk"))]
    fmt = subprocess.run(
        [sys.executable, "-m", "snakefmt", "--check", *files],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr


def test_smoke_dag_writes_tidy_tables(smoke):
    runs = pd.read_csv(smoke / "results/tables/runs.csv")
    assert {
        "arch",
        "arch_name",
        "method",
        "seed",
        "study",
        "status",
        "phase",
        "eval",
        "split",
        "metric",
        "value",
    } <= set(runs.columns)
    assert len(runs[(runs.phase == "final")].groupby(["arch", "method", "seed"])) == 2 * 7 * 2
    curves = pd.read_csv(smoke / "results/tables/curves.csv")
    assert {"epoch", "split", "loss", "accuracy", "seconds"} <= set(curves.columns)
    shares = pd.read_csv(smoke / "results/tables/shares.csv")
    assert {"layer", "relative_depth", "activation", "share", "initial_share"} <= set(
        shares.columns
    )
    per_layer = shares.groupby(["arch", "seed", "layer"]).share.sum()
    assert per_layer.round(6).eq(1).all()
    costs = pd.read_csv(smoke / "results/tables/costs.csv")
    assert set(costs.phase) == {"baseline", "phase1", "phase2"}
    for name in FIGURE_NAMES:
        assert (smoke / f"results/figures/{name}.svg").stat().st_size > 1000
        assert (smoke / f"results/figures/{name}.png").exists()


def test_smoke_report_has_claims_verdicts_and_every_figure(smoke):
    html = (smoke / "results/report/index.html").read_text()
    claims = html.split('<table class="tbl claims">')[1].split("</table>")[0]
    verdicts = re.findall(r'<td class="verdict [^"]+">([^<]+)</td>', claims)
    assert len(verdicts) == 5
    assert set(verdicts) <= {"reproduced", "partly reproduced", "not reproduced", "inconclusive"}
    for cid in ("C1", "C2", "C3", "C4", "C5"):
        assert f"<td>{cid}</td>" in claims
    assert html.count("<svg") >= len(FIGURE_NAMES)  # every figure inlined
    assert "<img" not in html and 'href="results' not in html  # self-contained
    for section in ("What was run", "Deviations from the official code", "How to rerun"):
        assert section in html
    assert "phase2_start" in html and "reinit" in html
    stats = json.loads((smoke / "results/stats/verdicts.json").read_text())
    assert stats["protocol"]["complete"] is False
    assert all(v["numbers"] for v in stats["verdicts"])


def test_rebuilding_one_figure_runs_only_that_figure_and_the_report(smoke):
    out = snakemake(
        smoke,
        "-n",
        "--cores",
        "1",
        "--configfile",
        ".test/config.yaml",
        "--forcerun",
        "figure_accuracy",
        "results/report/index.html",
    ).stdout
    jobs = job_counts(out)
    jobs.pop("all", None)  # the no-op default target
    assert jobs == {"figure_accuracy": 1, "report": 1}
    # Editing a plotting or statistics module does not make Snakemake retrain anything.
    out = snakemake(smoke, "-n", "--cores", "1", "--configfile", ".test/config.yaml").stdout
    assert "Nothing to be done" in out or "train" not in job_counts(out)


ABLATION_SMOKE = [
    "--configfile",
    ".test/config.yaml",
    "config/ablations.yaml",
    ".test/ablations.yaml",
]


def test_ablation_preset_plans_every_study(plan_dir):
    jobs = job_counts(snakemake(plan_dir, "-n", "--cores", "2", "--configfile",
                                "config/ablations.yaml").stdout)  # fmt: skip
    assert jobs["train"] == 17 * 7 * 5
    # logits_head: 7 methods; five SmartMixed-only studies; strong baselines: SiLU and GELU
    assert jobs["train_study"] == (7 + 5 + 2) * 17 * 5
    assert {k for k in jobs if k.startswith("figure_study_")} == {
        "figure_study_protocol_fixes", "figure_study_selection_and_training",
        "figure_study_placement_controls", "figure_study_baselines",
    }  # fmt: skip
    quick = job_counts(
        snakemake(
            plan_dir,
            "-n",
            "--cores",
            "2",
            "--configfile",
            "config/quick.yaml",
            "config/ablations.yaml",
            "config/ablations-quick.yaml",
        ).stdout
    )
    assert quick["train"] == 2 * 7 * 3 and quick["train_study"] == (3 + 5 + 2) * 2 * 3


def test_invalid_study_is_named(plan_dir, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("studies: {broken: {family: f, description: d, run: {phase2_start: cold}}}\n")
    proc = snakemake(plan_dir, "-n", "--cores", "1", "--configfile", str(bad), check=False)
    assert proc.returncode != 0 and "studies.broken: phase2_start" in proc.stdout + proc.stderr


def test_ablation_smoke_reports_what_drives_the_result(tmp_path, data_root):
    work = copy_workflow(tmp_path, data_root)
    snakemake(work, "--cores", "2", *ABLATION_SMOKE)
    studies = pd.read_csv(work / "results/stats/studies.csv")
    assert set(studies.study) == {
        "logits_head", "phase1_argmax", "warm_start", "soft_mixture", "random_placement",
        "shuffled_placement", "strong_baselines",
    }  # fmt: skip
    assert {"mean_diff", "ci_low", "ci_high", "p", "p_holm", "n", "conclusion"} <= set(studies)
    assert studies[studies.quantity == "test accuracy (pp)"].p_holm.notna().any()
    equal = pd.read_csv(work / "results/stats/equal_time.csv")
    assert {"smartmixed - silu (strong_baselines)", "smartmixed - relu"} <= set(equal.comparison)
    html = (work / "results/report/index.html").read_text()
    assert "What drives the result" in html
    for line in studies.conclusion:
        assert str(html_escape(line)) in html  # every generated conclusion is in the report
    assert html.count("<svg") >= 8 + 4  # the paper figures and one per study family
