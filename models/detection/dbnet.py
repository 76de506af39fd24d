"""DBNet (Real-time Scene Text Detection with Differentiable Binarization, Liao et al. 2020).

detector = backbone (C2..C5) -> FPN neck (stride-4 fused map) -> DB head, which predicts
- ``prob``:   the shrunk-text probability map P,
- ``thresh``: the adaptive threshold map T,
- ``binary``: the approximate binary map B = sigmoid(k * (P - T)),
each (B, 1, H, W) at the input resolution. Only ``prob`` is needed at inference (see
``models.detection.db_postprocess``); the other two exist for the loss.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from models.fpn import FPN


def _upsampling_branch(c_in: int) -> nn.Sequential:
    """3x3 conv then two stride-2 transposed convs: (B, c_in, H/4, W/4) -> (B, 1, H, W) in [0, 1]."""
    mid = max(c_in // 4, 1)
    return nn.Sequential(
        nn.Conv2d(c_in, mid, 3, padding=1, bias=False),
        nn.BatchNorm2d(mid),
        nn.ReLU(inplace=True),
        nn.ConvTranspose2d(mid, mid, 2, stride=2),
        nn.BatchNorm2d(mid),
        nn.ReLU(inplace=True),
        nn.ConvTranspose2d(mid, 1, 2, stride=2),
        nn.Sigmoid(),
    )


class DBHead(nn.Module):
    """Probability and threshold branches plus the differentiable binarization step."""

    def __init__(self, c_in: int, k: float = 50.0):
        super().__init__()
        self.k = k
        self.prob = _upsampling_branch(c_in)
        self.thresh = _upsampling_branch(c_in)

    def forward(self, fused: Tensor, out_size: tuple[int, int]) -> dict[str, Tensor]:
        prob = _resize_to(self.prob(fused), out_size)  # (B, 1, H, W)
        thresh = _resize_to(self.thresh(fused), out_size)  # (B, 1, H, W)
        binary = torch.sigmoid(self.k * (prob - thresh))
        return {"prob": prob, "thresh": thresh, "binary": binary}


def _resize_to(x: Tensor, size: tuple[int, int]) -> Tensor:
    # The head gives 4 * ceil(H/4) rows: equal to H whenever H is a multiple of 4.
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


class DBNet(nn.Module):
    """``forward(images (B,3,H,W) normalised float) -> {"prob", "thresh", "binary"}`` each (B,1,H,W)."""

    def __init__(self, backbone: nn.Module, neck_channels: int = 256, k: float = 50.0):
        super().__init__()
        self.backbone = backbone
        self.neck = FPN(backbone.out_channels, neck_channels)
        self.head = DBHead(self.neck.out_channels, k=k)

    def forward(self, images: Tensor) -> dict[str, Tensor]:
        if images.dim() != 4 or images.shape[1] != 3:
            raise ValueError(f"DBNet expects images of shape (B, 3, H, W), got {tuple(images.shape)}")
        fused = self.neck(self.backbone(images))  # (B, neck_channels, H/4, W/4)
        return self.head(fused, (images.shape[-2], images.shape[-1]))
