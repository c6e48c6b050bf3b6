"""profiles/slurm: a group job (the selection of one search run: sampling, every proxy's scoring, every K's
selection) asks for one GPU, not one per scoring job in it."""

from pathlib import Path

import pytest

yte = pytest.importorskip("yte", reason="yte (a Snakemake dependency) renders the profile")

PROFILE = Path(__file__).resolve().parents[2] / "profiles" / "slurm" / "config.yaml"


def test_gpu_is_a_per_submission_pool_of_one():
    """Snakemake sums the gpu of a group's jobs that could run side by side unless --resources caps it;
    a cap with scope local applies to each submission and not to the whole run (which must not be
    limited to one GPU job at a time)."""
    rendered = yte.process_yaml(PROFILE.read_text(), require_use_yte=True)
    assert rendered["resources"] == {"gpu": 1}
    assert rendered["set-resource-scopes"] == {"gpu": "local"}
    assert "group-components" not in rendered  # one connected group per run and selector already
