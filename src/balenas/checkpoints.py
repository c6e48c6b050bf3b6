"""Checkpoints that carry their own checksum and load without unpickling code.

A checkpoint file is one header line ``BALENAS-CHECKPOINT 1 <sha256 of the payload>\\n`` followed by the
payload, ``torch.save`` of plain tensors, dicts, lists, str, int, float and None (written through an
in-memory buffer, so the same state gives the same bytes). :func:`read_checkpoint` checks the header and
the checksum and loads the payload with ``weights_only=True``: a truncated, corrupted or foreign file is
reported as a warning and treated as absent, so the job starts from scratch instead of resuming from
garbage, and a file planted by someone else cannot run code.
"""

from __future__ import annotations

import hashlib
import io
import logging
from pathlib import Path
from typing import Any

import torch

from balenas.runtime import torch_bytes, write_bytes

log = logging.getLogger(__name__)

MAGIC = b"BALENAS-CHECKPOINT 1 "


class CorruptCheckpoint(ValueError):
    """A checkpoint file whose header or checksum does not match its payload."""


def checkpoint_bytes(obj: Any) -> bytes:
    payload = torch_bytes(obj)
    return MAGIC + hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload


def write_checkpoint(obj: Any, path: str | Path) -> None:
    """Write ``obj`` with its checksum, atomically and durably."""
    write_bytes(path, checkpoint_bytes(obj))


def decode_checkpoint(blob: bytes, source: str = "checkpoint") -> Any:
    """The object in ``blob``; :class:`CorruptCheckpoint` naming ``source`` and what is wrong."""
    if not blob.startswith(MAGIC):
        raise CorruptCheckpoint(f"{source}: no {MAGIC.decode().strip()!r} header (not a balenas checkpoint)")
    header, sep, payload = blob[len(MAGIC):].partition(b"\n")
    if not sep:
        raise CorruptCheckpoint(f"{source}: truncated inside the header")
    digest = hashlib.sha256(payload).hexdigest()
    if header.decode(errors="replace") != digest:
        raise CorruptCheckpoint(f"{source}: checksum mismatch ({len(payload)} payload bytes; truncated or corrupted)")
    try:
        return torch.load(io.BytesIO(payload), map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any unpickling failure means: do not resume
        raise CorruptCheckpoint(f"{source}: payload does not load with weights_only=True ({err})") from err


def read_checkpoint(path: str | Path | None) -> Any | None:
    """The checkpoint at ``path``, or None (absent; or corrupt, with a warning: the job starts afresh)."""
    if path is None or not Path(path).exists():
        return None
    try:
        return decode_checkpoint(Path(path).read_bytes(), str(path))
    except (OSError, CorruptCheckpoint) as err:
        log.warning("ignoring checkpoint %s and starting from scratch: %s", path, err)
        return None
