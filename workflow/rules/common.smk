# Shared helpers: the run list of the configured protocol, flags for the CLI, semantic checks.
import json
import os
import shlex
import sys

from smartmixed.cli import FIGURE_NAMES
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


def _check_run_config():
    """Every (architecture, method) run config must build: errors name the key, before any job."""
    for arch in config["architectures"]:
        for method in config["methods"]:
            try:
                from_dict({**config["run"], "arch": arch, "method": method})
            except ValueError as err:
                raise ValueError(f"invalid config: {err}") from None


_check_run_config()


def run_dir(arch, method, seed):
    return f"results/runs/{arch}/{method}/seed{seed}"


def all_runs():
    """Run folders of every (architecture, method, seed) cell of the configured protocol."""
    return [
        run_dir(a, m, s)
        for a in config["architectures"]
        for m in config["methods"]
        for s in config["seeds"]
    ]


def run_flags(wildcards=None):
    """The `run:` section as CLI flags (same names, dashes)."""
    flags = []
    for key, value in config["run"].items():
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
