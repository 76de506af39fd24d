"""CRAFT (Character Region Awareness for Text Detection, Baek et al. 2019): the network.

A VGG16-BN encoder cut into five slices and a U-Net decoder that predicts, at half the input resolution,
- ``region``:   how close each pixel is to a character centre (a Gaussian per character when trained),
- ``affinity``: how close it is to the gap between two neighbouring characters of the same word,
both (B, 1, H/2, W/2) raw regression outputs (no sigmoid: the public weights were trained that way).
Words are the connected components of the two maps together (``models.detection.craft_postprocess``).

Encoder slices, as (torchvision VGG16-BN ``features`` index range -> output stride, channels):
  slice1 0-11 -> /2, 128    slice2 12-18 -> /4, 256    slice3 19-28 -> /8, 512
  slice4 29-38 -> /16, 512  slice5 maxpool(3, 1, 1) + dilated conv + 1x1 conv -> /16, 1024
Each of slices 1-4 ends on a BatchNorm, and slices 2-4 start with the ReLU that follows it. In the
original implementation that ReLU runs in place, so the skip features saved after slices 1, 2 and 3
are rectified as well; the feature after slice 4 feeds slice 5 (which starts with a max-pool, not a
ReLU) and stays un-rectified. ``forward`` reproduces exactly that with explicit ``relu`` calls (no
in-place aliasing), so the public weights see the inputs they were trained on.

``width`` scales every channel count (1.0: the public weights' shapes) for a CPU-sized variant.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

# VGG16-BN "features" layout: channel counts of the convs, "M" for a 2x2 max-pool.
_VGG16 = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512)
_SLICE_ENDS = (12, 19, 29, 39)  # slice k holds features[start:end] (start: the previous end)


def _scaled(channels: int, width: float) -> int:
    return max(4, int(round(channels * width)))


def _vgg16_bn_features(width: float) -> list[nn.Module]:
    """The layers of torchvision's VGG16-BN ``features`` up to conv5_3's BatchNorm (index 38), with the
    same indices (so the public keys ``slice4.30.weight`` etc. map one to one)."""
    layers: list[nn.Module] = []
    c_in = 3
    for item in _VGG16:
        if item == "M":
            layers.append(nn.MaxPool2d(2, 2))
            continue
        c_out = _scaled(item, width)
        layers += [nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU()]
        c_in = c_out
    return layers[:_SLICE_ENDS[-1]]  # drop conv5_3's ReLU: in the original it belongs to no slice


class _Slice(nn.Sequential):
    """A run of VGG layers keeping their ``features`` indices as child names (``slice3.24`` is layer 24)."""

    def __init__(self, layers: list[nn.Module], first: int):
        super().__init__()
        for offset, layer in enumerate(layers):
            self.add_module(str(first + offset), layer)


class Encoder(nn.Module):
    """VGG16-BN in five slices; ``forward`` returns the features the decoder needs, deepest first."""

    def __init__(self, width: float = 1.0):
        super().__init__()
        layers = _vgg16_bn_features(width)
        starts = (0, *_SLICE_ENDS[:-1])
        self.slice1, self.slice2, self.slice3, self.slice4 = (
            _Slice(layers[a:b], a) for a, b in zip(starts, _SLICE_ENDS))
        c4, c5 = _scaled(512, width), _scaled(1024, width)
        self.slice5 = nn.Sequential(
            nn.MaxPool2d(3, stride=1, padding=1),
            nn.Conv2d(c4, c5, 3, padding=6, dilation=6),
            nn.Conv2d(c5, c5, 1),
        )
        self.channels = (c5, c4, c4, _scaled(256, width), _scaled(128, width))

    def forward(self, x: Tensor) -> tuple[Tensor, ...]:
        s1 = self.slice1(x)  # (B, 128, H/2, W/2), a BatchNorm output
        s2 = self.slice2(s1)  # (B, 256, H/4, W/4); slice2 begins with ReLU(s1)
        s3 = self.slice3(s2)  # (B, 512, H/8, W/8)
        s4 = self.slice4(s3)  # (B, 512, H/16, W/16)
        s5 = self.slice5(s4)  # (B, 1024, H/16, W/16)
        # The original's in-place ReLUs rectify s1, s2, s3 (the next slice starts with one); s4 is not.
        return s5, s4, F.relu(s3), F.relu(s2), F.relu(s1)


class DoubleConv(nn.Module):
    """The decoder block: 1x1 conv (c_in -> mid) + BN + ReLU, 3x3 conv (mid -> c_out) + BN + ReLU."""

    def __init__(self, c_in: int, mid: int, c_out: int):
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(c_in, mid, 1), nn.BatchNorm2d(mid), nn.ReLU(),
            nn.Conv2d(mid, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(x)


def _head(width: float) -> nn.Sequential:
    """32 -> 32 -> 32 -> 16 -> 16 -> 2 channels (3x3, 3x3, 3x3, 1x1 convs with ReLUs, then a 1x1)."""
    c32, c16 = _scaled(32, width), _scaled(16, width)
    return nn.Sequential(
        nn.Conv2d(c32, c32, 3, padding=1), nn.ReLU(),
        nn.Conv2d(c32, c32, 3, padding=1), nn.ReLU(),
        nn.Conv2d(c32, c16, 3, padding=1), nn.ReLU(),
        nn.Conv2d(c16, c16, 1), nn.ReLU(),
        nn.Conv2d(c16, 2, 1),
    )


class CRAFT(nn.Module):
    """``forward(images (B, 3, H, W) normalised float) -> {"region", "affinity"}``, each (B, 1, H/2, W/2).

    H and W should be multiples of 32 (the predictor pads to that); other sizes work, the maps then
    cover ceil(H/2) x ceil(W/2).
    """

    def __init__(self, width: float = 1.0):
        super().__init__()
        self.basenet = Encoder(width)
        c5, c4, c3, c2, c1 = self.basenet.channels
        d1, d2, d3, d4 = (_scaled(c, width) for c in (256, 128, 64, 32))
        self.upconv1 = DoubleConv(c5 + c4, c4, d1)  # 1024 + 512 -> 512 -> 256
        self.upconv2 = DoubleConv(d1 + c3, d1, d2)  # 512 + 256 -> 256 -> 128
        self.upconv3 = DoubleConv(d2 + c2, d2, d3)  # 256 + 128 -> 128 -> 64
        self.upconv4 = DoubleConv(d3 + c1, d3, d4)  # 128 + 64 -> 64 -> 32
        self.conv_cls = _head(width)

    def forward(self, images: Tensor) -> dict[str, Tensor]:
        if images.dim() != 4 or images.shape[1] != 3:
            raise ValueError(f"CRAFT expects images of shape (B, 3, H, W), got {tuple(images.shape)}")
        s5, s4, s3, s2, s1 = self.basenet(images)
        y = self.upconv1(torch.cat([s5, s4], dim=1))  # (B, 256, H/16, W/16)
        for block, skip in ((self.upconv2, s3), (self.upconv3, s2), (self.upconv4, s1)):
            y = F.interpolate(y, size=skip.shape[2:], mode="bilinear", align_corners=False)
            y = block(torch.cat([y, skip], dim=1))
        scores = self.conv_cls(y)  # (B, 2, H/2, W/2)
        return {"region": scores[:, 0:1], "affinity": scores[:, 1:2]}
