"""Rotated RoI align: each word's rotated box on a feature map, resampled upright.

Conventions (shared by ``rotated_roi_align`` and ``quad_to_rbox``):

- Coordinates are continuous image pixels with y pointing down: pixel ``(col, row)`` covers
  ``[col, col + 1) x [row, row + 1)``, so its centre is ``(col + 0.5, row + 0.5)``.
- A rotated box is ``(cx, cy, w, h, angle)``: its centre, its width along the reading direction, its
  height across it, and ``angle`` in degrees, counter-clockwise as seen on screen. ``angle = 0`` reads
  left to right; ``90`` reads bottom to top; ``180`` is an upside-down word. The reading axis is
  ``(cos a, -sin a)`` in image coordinates (the minus because y points down) and the box's "down"
  axis (from the top of the letters to their bottom) is ``(sin a, cos a)``.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

MODES = ("bilinear", "nearest")


def rotated_roi_align(features: torch.Tensor, boxes: torch.Tensor, output_size: tuple[int, int],
                      spatial_scale: float = 1.0, sampling_ratio: int = 1,
                      mode: str = "bilinear") -> torch.Tensor:
    """Resample each rotated box of ``features`` into an upright ``output_size`` crop.

    ``features``: (B, C, H, W). ``boxes``: (K, 6) rows ``(batch index, cx, cy, w, h, angle)`` in
    image pixels and degrees (see the module docstring); ``spatial_scale`` maps image pixels onto the
    feature map (0.25 for a stride-4 map). Returns (K, C, oh, ow): row 0 of a crop is the top of the
    word and column 0 its start, whatever the box's angle.

    The box is cut into oh x ow bins; each bin's value is the mean of ``sampling_ratio**2`` points
    spread evenly inside it (1: the bin centre), each read with ``mode`` interpolation
    (``grid_sample`` with ``align_corners=False``, which matches the pixel-area convention above: the
    feature value of a cell sits at its centre). Points off the map read zeros, so a bin within half a
    cell of the border blends with zero. Differentiable with respect to ``features`` (and, through
    the sampling grid, to the box geometry).
    """
    oh, ow = _check(features, boxes, output_size, sampling_ratio, mode)
    _, channels, height, width = features.shape
    out = features.new_zeros((boxes.shape[0], channels, oh, ow))
    if boxes.shape[0] == 0:
        return out
    batch_index = boxes[:, 0].round().long()
    sh, sw = oh * sampling_ratio, ow * sampling_ratio
    theta = _affine(boxes[:, 1:].to(features.dtype), spatial_scale, height, width)
    # (K, sh, sw, 2): normalised sampling points, the same for every channel.
    grid = F.affine_grid(theta, [boxes.shape[0], channels, sh, sw], align_corners=False)
    for b in batch_index.unique().tolist():
        picked = (batch_index == b).nonzero().squeeze(1)
        # All boxes of one image share one grid_sample call on that image alone: gathering
        # features[batch_index] instead would copy the whole map once per box.
        image_grid = grid[picked].reshape(1, picked.numel() * sh, sw, 2)
        sampled = F.grid_sample(features[b:b + 1], image_grid, mode=mode, padding_mode="zeros",
                                align_corners=False)  # (1, C, k * sh, sw)
        crops = sampled.reshape(channels, picked.numel(), sh, sw).transpose(0, 1)
        if sampling_ratio > 1:
            crops = F.avg_pool2d(crops, sampling_ratio)  # mean of each bin's points
        out = out.index_copy(0, picked, crops)
    return out


def _affine(rboxes: torch.Tensor, scale: float, height: int, width: int) -> torch.Tensor:
    """(K, 2, 3) maps from a crop's normalised grid (-1..1 across the box) to the map's (-1..1).

    A crop point (xb, yb) is the box point at u = xb * w / 2 along the reading axis and
    v = yb * h / 2 along the down axis: image x = cx + u cos a + v sin a, y = cy - u sin a + v cos a;
    then feature x = scale * x and normalised x = 2 * feature x / W - 1 (align_corners=False).
    """
    cx, cy, w, h, angle = rboxes.unbind(1)
    rad = angle * (math.pi / 180.0)
    cos, sin = rad.cos(), rad.sin()
    sx, sy = scale / width, scale / height
    row_x = torch.stack([sx * w * cos, sx * h * sin, 2 * sx * cx - 1], dim=1)
    row_y = torch.stack([-sy * w * sin, sy * h * cos, 2 * sy * cy - 1], dim=1)
    return torch.stack([row_x, row_y], dim=1)


def _check(features, boxes, output_size, sampling_ratio, mode) -> tuple[int, int]:
    """Validate the arguments, naming the bad one; returns (oh, ow)."""
    if features.dim() != 4:
        raise ValueError(f"rotated_roi_align: features must be (B, C, H, W), got shape {tuple(features.shape)}")
    if boxes.dim() != 2 or boxes.shape[1] != 6:
        raise ValueError("rotated_roi_align: boxes must be (K, 6) rows (batch index, cx, cy, w, h, angle), "
                         f"got shape {tuple(boxes.shape)}")
    oh, ow = (int(v) for v in output_size)
    if oh < 1 or ow < 1:
        raise ValueError(f"rotated_roi_align: output_size must be positive, got {tuple(output_size)}")
    if sampling_ratio < 1:
        raise ValueError(f"rotated_roi_align: sampling_ratio must be >= 1, got {sampling_ratio}")
    if mode not in MODES:
        raise ValueError(f"rotated_roi_align: unknown mode {mode!r}; valid: {', '.join(MODES)}")
    if boxes.shape[0]:
        index = boxes[:, 0]
        bad = (index != index.round()) | (index < 0) | (index >= features.shape[0])
        if bad.any():
            row = int(bad.nonzero()[0])
            raise ValueError(f"rotated_roi_align: box {row} has batch index {float(index[row])}, "
                             f"not an integer in [0, {features.shape[0]})")
        if not torch.isfinite(boxes).all():
            row = int((~torch.isfinite(boxes)).any(1).nonzero()[0])
            raise ValueError(f"rotated_roi_align: box {row} is not finite: {boxes[row].tolist()}")
    return oh, ow


def quad_to_rbox(points) -> tuple[float, float, float, float, float]:
    """(cx, cy, w, h, angle) of the rotated box around a word quad.

    ``points``: (4, 2) x, y in image pixels, in reading order: the word's top-left first, then
    clockwise as the word is read (top-right, bottom-right, bottom-left), so the vertex order, not
    the position on screen, gives the reading direction: an upside-down word (its top-left vertex at
    the bottom-right of the screen) gets angle ~180. The angle (degrees in [0, 360), see the module
    docstring) is that of the mean of the top and bottom edges; w and h are the quad's extents along
    that axis and across it, so the box covers the whole quad, and (cx, cy) is that box's centre.
    """
    quad = np.asarray(points, dtype=np.float64)
    if quad.shape != (4, 2) or not np.isfinite(quad).all():
        raise ValueError(f"quad_to_rbox: points must be 4 finite (x, y) vertices, got {quad.tolist()}")
    return polygon_to_rbox(quad)


def polygon_to_rbox(points) -> tuple[float, float, float, float, float]:
    """(cx, cy, w, h, angle) of the rotated box around a word polygon of an even number (>= 4) of vertices
    in reading order: the top side from the word's start to its end, then the bottom side back (the
    layout of quads and of curved-text polygons, Total-Text / CTW1500 / the synth stage's). The reading
    direction is the sum of the top side's and the bottom side's end-to-end vectors; the box covers every
    vertex (loose around a strongly curved word). See ``quad_to_rbox`` for the 4-vertex case."""
    poly = np.asarray(points, dtype=np.float64)
    if poly.ndim != 2 or poly.shape[1] != 2 or len(poly) < 4 or len(poly) % 2 or not np.isfinite(poly).all():
        raise ValueError("polygon_to_rbox: points must be an even number (>= 4) of finite (x, y) vertices, "
                         f"got {poly.tolist()}")
    half = len(poly) // 2
    top, bottom = poly[:half], poly[half:][::-1]
    reading = (top[-1] - top[0]) + (bottom[-1] - bottom[0])  # both sides from the word's start to its end
    length = float(np.hypot(*reading))
    if length == 0.0:
        raise ValueError(f"polygon_to_rbox: degenerate polygon, no reading direction: {poly.tolist()}")
    along = reading / length
    down = np.array([-along[1], along[0]])  # the reading axis turned 90 degrees clockwise on screen
    u, v = poly @ along, poly @ down
    w, h = float(u.max() - u.min()), float(v.max() - v.min())
    if h == 0.0:
        raise ValueError(f"polygon_to_rbox: degenerate polygon, zero height: {poly.tolist()}")
    mid_u, mid_v = (u.max() + u.min()) / 2, (v.max() + v.min()) / 2
    cx, cy = mid_u * along + mid_v * down
    angle = math.degrees(math.atan2(-along[1], along[0])) % 360.0
    return float(cx), float(cy), w, h, angle
