"""A small ResNet-style CNN for word crops, shared by the ``attention`` and ``binet`` recognizers.

Word crops are short and wide, so the encoder halves the height more often than the width: a
``(B, 3, H, W)`` crop becomes a ``(B, C, H / 2**len(strides_h), W / 2**len(strides_w))`` feature map
(``stride`` per stage as ``(sh, sw)``). Plain torch (torchvision is unusable here).
"""
from __future__ import annotations

import torch
from torch import nn


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with a shortcut (a 1x1 projection when shape or stride changes)."""

    def __init__(self, cin: int, cout: int, stride: tuple[int, int]):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Identity()
        if cin != cout or stride != (1, 1):
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class ResNetEncoder(nn.Module):
    """Stem (3x3 conv) then one stage of ``blocks[i]`` BasicBlocks per entry of ``channels``.

    ``strides[i]`` is the (height, width) stride of stage i's first block.
    """

    def __init__(self, channels: list[int], blocks: list[int], strides: list[tuple[int, int]]):
        super().__init__()
        if not (len(channels) == len(blocks) == len(strides)):
            raise ValueError(f"encoder: channels {channels}, blocks {blocks} and strides {strides} differ in length")
        stem = channels[0] // 2 or 1
        self.stem = nn.Sequential(nn.Conv2d(3, stem, 3, 1, 1, bias=False), nn.BatchNorm2d(stem), nn.ReLU())
        stages, cin = [], stem
        for cout, count, stride in zip(channels, blocks, strides):
            layers = [BasicBlock(cin, cout, tuple(stride))]
            layers += [BasicBlock(cout, cout, (1, 1)) for _ in range(count - 1)]
            stages.append(nn.Sequential(*layers))
            cin = cout
        self.stages = nn.Sequential(*stages)
        self.out_channels = cin

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) -> (B, C, h, w)."""
        return self.stages(self.stem(images))
