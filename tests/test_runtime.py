"""Atomic writes: all or nothing, with the permissions of an ordinary file."""

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
