"""ResNet backbones whose parameter names match torchvision's, so ImageNet weights load unchanged.

The module tree mirrors torchvision's ``ResNet`` (``conv1``, ``bn1``, ``layer1..layer4`` of
``BasicBlock``/``Bottleneck`` with ``conv1/bn1/conv2/bn2(/conv3/bn3)`` and ``downsample.0/.1``)
minus ``avgpool``/``fc``: a detector only needs the four feature maps C2..C5 (strides 4/8/16/32).

``tiny`` is the same network with narrow stages and one block each, for CPU runs and tests.
"""
from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

import torch
from torch import Tensor, nn


def _conv3x3(c_in: int, c_out: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, kernel_size=3, stride=stride, padding=1, bias=False)


def _conv1x1(c_in: int, c_out: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """Two 3x3 convs with a residual (ResNet-18/34); output has ``planes`` channels."""

    expansion = 1

    def __init__(self, c_in: int, planes: int, stride: int = 1, downsample: nn.Module | None = None):
        super().__init__()
        self.conv1 = _conv3x3(c_in, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = _conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """1x1 -> 3x3 (strided, the torchvision "V1.5" placement) -> 1x1 with a residual (ResNet-50+)."""

    expansion = 4

    def __init__(self, c_in: int, planes: int, stride: int = 1, downsample: nn.Module | None = None):
        super().__init__()
        self.conv1 = _conv1x1(c_in, planes)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = _conv3x3(planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = _conv1x1(planes, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class ResNet(nn.Module):
    """ResNet feature extractor: ``forward(x (B,3,H,W)) -> [C2, C3, C4, C5]`` at strides 4, 8, 16, 32.

    ``out_channels`` lists the channel count of each returned map (what a neck is built from).
    """

    def __init__(
        self,
        block: type[BasicBlock] | type[Bottleneck],
        depths: tuple[int, int, int, int],
        widths: tuple[int, int, int, int] = (64, 128, 256, 512),
        stem: int = 64,
    ):
        super().__init__()
        self.conv1 = nn.Conv2d(3, stem, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(stem)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        c_in = stem
        stages = []
        for i, (depth, planes) in enumerate(zip(depths, widths)):
            stages.append(self._make_stage(block, c_in, planes, depth, stride=1 if i == 0 else 2))
            c_in = planes * block.expansion
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.out_channels = [w * block.expansion for w in widths]
        self._init_weights()

    @staticmethod
    def _make_stage(block, c_in: int, planes: int, depth: int, stride: int) -> nn.Sequential:
        c_out = planes * block.expansion
        downsample = None
        if stride != 1 or c_in != c_out:
            downsample = nn.Sequential(_conv1x1(c_in, c_out, stride), nn.BatchNorm2d(c_out))
        blocks = [block(c_in, planes, stride, downsample)]
        blocks += [block(c_out, planes) for _ in range(1, depth)]
        return nn.Sequential(*blocks)

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: Tensor) -> list[Tensor]:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))  # (B, stem, H/4, W/4)
        c2 = self.layer1(x)
        c3 = self.layer2(c2)
        c4 = self.layer3(c3)
        c5 = self.layer4(c4)
        return [c2, c3, c4, c5]


def resnet18() -> ResNet:
    """ResNet-18 (torchvision layout, no fc)."""
    return ResNet(BasicBlock, (2, 2, 2, 2))


def resnet50() -> ResNet:
    """ResNet-50 (torchvision layout, no fc)."""
    return ResNet(Bottleneck, (3, 4, 6, 3))


def tiny() -> ResNet:
    """A ~80k-parameter ResNet (one BasicBlock per stage, widths 8/16/32/64) for CPU runs and tests."""
    return ResNet(BasicBlock, (1, 1, 1, 1), widths=(8, 16, 32, 64), stem=8)


def read_state_dict(init: str) -> dict[str, Tensor]:
    """Read a torchvision-format state dict from an http(s) URL (cached by torch.hub), a ``file://``
    URI or a local path. Only tensors are unpickled (``weights_only=True``)."""
    scheme = urlparse(init).scheme
    if scheme in ("http", "https"):
        return torch.hub.load_state_dict_from_url(init, map_location="cpu", weights_only=True)
    path = Path(url2pathname(urlparse(init).path)) if scheme == "file" else Path(init)
    if not path.is_file():
        raise FileNotFoundError(f"backbone.init: no weights file at {path}")
    return torch.load(path, map_location="cpu", weights_only=True)


def load_backbone_weights(backbone: nn.Module, init: str) -> None:
    """Load ImageNet weights named as torchvision names them into ``backbone``, strictly.

    ``fc.*`` (the classifier) is dropped. BatchNorm ``num_batches_tracked`` buffers, absent from the
    oldest torchvision files, are filled with the backbone's own values. Any other missing or
    unexpected key is an error naming ``init``.
    """
    state = read_state_dict(init)
    if not isinstance(state, dict):
        raise ValueError(f"backbone.init: {init} does not hold a state dict (got {type(state).__name__})")
    state = {k: v for k, v in state.items() if not k.startswith("fc.")}
    for name, buf in backbone.state_dict().items():
        if name.endswith("num_batches_tracked") and name not in state:
            state[name] = buf
    missing, unexpected = _key_mismatch(backbone, state)
    if missing or unexpected:
        raise ValueError(
            f"backbone.init: {init} does not match the backbone: "
            f"missing {missing[:8]}{'...' if len(missing) > 8 else ''}, "
            f"unexpected {unexpected[:8]}{'...' if len(unexpected) > 8 else ''}"
        )
    backbone.load_state_dict(state, strict=True)


def _key_mismatch(module: nn.Module, state: dict[str, Tensor]) -> tuple[list[str], list[str]]:
    """Missing and unexpected keys, plus shape mismatches reported as missing with their shapes."""
    own = module.state_dict()
    missing = sorted(k for k in own if k not in state)
    unexpected = sorted(k for k in state if k not in own)
    missing += [
        f"{k} (shape {tuple(state[k].shape)} != {tuple(v.shape)})"
        for k, v in own.items()
        if k in state and tuple(state[k].shape) != tuple(v.shape)
    ]
    return missing, unexpected
