from pathlib import Path

import pytest

yte = pytest.importorskip("yte", reason="yte (a Snakemake dependency) renders the profile")

PROFILE = Path(__file__).resolve().parents[2] / "profiles" / "local" / "config.yaml"


@pytest.mark.parametrize("env,slots", [({}, 1), ({"BALENAS_GPUS": "2"}, 2),
                                       ({"BALENAS_JOBS_PER_GPU": "4"}, 4),
                                       ({"BALENAS_GPUS": "2", "BALENAS_JOBS_PER_GPU": "3"}, 6)])
def test_local_profile_offers_gpus_times_jobs_per_gpu_slots(monkeypatch, env, slots):
    for key in ("BALENAS_GPUS", "BALENAS_JOBS_PER_GPU"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    rendered = yte.process_yaml(PROFILE.read_text(), require_use_yte=True)
    assert rendered["resources"]["gpu"] == slots
