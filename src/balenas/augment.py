"""Batch augmentation as one gather: the same draws and the same bytes as :func:`balenas.data.augment_batch`
(random crop with zero padding, horizontal flip), without one slice per image, so it runs on the device
where the data lives (a handful of kernels per batch instead of one per image)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from balenas.data import DataConfig


def augment_batch_gather(x: torch.Tensor, cfg: DataConfig, generator: torch.Generator) -> torch.Tensor:
    """:func:`balenas.data.augment_batch` with the crop done by advanced indexing (identical output)."""
    if not cfg.augment:
        return x
    n, c, h, w = x.shape
    if cfg.crop_padding > 0:
        p = cfg.crop_padding
        padded = F.pad(x, (p, p, p, p))
        dy = torch.randint(0, 2 * p + 1, (n,), generator=generator).to(x.device)
        dx = torch.randint(0, 2 * p + 1, (n,), generator=generator).to(x.device)
        rows = (dy[:, None] + torch.arange(h, device=x.device))[:, None, :, None]
        cols = (dx[:, None] + torch.arange(w, device=x.device))[:, None, None, :]
        batch = torch.arange(n, device=x.device)[:, None, None, None]
        chans = torch.arange(c, device=x.device)[None, :, None, None]
        x = padded[batch, chans, rows, cols]
    if cfg.flip:
        flip = (torch.rand(n, generator=generator) < 0.5).to(x.device)
        x = torch.where(flip.view(n, 1, 1, 1), x.flip(-1), x)
    return x
