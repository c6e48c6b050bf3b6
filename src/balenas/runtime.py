"""Seeding, threads, devices, provenance and atomic file writing: one place for each."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import platform
import random
import sys
import re
import signal
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

import balenas


def seed_everything(seed: int) -> None:
    """The one seeding function: python, numpy and torch, with deterministic algorithms on."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    deterministic_algorithms()
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True


def deterministic_algorithms() -> None:
    """``torch.use_deterministic_algorithms(True, warn_only=True)`` without its import of torch._inductor.

    The public call imports ``torch._inductor.config`` only to set inductor's own flag; that import costs
    2-3 s of CPU in every job process (measured: 3.2 s -> 5.5 s user time for ``import torch`` alone vs.
    with the call), and nothing on the CPU path compiles. When inductor is already loaded (a compiled GPU
    path), the public call sets both flags.
    """
    if "torch._inductor.config" in sys.modules:
        torch.use_deterministic_algorithms(True, warn_only=True)
    else:
        torch._C._set_deterministic_algorithms(True, warn_only=True)


def derived_generator(*keys: int) -> torch.Generator:
    """A CPU generator seeded from a tuple of integers (e.g. ``(seed, epoch, stream)``).

    Per-epoch streams make a run resumed at an epoch boundary draw exactly the same numbers as an
    uninterrupted one, without saving generator states.
    """
    digest = hashlib.sha256(",".join(str(int(k)) for k in keys).encode()).digest()
    gen = torch.Generator()
    gen.manual_seed(int.from_bytes(digest[:8], "little") & (2**63 - 1))
    return gen


def prepend_pythonpath(path: str) -> None:
    """Put ``path`` first on PYTHONPATH so that jobs' scripts import this checkout's package."""
    parts = [path, *(p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != path)]
    os.environ["PYTHONPATH"] = os.pathsep.join(parts)


def set_threads(threads: int) -> None:
    """Give torch exactly the cores Snakemake granted this job (2 processes share a 2-core box)."""
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    torch.set_num_threads(threads)
    os.environ["OMP_NUM_THREADS"] = str(threads)


DEVICE_CHOICES = ("cpu", "cuda", "auto")


def resolve_device(name: str) -> torch.device:
    """``cpu``, ``cuda`` (error if absent) or ``auto`` (cuda when available)."""
    if name not in DEVICE_CHOICES:
        raise ValueError(f"device must be one of {', '.join(DEVICE_CHOICES)}, got {name!r}")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' requested but torch.cuda.is_available() is False")
    return torch.device(name)


def environment_info(device: torch.device) -> dict[str, Any]:
    """Library versions, device and threads, recorded in every metrics file."""
    info: dict[str, Any] = {
        "balenas": balenas.__version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "platform": platform.platform(),
        "device": str(device),
        "torch_threads": torch.get_num_threads(),
    }
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
        info["cuda"] = torch.version.cuda
    return info


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


PACKAGE_ROOT = Path(__file__).resolve().parent


def code_hash(parts: list[str], root: Path = PACKAGE_ROOT) -> str:
    """Hash of the package sources a stage depends on (files or subpackages relative to ``root``).

    Snakemake judges scripts by modification time and does not see edits to an imported package; a
    rule parameter holding this hash makes such edits rerun the rule and everything after it.
    """
    digest = hashlib.sha256()
    for part in sorted(parts):
        path = root / part
        if not path.exists():
            raise FileNotFoundError(f"code_hash: {path} does not exist")
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        for file in files:
            digest.update(str(file.relative_to(root)).encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def current_umask() -> int:
    """The process umask: from /proc on Linux, else by setting and at once restoring it."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_path(path: str | Path, directory: bool = False) -> None:
    """Flush ``path`` (a file, or a directory's entries) to the disk; a no-op where the OS refuses."""
    flags = os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some filesystems cannot fsync a directory
        pass
    finally:
        os.close(fd)


def _temp_pattern(name: str) -> re.Pattern[str]:
    """Names mkstemp gives the temporary files of ``name`` (``.<name>.<8 random chars>.tmp``)."""
    return re.compile(rf"^\.{re.escape(name)}\.[A-Za-z0-9_]{{8}}\.tmp$")


def remove_stale_temps(path: str | Path) -> list[Path]:
    """Delete temporary files a killed write of ``path`` left beside it; the paths removed."""
    path = Path(path)
    if not path.parent.is_dir():
        return []
    pattern = _temp_pattern(path.name)
    removed = []
    for entry in path.parent.iterdir():
        if pattern.match(entry.name):
            with contextlib.suppress(FileNotFoundError):
                entry.unlink()
                removed.append(entry)
    return removed


#: Fault injection for tests (issue 16): a process whose environment sets BALENAS_KILL_AT to the name of
#: a fault point kills itself with SIGKILL when it reaches that point (its N-th time with ``name@N``).
KILL_AT_ENV = "BALENAS_KILL_AT"
_fault_hits: dict[str, int] = {}


def fault_point(name: str) -> None:
    """SIGKILL this process here when BALENAS_KILL_AT names this point (tests only; a no-op otherwise).

    Points: ``write:<file name>`` (half the bytes of a temporary file written), ``rename:<file name>``
    (the temporary file complete and synced, not yet renamed), ``search:epoch-<e>:step-<s>`` (before
    that step of the search), ``score:candidate-<i>`` (before a proxy scores candidate i).
    """
    target = os.environ.get(KILL_AT_ENV)
    if not target:
        return
    want, _, nth = target.partition("@")
    if want != name:
        return
    _fault_hits[name] = _fault_hits.get(name, 0) + 1
    if _fault_hits[name] >= int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it into place only if the block succeeds.

    Durable: the temporary file is fsync'ed before the rename and the directory after it, so a crash
    leaves either the old file or the complete new one. Temporary files that an earlier, killed write of
    ``path`` left behind are removed first. The file gets the mode a plain ``open(path, "w")`` would give
    (0o666 less the umask), not mkstemp's private 0o600, so results stay readable to the group on a
    shared cluster.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~current_umask())
        _fsync_path(tmp)
        fault_point(f"rename:{path.name}")
        os.replace(tmp, path)
        _fsync_path(path.parent, directory=True)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically and durably."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            half = len(data) // 2
            fh.write(data[:half])
            if os.environ.get(KILL_AT_ENV):
                fh.flush()
                fault_point(f"write:{Path(path).name}")
            fh.write(data[half:])


def write_json(path: str | Path, data: Mapping[str, Any]) -> None:
    write_bytes(path, (json.dumps(data, indent=2, sort_keys=True, default=_json_default) + "\n").encode())


def _json_default(obj: Any) -> Any:
    if isinstance(obj, (np.integer, np.floating)):
        return obj.item()
    if isinstance(obj, (Path, torch.device)):
        return str(obj)
    if isinstance(obj, tuple):
        return list(obj)
    raise TypeError(f"cannot serialise {type(obj).__name__} to JSON")


def torch_bytes(obj: Any) -> bytes:
    """``torch.save`` of ``obj`` into memory: the archive's internal name is fixed (``archive``), not
    derived from a temporary file name, so the same object always gives the same bytes."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def torch_save(obj: Any, path: str | Path) -> None:
    """Save ``obj`` (plain tensors, dicts, lists, str, int, float: loadable with ``weights_only=True``)."""
    write_bytes(path, torch_bytes(obj))
