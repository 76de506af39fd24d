"""CRNN: a convolutional feature extractor, stacked bidirectional LSTMs and a per-column classifier (CTC).

Shapes, for an input of (B, 3, H, W) ImageNet-normalised RGB (or 1 grey channel inside, ``gray``):

    cnn        (B, c, H/16 - 1, W/4 - 1)   both backbones: height /16 then a 2x2 valid conv, width /4 then it
    pool       (B, T, c)                   mean over the remaining rows; T = W/4 - 1 columns, left to right
    sequence   (B, T, hidden)              ``layers`` blocks: BiLSTM (hidden per direction) + Linear(2 hidden, hidden)
    classifier (B, T, num_classes)         class 0 = the CTC blank, 1..size the charset's ids

The VGG-style extractor has the layer sequence and channel widths (c/8, c/4, c/2, c, c) of the recognizer in
EasyOCR (``english_g2``: 1 grey input channel, c = 256, hidden 256, 2 blocks), with the same index for every
layer of ``cnn`` and the same ``rnn`` / ``linear`` names inside each sequence block, so such a state dict
loads after renaming its prefixes (``EASYOCR_PREFIXES``). Its grey input there is ``(gray / 255 - 0.5) / 0.5``,
which ``gray=True`` reproduces from the normalised RGB every task's loop gives.

The ResNet-style extractor is a small residual network with the same strides (so the same T), for
stronger features at the same sequence length.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

# ImageNet statistics (what ``normalise`` used), to undo it for the grey input
_MEAN = (0.485, 0.456, 0.406)
_STD = (0.229, 0.224, 0.225)
_LUMA = (0.299, 0.587, 0.114)  # ITU-R BT.601, as cv2's RGB -> grey

# An EasyOCR recognizer's state-dict prefix -> this module's (after stripping DataParallel's "module.")
EASYOCR_PREFIXES = {"FeatureExtraction.ConvNet.": "cnn.", "SequenceModeling.": "sequence.",
                    "Prediction.": "classifier."}


def vgg_extractor(in_channels: int, channels: int) -> nn.Sequential:
    """(B, in, H, W) -> (B, channels, H/16 - 1, W/4 - 1): convs of c/8, c/4, c/2 (x2), c (x2, batch-normed),
    max-pooling 2x2 twice then 2x1 twice (height shrinks faster, keeping columns for CTC), a 2x2 valid conv."""
    c1, c2, c3, c4 = channels // 8, channels // 4, channels // 2, channels

    def conv(cin: int, cout: int, norm: bool = False) -> list[nn.Module]:
        if norm:
            return [nn.Conv2d(cin, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(True)]
        return [nn.Conv2d(cin, cout, 3, 1, 1), nn.ReLU(True)]

    return nn.Sequential(
        *conv(in_channels, c1), nn.MaxPool2d(2, 2),
        *conv(c1, c2), nn.MaxPool2d(2, 2),
        *conv(c2, c3), *conv(c3, c3), nn.MaxPool2d((2, 1), (2, 1)),
        *conv(c3, c4, norm=True), *conv(c4, c4, norm=True), nn.MaxPool2d((2, 1), (2, 1)),
        nn.Conv2d(c4, c4, 2, 1, 0), nn.ReLU(True))


class BasicBlock(nn.Module):
    """Two 3x3 conv-BN layers with an identity (or 1x1 projection) shortcut; stride 1."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = (nn.Identity() if cin == cout else
                         nn.Sequential(nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


def resnet_extractor(in_channels: int, channels: int, blocks: Sequence[int]) -> nn.Sequential:
    """(B, in, H, W) -> (B, channels, H/16 - 1, W/4 - 1): a stride-2 conv stem of c/8 (no full-resolution
    layer: it costs the most and sees the least), then four stages of ``blocks`` basic blocks (c/4, c/2,
    c, c), the last three each after a max-pool (2x2, 2x1, 2x1), then a 2x2 valid conv."""
    widths = (channels // 4, channels // 2, channels, channels)
    pools = (None, (2, 2), (2, 1), (2, 1))  # the stem already halved both sides
    stem = channels // 8
    layers: list[nn.Module] = [nn.Conv2d(in_channels, stem, 3, 2, 1, bias=False), nn.BatchNorm2d(stem),
                               nn.ReLU(True)]
    cin = stem
    for width, pool, count in zip(widths, pools, blocks):
        if pool is not None:
            layers.append(nn.MaxPool2d(pool, pool))
        for _ in range(count):
            layers.append(BasicBlock(cin, width))
            cin = width
    layers += [nn.Conv2d(cin, channels, 2, 1, 0, bias=False), nn.BatchNorm2d(channels), nn.ReLU(True)]
    return nn.Sequential(*layers)


class BiLSTM(nn.Module):
    """(B, T, in) -> (B, T, out): a bidirectional LSTM of ``hidden`` units per direction, then a linear map."""

    def __init__(self, in_size: int, hidden: int, out_size: int):
        super().__init__()
        self.rnn = nn.LSTM(in_size, hidden, bidirectional=True, batch_first=True)
        self.linear = nn.Linear(2 * hidden, out_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.rnn.flatten_parameters()  # weights contiguous again after a device move or DDP replication
        return self.linear(self.rnn(x)[0])


class CRNN(nn.Module):
    """The network; ``forward(images, targets=None) -> {"logits": (B, T, num_classes)}``."""

    def __init__(self, num_classes: int, backbone: str = "vgg", channels: int = 256, hidden: int = 256,
                 layers: int = 2, gray: bool = False, blocks: Sequence[int] = (1, 2, 5, 3)):
        super().__init__()
        self.gray = gray
        in_channels = 1 if gray else 3
        if backbone == "vgg":
            self.cnn = vgg_extractor(in_channels, channels)
        elif backbone == "resnet":
            self.cnn = resnet_extractor(in_channels, channels, blocks)
        else:
            raise ValueError(f"unknown CRNN backbone {backbone!r}; valid: resnet, vgg")
        self.sequence = nn.Sequential(*[BiLSTM(channels if k == 0 else hidden, hidden, hidden)
                                        for k in range(layers)])
        self.classifier = nn.Linear(hidden, num_classes)
        self.register_buffer("_mean", torch.tensor(_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("_std", torch.tensor(_STD).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("_luma", torch.tensor(_LUMA).view(1, 3, 1, 1), persistent=False)

    def to_gray(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) ImageNet-normalised RGB -> (B, 1, H, W) grey in [-1, 1]."""
        rgb = images * self._std + self._mean  # back to 0..1
        return ((rgb * self._luma).sum(dim=1, keepdim=True) - 0.5) / 0.5

    def forward(self, images: torch.Tensor, targets: dict | None = None) -> dict[str, torch.Tensor]:
        x = self.to_gray(images) if self.gray else images
        features = self.cnn(x)  # (B, c, h, T)
        columns = features.mean(dim=2).permute(0, 2, 1)  # (B, T, c): each column's rows averaged
        return {"logits": self.classifier(self.sequence(columns))}
