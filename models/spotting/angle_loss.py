"""A periodic loss on word angles: continuous across the wrap, so 359 vs 1 costs what 1 vs 3 does.

Angles are in degrees, counter-clockwise on screen (the convention of ``rotated_roi``). The head is
expected to predict the angle in degrees (any real number: only its value modulo the period
matters); a (sin, cos) head converts with ``torch.rad2deg(torch.atan2(sin, cos))``.

``period=360`` is orientation-aware: an upside-down word (180 degrees off) costs the most.
``period=180`` is for orientation-free boxes, where 0 and 180 describe the same rectangle.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

KINDS = ("cosine", "smooth_l1")
PERIODS = (180.0, 360.0)


def wrapped_difference(pred: torch.Tensor, target: torch.Tensor, period: float = 360.0) -> torch.Tensor:
    """``pred - target`` in degrees brought into [-period / 2, period / 2)."""
    half = period / 2
    return torch.remainder(pred - target + half, period) - half


def angle_loss(pred: torch.Tensor, target: torch.Tensor, *, period: float = 360.0, kind: str = "cosine",
               weight: torch.Tensor | None = None, beta: float = 0.1, reduction: str = "mean") -> torch.Tensor:
    """Periodic angle loss between ``pred`` and ``target`` (same shape, degrees).

    ``kind``: ``cosine`` is ``1 - cos(2 pi d / period)`` (0 at equality, 2 at the opposite angle,
    smooth everywhere); ``smooth_l1`` is the smooth-L1 (``beta`` in radians) of the wrapped difference
    ``d`` in radians (grows linearly, its slope flips sign at the opposite angle). ``weight``: optional
    per-instance weights (same shape); ``reduction="mean"`` gives ``sum(w * l) / sum(w)`` (0 when all
    weights are 0), ``"none"`` the per-instance losses (weighted).
    """
    _check(pred, target, period, kind, weight, reduction)
    delta = wrapped_difference(pred, target, period)
    if kind == "cosine":
        loss = 1.0 - torch.cos(delta * (2 * math.pi / period))
    else:
        radians = torch.deg2rad(delta)
        loss = F.smooth_l1_loss(radians, torch.zeros_like(radians), reduction="none", beta=beta)
    if weight is None:
        weight = torch.ones_like(loss)
    weighted = loss * weight
    if reduction == "none":
        return weighted
    # clamp: all-zero weights give 0 (and a graph), never 0 / 0.
    return weighted.sum() / weight.sum().clamp_min(torch.finfo(loss.dtype).tiny)


def _check(pred, target, period, kind, weight, reduction) -> None:
    """Validate the arguments, naming the bad one."""
    if pred.shape != target.shape:
        raise ValueError(f"angle_loss: pred {tuple(pred.shape)} and target {tuple(target.shape)} differ in shape")
    if weight is not None and weight.shape != pred.shape:
        raise ValueError(f"angle_loss: weight {tuple(weight.shape)} must have pred's shape {tuple(pred.shape)}")
    if float(period) not in PERIODS:
        raise ValueError(f"angle_loss: period must be one of {PERIODS}, got {period}")
    if kind not in KINDS:
        raise ValueError(f"angle_loss: unknown kind {kind!r}; valid: {', '.join(KINDS)}")
    if reduction not in ("mean", "none"):
        raise ValueError(f"angle_loss: reduction must be 'mean' or 'none', got {reduction!r}")
