"""Data as a dependency: a download happens in one job before the jobs that read it, and a zip of images is
an input of every job that reads it (so replacing it reruns them)."""

from __future__ import annotations

import re
import zipfile

import pytest

from .conftest import TINY, sheet, snakemake, write_config

pytestmark = pytest.mark.workflow


def _jobs(stdout: str, rule: str) -> list[str]:
    """The display block of every planned job of ``rule`` in a dry run (inside a group job too: indented)."""
    return [b for b in re.split(r"\n(?= *\[)", stdout) if re.search(rf"^ *rule {rule}:", b, re.M)]


def test_download_runs_once_before_every_job_that_reads_the_dataset(tmp_path):
    cfg = write_config(tmp_path, {
        **TINY,
        "experiments": sheet(methods=("darts",), orders=(1,), dataset="c10"),
        "data": {"c10": {"source": "cifar10", "root": str(tmp_path / "cifar"), "download": True}},
        "selection": {"selectors": ["tf"], "ks": [2], "proxies": ["synflow"]},
        "benchmarks": {"nb201": None},
    })
    res = snakemake(tmp_path, "-n", "--configfile", str(cfg))
    assert res.returncode == 0, res.stderr[-2000:]
    prepare = _jobs(res.stdout, "prepare_data")
    assert len(prepare) == 1 and "results/data/c10/prepared.json" in prepare[0]
    for rule in ("search", "score_proxies"):
        jobs = _jobs(res.stdout, rule)
        assert len(jobs) == 2, rule
        assert all("results/data/c10/prepared.json" in job.split("output:")[0] for job in jobs), rule


def test_an_image_zip_is_an_input_of_the_jobs_that_read_it(tmp_path):
    archive = tmp_path / "images.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("x/train/a/0.png", b"")
    cfg = write_config(tmp_path, {
        **TINY,
        "experiments": sheet(methods=("balenas",), orders=(1,), dataset="zipped"),
        "data": {"zipped": {"source": "imagezip", "root": str(archive), "input_size": 8}},
        "selection": {"selectors": ["tf"], "ks": [2], "proxies": ["synflow"]},
        "benchmarks": {"nb201": None},
    })
    res = snakemake(tmp_path, "-n", "--configfile", str(cfg))
    assert res.returncode == 0, res.stderr[-2000:]
    assert not _jobs(res.stdout, "prepare_data")
    decode = _jobs(res.stdout, "decode_data")  # issue 16: the zip is decoded once, by one job
    assert len(decode) == 1 and str(archive) in decode[0].split("output:")[0]
    for rule in ("search", "score_proxies"):
        jobs = _jobs(res.stdout, rule)
        assert len(jobs) == 2, rule
        assert all("results/data/zipped/decoded.pt" in job.split("output:")[0] for job in jobs), rule


def test_a_corrupt_zip_member_fails_in_decode_data_before_any_search(tmp_path):
    """issue 16: the error names the zip and the member; no search job starts."""
    archive = tmp_path / "images.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("x/train/a/0.png", b"this is not a png")
    cfg = write_config(tmp_path, {
        **TINY,
        "experiments": sheet(methods=("darts",), orders=(1,), seeds=(0,), dataset="zipped"),
        "data": {"zipped": {"source": "imagezip", "root": str(archive), "input_size": 8}},
        "selection": {"selectors": [], "ks": [], "proxies": []},
        "benchmarks": {"nb201": None},
    })
    res = snakemake(tmp_path, "--cores", "1", "--configfile", str(cfg))
    assert res.returncode != 0
    log = (tmp_path / "logs/decode_data/zipped.log").read_text()
    assert "member 'x/train/a/0.png' is not a readable image" in log and str(archive) in log
    assert not (tmp_path / "logs/search").exists()
