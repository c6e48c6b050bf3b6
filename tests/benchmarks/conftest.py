"""Shared fixtures for the benchmark tests: the real NAS-Bench-201 files under ``shared/data/nb201``.

``shared/`` is the sibling of the repository root. Tests that need it skip, with the reason, when it is absent.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from balenas.benchmarks import NB201Table, load_nb201_table

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED = (REPO_ROOT / ".." / "shared").resolve()
NB201_DIR = SHARED / "data" / "nb201"
GROUNDTRUTH_CSV = NB201_DIR / "nb201_groundtruth.csv"
NATS_FIXTURE = NB201_DIR / "nats_tss_fixture" / "NATS-tss-v1_0-3ffb9-simple"


def require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"shared data not available: {path} is absent (expected shared/ beside the repo root)")
    return path


@pytest.fixture(scope="session")
def groundtruth_csv() -> Path:
    return require(GROUNDTRUTH_CSV)


@pytest.fixture(scope="session")
def nats_fixture_dir() -> Path:
    return require(NATS_FIXTURE)


@pytest.fixture(scope="session")
def nb201(groundtruth_csv: Path) -> NB201Table:
    return load_nb201_table(groundtruth_csv)
