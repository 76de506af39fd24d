"""Fixed sinusoidal position encodings (no weights, so any width of crop or length of word works)."""
from __future__ import annotations

import math

import torch


def sinusoid_1d(length: int, dim: int, device=None) -> torch.Tensor:
    """(length, dim) encoding: sin on even channels, cos on odd ones, wavelengths up to 10000."""
    position = torch.arange(length, dtype=torch.float32, device=device)[:, None]
    freq = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32, device=device) * (-math.log(10000.0) / dim))
    out = torch.zeros(length, dim, device=device)
    out[:, 0::2] = torch.sin(position * freq)
    out[:, 1::2] = torch.cos(position * freq)[:, : dim // 2]
    return out


def sinusoid_2d(height: int, width: int, dim: int, device=None) -> torch.Tensor:
    """(dim, height, width) encoding: the first half of the channels encodes the row, the rest the column."""
    rows = sinusoid_1d(height, dim // 2, device)  # (h, dim/2)
    cols = sinusoid_1d(width, dim - dim // 2, device)  # (w, dim - dim/2)
    return torch.cat([rows.T[:, :, None].expand(-1, -1, width), cols.T[:, None, :].expand(-1, height, -1)], 0)
