"""GLASS-style end-to-end spotter: one shared backbone detects words and feeds their recognition.

After GLASS (Ronen et al., ECCV 2022): each word is read from the fusion of *global* features, pooled
from the detector's shared map (context, but coarse: stride 4), and *local* features, computed from a
high-resolution, rotation-rectified crop of the input image (detail at any scale and angle). Parts:

    detector   a DBNet (``models.detection.dbnet``): backbone -> FPN -> fused map F (B, C, H/4, W/4)
               -> ``prob`` / ``thresh`` / ``binary`` (B, 1, H, W)
    angle      1x1 convs on F -> (cos, sin) of each text pixel's reading angle, ``angle`` (B, 2, H/4, W/4),
               trained with the periodic, orientation-aware ``angle_loss`` (360-periodic: an upside-down
               reading costs the most)
    global     ``rotated_roi_align`` of each word's rotated box on F -> (K, C, rows, T) -> 1x1 conv to
               the reader's width c, mean over rows -> (K, c, T)
    local      ``rotated_roi_align`` of the same box on the normalised image at the reader's input size
               (height x width, aspect kept and the rest zeroed, as the recognizers are fed) -> the
               reader's CNN (``models.recognition.crnn``) -> mean over rows -> (K, c, T)
    fusion     per column t, attention weights over the two sources from both:
               a_t = softmax(W [g_t; l_t] + b) (2 weights), fused_t = a_t,g g_t + a_t,l l_t; the bias
               starts in favour of the local source, so a reader initialised from a trained recognizer
               starts out reading as that recognizer did
    reader     the reader's BiLSTM blocks and per-column classifier -> ``rec_logits`` (K, T, classes),
               CTC (class 0 = blank)

The detector and the reader are complete ``DBNet`` and ``CRNN`` modules (``self.detector``,
``self.reader``), so a trained detector's or recognizer's state dict loads into them unchanged
(``glass_spec.init_parts``). Words whose box GLASS reads come from the ground truth in training
(``forward(images, targets)``) and from the detections at inference (``read``).

Rotated boxes are ``(cx, cy, w, h, angle)`` in input pixels and degrees (``models.spotting.rotated_roi``).
What is simplified against the paper: the reader is a CTC CRNN (GLASS uses an attention decoder), the
angle is a per-pixel map averaged over a detection (GLASS regresses rotated boxes), and curved words are
read through the rotated box around them.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from models.spotting.rotated_roi import rotated_roi_align

LOCAL_BIAS = 3.0  # initial fusion logit of the local source over the global one (softmax weight ~0.95)


class AttentionFusion(nn.Module):
    """(K, c, T) global and local column features -> (K, c, T): a softmax over the two sources per column."""

    def __init__(self, channels: int):
        super().__init__()
        self.score = nn.Conv1d(2 * channels, 2, 1)
        nn.init.zeros_(self.score.weight)
        with torch.no_grad():
            self.score.bias.copy_(torch.tensor([0.0, LOCAL_BIAS]))  # (global, local)

    def forward(self, global_cols: Tensor, local_cols: Tensor) -> tuple[Tensor, Tensor]:
        weights = self.score(torch.cat([global_cols, local_cols], dim=1)).softmax(dim=1)  # (K, 2, T)
        fused = weights[:, :1] * global_cols + weights[:, 1:] * local_cols
        return fused, weights


class Glass(nn.Module):
    """The spotter; see the module docstring.

    detector: a ``DBNet``; reader: a ``CRNN`` (its ``cnn``, ``sequence`` and ``classifier``); input_size:
    the reader's (height, width); global_rows: rows of each word's pooled global features; new_lr_scale:
    the learning-rate multiplier of the spotter's own parts (``lr_scales``).
    ``forward(images, targets=None)``: the maps (``prob``, ``thresh``, ``binary``, ``angle``) and, with
    targets, ``rec_logits`` of the targets' valid words (``word_boxes`` (B, K, 5), ``word_valid`` (B, K)),
    in row-major (image, slot) order.
    """

    def __init__(self, detector: nn.Module, reader: nn.Module, input_size: tuple[int, int], global_rows: int = 4,
                 new_lr_scale: float = 1.0):
        super().__init__()
        self.new_lr_scale = new_lr_scale
        self.detector = detector
        self.reader = reader
        self.input_size = (int(input_size[0]), int(input_size[1]))
        self.global_rows = global_rows
        neck = detector.neck.out_channels
        channels = _reader_channels(reader)
        self.angle = nn.Sequential(nn.Conv2d(neck, neck, 3, padding=1, bias=False), nn.BatchNorm2d(neck),
                                   nn.ReLU(inplace=True), nn.Conv2d(neck, 2, 1))
        self.global_proj = nn.Sequential(nn.Conv2d(neck, channels, 1, bias=False), nn.BatchNorm2d(channels),
                                         nn.ReLU(inplace=True))
        self.fusion = AttentionFusion(channels)

    def lr_scales(self) -> dict[str, float]:
        """Learning-rate multipliers by parameter prefix (read by the training loop's optimizer): the parts
        only the spotter has start from scratch beside a detector and reader that may be trained already."""
        return {prefix: self.new_lr_scale for prefix in ("angle.", "global_proj.", "fusion.")}

    def features(self, images: Tensor) -> Tensor:
        """(B, 3, H, W) normalised images -> the shared fused map (B, C, H/4, W/4)."""
        return self.detector.neck(self.detector.backbone(images))

    def maps(self, images: Tensor, fused: Tensor) -> dict[str, Tensor]:
        """Detection maps at the input resolution and the reading-angle map at the fused map's."""
        out = self.detector.head(fused, (images.shape[-2], images.shape[-1]))
        out["angle"] = self.angle(fused)  # (B, 2, H/4, W/4): unnormalised (cos, sin)
        return out

    def forward(self, images: Tensor, targets: dict[str, Tensor] | None = None) -> dict[str, Tensor]:
        if images.dim() != 4 or images.shape[1] != 3:
            raise ValueError(f"Glass expects images of shape (B, 3, H, W), got {tuple(images.shape)}")
        fused = self.features(images)
        out = self.maps(images, fused)
        if targets is not None:
            boxes = _valid_boxes(targets["word_boxes"], targets["word_valid"])
            if boxes.shape[0] == 0:
                # No readable word in the batch: read one dummy box so every parameter still takes part
                # in the graph (DDP expects it); the loss gives it weight 0.
                boxes = images.new_tensor([[0.0, 8.0, 8.0, 16.0, 8.0, 0.0]])
            out["rec_logits"] = self.read(images, fused, boxes)
        return out

    def read(self, images: Tensor, fused: Tensor, boxes: Tensor) -> Tensor:
        """(K, T, classes) CTC logits of the words at ``boxes`` (K, 6): (batch index, cx, cy, w, h, angle)."""
        local = self.local_columns(images, boxes)  # (K, c, T)
        pooled = rotated_roi_align(fused, boxes, (self.global_rows, local.shape[-1]), spatial_scale=0.25,
                                   sampling_ratio=2)  # (K, C, rows, T)
        global_cols = self.global_proj(pooled).mean(dim=2)  # (K, c, T)
        fused_cols, _ = self.fusion(global_cols, local)
        return self.reader.classifier(self.reader.sequence(fused_cols.transpose(1, 2)))

    def local_columns(self, images: Tensor, boxes: Tensor) -> Tensor:
        """The reader's CNN on each word's rectified crop -> (K, c, T)."""
        crops = rectified_crops(images, boxes, self.input_size)  # (K, 3, height, width)
        x = self.reader.to_gray(crops) if self.reader.gray else crops
        return self.reader.cnn(x).mean(dim=2)


def rectified_crops(images: Tensor, boxes: Tensor, size: tuple[int, int]) -> Tensor:
    """(K, 3, height, width) upright crops of ``boxes`` (K, 6) off normalised ``images``, read the way
    the recognizers' ``fit_crop`` feeds a fixed-width model: the word scaled to the crop's height, its
    aspect kept, and the columns past its end zeroed (the mean colour); a word wider than the crop is
    squeezed into it."""
    height, width = size
    cx, cy, w, h, angle = boxes[:, 1:].unbind(1)
    span = h * (width / height)  # box units that fill the crop's width at the word's own scale
    wide = torch.maximum(w, span)
    shift = (wide - w) / 2  # the word starts at the crop's left edge: move the centre along the reading axis
    rad = torch.deg2rad(angle)
    grown = torch.stack([boxes[:, 0], cx + shift * torch.cos(rad), cy - shift * torch.sin(rad), wide, h, angle], 1)
    crops = rotated_roi_align(images, grown, (height, width), sampling_ratio=2)
    filled = (w / wide * width).ceil().clamp(1, width)  # (K,) columns holding the word
    cols = torch.arange(width, device=images.device).view(1, 1, 1, width)
    return crops * (cols < filled.view(-1, 1, 1, 1)).to(crops.dtype)


def _valid_boxes(word_boxes: Tensor, word_valid: Tensor) -> Tensor:
    """(N, 6) rows (batch index, cx, cy, w, h, angle) of the valid slots, row-major (image, slot)."""
    batch, slots = word_valid.shape
    index = torch.arange(batch, device=word_boxes.device).view(batch, 1).expand(batch, slots)
    picked = word_valid.reshape(-1) > 0
    rows = torch.cat([index.reshape(-1, 1).to(word_boxes.dtype), word_boxes.reshape(-1, 5)], dim=1)
    return rows[picked]


def _reader_channels(reader: nn.Module) -> int:
    """Output channels of the reader's CNN (its last conv's)."""
    convs = [m for m in reader.cnn.modules() if isinstance(m, nn.Conv2d)]
    return convs[-1].out_channels


def angle_degrees(angle_map: Tensor) -> Tensor:
    """(..., 2, ...) unnormalised (cos, sin) on dim -3 -> the angle in degrees, counter-clockwise."""
    return torch.rad2deg(torch.atan2(angle_map[:, 1], angle_map[:, 0]))

