"""The DAG through a real SLURM scheduler: same results as locally, GPU requests, resuming.

Needs the single-node test cluster of tests/cluster/slurm-up.sh (CI starts it and sets
SMARTMIXED_REQUIRE_SLURM=1, which turns a missing cluster into a failure instead of a skip).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
from helpers import SNAKEMAKE, copy_workflow, snakemake

REPO = Path(__file__).resolve().parents[1]
TEST_PROFILE = ["--workflow-profile", "tests/cluster/profile"]
SMOKE = ["--configfile", ".test/config.yaml"]


def _slurm_up() -> bool:
    if not shutil.which("sinfo"):
        return False
    out = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True)
    return out.returncode == 0 and bool(re.search(r"idle|mixed|allocated", out.stdout))


if not _slurm_up():
    if os.environ.get("SMARTMIXED_REQUIRE_SLURM") == "1":
        raise RuntimeError("SMARTMIXED_REQUIRE_SLURM=1 but no SLURM cluster answers sinfo")
    pytest.skip(
        "no SLURM cluster (start one with tests/cluster/slurm-up.sh)", allow_module_level=True
    )

pytestmark = pytest.mark.workflow


def _work(tmp_path_factory, data_root, name):
    work = copy_workflow(tmp_path_factory.mktemp(name), data_root)
    shutil.copytree(REPO / "tests" / "cluster", work / "tests" / "cluster")
    return work


def _jobs_seen() -> list[dict[str, str]]:
    """Recent jobs as scontrol reports them (finished ones stay MinJobAge seconds)."""
    out = subprocess.run(["scontrol", "show", "job", "-o"], capture_output=True, text=True).stdout
    return [dict(re.findall(r"(\w+)=(\S*)", line)) for line in out.splitlines() if "JobId=" in line]


@pytest.fixture(scope="module")
def slurm_smoke(tmp_path_factory, data_root):
    work = _work(tmp_path_factory, data_root, "slurm")
    before = {j["JobId"] for j in _jobs_seen()}
    snakemake(work, "--profile", "profiles/slurm", *TEST_PROFILE, *SMOKE, "--jobs", "4")
    jobs = [j for j in _jobs_seen() if j["JobId"] not in before]
    return work, jobs


def test_smoke_through_slurm_matches_the_local_run(slurm_smoke, smoke):
    work, jobs = slurm_smoke
    assert len(jobs) == 2 * 7 * 2  # one SLURM job per training run; the rest ran locally
    assert all(j["JobState"] == "COMPLETED" and j["Partition"] == "main" for j in jobs)
    assert not any("gpu" in j.get("TresPerJob", "") for j in jobs)
    keys = ["arch", "method", "seed", "phase", "eval", "split", "metric"]
    local = pd.read_csv(smoke / "results/tables/runs.csv").sort_values(keys, ignore_index=True)
    remote = pd.read_csv(work / "results/tables/runs.csv").sort_values(keys, ignore_index=True)
    pd.testing.assert_frame_equal(local, remote)  # bitwise: same seeds, same CPU code path
    v_local = json.loads((smoke / "results/stats/verdicts.json").read_text())["verdicts"]
    v_remote = json.loads((work / "results/stats/verdicts.json").read_text())["verdicts"]
    for a, b in zip(v_local, v_remote, strict=True):
        assert a["verdict"] == b["verdict"]
        if a["id"] != "C5":  # C5 quotes measured seconds
            assert a["numbers"] == b["numbers"]
    assert "<svg" in (work / "results/report/index.html").read_text()


def test_gpu_profile_requests_reach_slurm(tmp_path_factory, data_root):
    """profiles/slurm-gpu asks SLURM for GPUs for training jobs; the test node has 2 GPU GRES.

    The profile groups up to 4 training runs per submission: the two runs here go as one job
    holding two GPUs.
    """
    work = _work(tmp_path_factory, data_root, "slurm-gpu")
    before = {j["JobId"] for j in _jobs_seen()}
    targets = ["results/runs/4/relu/seed1/metrics.json", "results/runs/1/tanh/seed2/metrics.json"]
    # device=auto: the job finds no CUDA here and trains on the CPU; the request is what we test.
    snakemake(work, "--profile", "profiles/slurm-gpu", *TEST_PROFILE, *SMOKE,
              "--config", "device=auto", "--jobs", "2", *targets)  # fmt: skip
    jobs = [j for j in _jobs_seen() if j["JobId"] not in before]
    assert len(jobs) == 1
    assert jobs[0]["TresPerJob"] == "gres:gpu:2" and jobs[0]["JobState"] == "COMPLETED"
    assert jobs[0]["Partition"] == "gpu"
    for target in targets:
        prov = json.loads((work / target).with_name("provenance.json").read_text())
        assert prov["environment"]["device"] == "cpu"


def test_interrupted_cluster_run_resumes_without_redoing_finished_jobs(tmp_path_factory, data_root):
    work = _work(tmp_path_factory, data_root, "slurm-kill")
    cmd = [*SNAKEMAKE, "--profile", "profiles/slurm", *TEST_PROFILE, *SMOKE, "--jobs", "2"]
    # SIGINT back to its default in the child: a shell that starts CI in the background hands
    # its children SIGINT ignored, and Snakemake (Python) then never sees Ctrl-C.
    proc = subprocess.Popen(
        cmd,
        cwd=work,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    runs = work / "results" / "runs"
    deadline = time.time() + 300
    while len(list(runs.glob("*/*/*/metrics.json"))) < 4 and time.time() < deadline:
        time.sleep(1)
    running = subprocess.run(["squeue", "-h", "-o", "%i"], capture_output=True, text=True)
    subprocess.run(["scancel", *running.stdout.split()], check=False)
    proc.send_signal(signal.SIGINT)  # Snakemake ignores SIGTERM while it waits on jobs
    proc.wait(timeout=120)
    # What Snakemake itself will redo (a job that ended while it shut down counts as incomplete).
    plan = snakemake(work, "-n", *cmd[3:]).stdout
    todo = set(re.findall(r"output: (results/runs/\S+/metrics\.json)", plan))
    done = {
        p: p.stat().st_mtime_ns
        for p in runs.glob("*/*/*/metrics.json")
        if str(p.relative_to(work)) not in todo
    }
    assert len(done) >= 1 and len(todo) >= 1  # some finished, some not, when interrupted
    rerun = snakemake(work, *cmd[3:])
    assert len(re.findall(r"^rule train:", rerun.stdout + rerun.stderr, flags=re.M)) == len(todo)
    for path, mtime in done.items():
        assert path.stat().st_mtime_ns == mtime  # finished runs untouched
    assert len(list(runs.glob("*/*/*/metrics.json"))) == 28
    assert (work / "results/report/index.html").exists()
