"""Atomic writes: all or nothing, with the permissions of an ordinary file."""

import json
import os
import stat
from pathlib import Path

import pytest

from balenas.runtime import atomic_path, current_umask, write_json


@pytest.fixture
def umask():
    def set_mask(mask):
        os.umask(mask)

    old = os.umask(0o022)
    os.umask(old)
    yield set_mask
    os.umask(old)


@pytest.mark.parametrize("mask", [0o022, 0o002, 0o077])
def test_atomic_write_gets_the_mode_of_a_plain_open(tmp_path, umask, mask):
    """mkstemp creates 0o600 files; results must be readable like any file the user writes."""
    umask(mask)
    assert current_umask() == mask
    write_json(tmp_path / "out.json", {"a": 1})
    (tmp_path / "plain.txt").write_text("x")
    mode = stat.S_IMODE((tmp_path / "out.json").stat().st_mode)
    assert mode == 0o666 & ~mask == stat.S_IMODE((tmp_path / "plain.txt").stat().st_mode)


def test_failed_block_leaves_nothing(tmp_path):
    target = tmp_path / "sub" / "out.txt"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("partial")
            raise RuntimeError("boom")
    assert not target.exists() and list(target.parent.iterdir()) == []


def test_seed_everything_turns_deterministic_algorithms_on_without_importing_inductor():
    import subprocess
    import sys

    code = ("import sys, torch; from balenas.runtime import seed_everything; seed_everything(0); "
            "print(torch.are_deterministic_algorithms_enabled(), "
            "torch.is_deterministic_algorithms_warn_only_enabled(), 'torch._inductor' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")})
    assert out.stdout.split() == ["True", "True", "False"]


def test_stale_temporary_files_of_a_killed_write_are_removed_on_the_next_write(tmp_path):
    from balenas.runtime import remove_stale_temps

    target = tmp_path / "arch.pt"
    stale = tmp_path / ".arch.pt.ab12_xyz.tmp"
    other = tmp_path / ".arch.pt.json.ab12_xyz.tmp"  # belongs to another file (arch.pt.json)
    stale.write_text("half")
    other.write_text("half")
    write_json(target, {"a": 1})
    assert not stale.exists() and other.exists() and target.exists()
    assert remove_stale_temps(tmp_path / "arch.pt.json") == [other]


def test_torch_save_gives_the_same_bytes_for_different_file_names(tmp_path):
    import torch

    from balenas.runtime import torch_save

    obj = {"x": torch.arange(4.0), "name": "n"}
    torch_save(obj, tmp_path / "a.pt")
    torch_save(obj, tmp_path / "sub" / "b.pt")
    assert (tmp_path / "a.pt").read_bytes() == (tmp_path / "sub" / "b.pt").read_bytes()
    assert torch.equal(torch.load(tmp_path / "a.pt", weights_only=True)["x"], obj["x"])


def test_kill_before_rename_leaves_the_old_file_and_the_next_write_cleans_up(tmp_path):
    import subprocess
    import sys

    target = tmp_path / "out.json"
    write_json(target, {"v": 1})
    code = f"from balenas.runtime import write_json; write_json({str(target)!r}, {{'v': 2}})"
    for point in ("write:out.json", "rename:out.json"):
        env = {**os.environ, "BALENAS_KILL_AT": point, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
        proc = subprocess.run([sys.executable, "-c", code], env=env)
        assert proc.returncode == -9, point
        assert json.loads(target.read_text()) == {"v": 1}  # the old file, whole
        assert len(list(tmp_path.glob(".out.json.*.tmp"))) == 1
        write_json(target, {"v": 1})
        assert not list(tmp_path.glob(".out.json.*.tmp"))
