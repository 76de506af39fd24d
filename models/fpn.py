"""Feature pyramid neck: fuses C2..C5 into one stride-4 map, the DBNet way.

Each level is projected to ``channels`` (1x1 lateral), merged top-down (upsample + add), reduced to
``channels // 4`` by a 3x3 conv, upsampled to the stride-4 size and concatenated, so the output has
``channels`` channels at H/4 x W/4.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class FPN(nn.Module):
    """``forward([C2, C3, C4, C5]) -> (B, channels, H/4, W/4)``."""

    def __init__(self, in_channels: list[int], channels: int = 256):
        super().__init__()
        if channels % 4:
            raise ValueError(f"neck.channels must be a multiple of 4, got {channels}")
        self.lateral = nn.ModuleList(nn.Conv2d(c, channels, 1, bias=False) for c in in_channels)
        self.smooth = nn.ModuleList(
            nn.Conv2d(channels, channels // 4, 3, padding=1, bias=False) for _ in in_channels
        )
        self.out_channels = channels // 4 * len(in_channels)

    def forward(self, feats: list[Tensor]) -> Tensor:
        laterals = [conv(f) for conv, f in zip(self.lateral, feats)]
        # Top-down: sizes are matched explicitly so inputs that are not multiples of 32 work.
        for i in range(len(laterals) - 1, 0, -1):
            laterals[i - 1] = laterals[i - 1] + F.interpolate(
                laterals[i], size=laterals[i - 1].shape[-2:], mode="nearest"
            )
        size = laterals[0].shape[-2:]
        outs = [
            F.interpolate(conv(lat), size=size, mode="nearest") if i else conv(lat)
            for i, (conv, lat) in enumerate(zip(self.smooth, laterals))
        ]
        return torch.cat(outs[::-1], dim=1)  # coarse-to-fine order, as DBNet concatenates
