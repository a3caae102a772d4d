"""Shared fixtures: verified MNIST (fetched once, offline) and small preloaded splits."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA_ROOT = Path(os.environ.get("SMARTMIXED_DATA_ROOT", REPO / "resources" / "data"))


@pytest.fixture(scope="session")
def data_root() -> Path:
    from smartmixed.data import fetch

    fetch(DATA_ROOT)  # a no-op once the verified files exist
    return DATA_ROOT


@pytest.fixture(scope="session")
def small_splits(data_root):
    from smartmixed.data import load_splits

    return load_splits(data_root, train_subset=512)


@pytest.fixture(scope="session")
def smoke(tmp_path_factory, data_root):
    """The smoke preset's whole DAG run locally, once per session (workflow and cluster tests)."""
    from helpers import copy_workflow, snakemake

    work = copy_workflow(tmp_path_factory.mktemp("smoke"), data_root)
    snakemake(work, "--cores", "2", "--configfile", ".test/config.yaml")
    return work
