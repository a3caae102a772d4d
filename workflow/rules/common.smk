# Shared helpers: the run list of the configured protocol, flags for the CLI, semantic checks.
import json
import os
import shlex
import sys

from smartmixed.cli import FIGURE_NAMES, STATS, TABLES, study_slug
from smartmixed.config import from_dict
from smartmixed.data import RAW_FILES

# Rules run `python -m smartmixed`: make that the interpreter running Snakemake (its venv), also
# when Snakemake was started as .venv/bin/snakemake without activating the venv.
os.environ["PATH"] = (
    os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
)

# `--config seeds=[42]` arrives as strings; the schema admits digit strings, here they become ints.
config["architectures"] = [int(a) for a in config["architectures"]]
config["seeds"] = [int(s) for s in config["seeds"]]
DATA_ROOT = config["data"]["root"]
RAW = [f"{DATA_ROOT}/MNIST/raw/{name}" for name in RAW_FILES]


def study_run(study=None):
    """The `run:` section, with a study's overrides on top."""
    return {**config["run"], **(config["studies"][study]["run"] if study else {})}


def _check_run_config():
    """Every run config must build: errors name the key (and study), before any job runs."""
    for study in [None, *config["studies"]]:
        methods = config["studies"][study]["methods"] if study else config["methods"]
        for arch in config["architectures"]:
            for method in methods:
                try:
                    from_dict({**study_run(study), "arch": arch, "method": method})
                except ValueError as err:
                    where = f"studies.{study}: " if study else ""
                    raise ValueError(f"invalid config: {where}{err}") from None


_check_run_config()


def run_dir(arch, method, seed, study=None):
    base = f"results/studies/{study}/runs" if study else "results/runs"
    return f"{base}/{arch}/{method}/seed{seed}"


def all_runs():
    """Run folders of every cell: the paper protocol, then each study on the same seeds."""
    cells = [(None, m) for m in config["methods"]]
    cells += [
        (st, m) for st, spec in config["studies"].items() for m in spec["methods"]
    ]
    return [
        run_dir(a, m, s, st)
        for st, m in cells
        for a in config["architectures"]
        for s in config["seeds"]
    ]


def run_flags(wildcards=None):
    """The run config (with the study's overrides) as CLI flags (same names, dashes)."""
    flags = []
    study = getattr(wildcards, "study", None) if wildcards is not None else None
    for key, value in study_run(study).items():
        if value is not None:
            flags += [
                f"--{key.replace('_', '-')}",
                str(value).lower() if isinstance(value, bool) else str(value),
            ]
    return " ".join(shlex.quote(f) for f in flags)


def gpus_per_job():
    return 1 if str(config["device"]).startswith("cuda") else 0


def workflow_config_json():
    return shlex.quote(json.dumps(config, sort_keys=True))


# One figure per study family (none in the paper run).
STUDY_FAMILIES = {
    study_slug(s["family"]): s["family"] for s in config["studies"].values()
}
