"""Shared test fixtures: the real data beside the checkout, tiny configs."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SHARED = (REPO.parent / "shared").resolve()
SHARED_DATA = SHARED / "data"


def default_config() -> dict:
    """A fresh copy of the embedded default config, config/config.yaml."""
    return yaml.safe_load((REPO / "config" / "config.yaml").read_text())


def shared_file(relative: str) -> Path:
    """A file under ../shared/data, or skip the test with the reason."""
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f"needs the real data at {path} (../shared beside the checkout); not present here")
    return path


@pytest.fixture
def nb201_groundtruth() -> Path:
    return shared_file("nb201/nb201_groundtruth.csv")


@pytest.fixture
def cifar10_test_zip() -> Path:
    return shared_file("cifar10/cifar10_jpeg_test.zip")


def damage_file(path: Path, how: str) -> None:
    """Damage a checkpoint as a crash or a bad disk would: ``truncate`` to half, or ``flip`` one bit."""
    blob = bytearray(path.read_bytes())
    if how == "truncate":
        blob = blob[: len(blob) // 2]
    elif how == "flip":
        blob[len(blob) // 2] ^= 0x01
    else:
        raise ValueError(f"damage_file: unknown damage {how!r}")
    path.write_bytes(bytes(blob))


def pytest_configure(config: pytest.Config) -> None:
    # One torch thread per test process: predictable timings when other processes share the cores.
    import torch

    torch.set_num_threads(1)
