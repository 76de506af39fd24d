"""The CRAFT loss with weak supervision: pseudo character targets from the model's own region score.

Each step, for every image of the batch (``weak_targets``):
  1. every annotated word is split into pseudo character boxes from the *detached* region output
     (``models.detection.craft_weak``), with a confidence ``s`` in [0.5, 1];
  2. the region target gets a Gaussian per character box, the affinity target one per pair of
     neighbouring characters (``models.detection.craft_heatmaps``);
  3. the per-pixel weight is ``s`` x the word's instance weight inside the word box, 1 on background,
     and 0 wherever the targets' ``mask`` is 0 (don't-care words).

Then ``region`` and ``affinity`` are each a weighted mean squared error over all positive pixels
(target > ``positive_threshold``) and the hardest ``ohem_ratio`` x as many negative pixels (all negatives
in an image without text), per image, averaged over the batch; ``total = region + affinity``.
The outputs are CRAFT's raw maps (no sigmoid: the public weights regress the Gaussians directly).
"""
from __future__ import annotations

import cv2
import numpy as np
import torch
from torch import Tensor, nn

from models.detection.craft_config import LossConfig
from models.detection.craft_heatmaps import draw_word
from models.detection.craft_targets import unpack_words
from models.detection.craft_weak import pseudo_char_boxes


def weak_targets(score: np.ndarray, words: np.ndarray, mask: np.ndarray) -> dict[str, np.ndarray]:
    """One image's pseudo targets: ``{"region", "affinity", "weight"}`` each (h, w) float32.

    score: (h, w) region score in [0, 1]; words: (max_words, 11) rows of ``CraftTargets``; mask: (h, w).
    """
    region = np.zeros(mask.shape, np.float32)
    affinity = np.zeros(mask.shape, np.float32)
    weight = np.ones(mask.shape, np.float32)
    for box, length, instance_weight in unpack_words(words):
        chars, conf = pseudo_char_boxes(score, box, length)
        draw_word(region, affinity, chars)
        fixed = np.round((box - 0.5) * 16).astype(np.int32)  # pixel-corner box, cv2's 4-bit fixed point
        cv2.fillPoly(weight, [fixed], conf * instance_weight, lineType=cv2.LINE_8, shift=4)
    return {"region": region, "affinity": affinity, "weight": weight * mask}


def ohem_keep(loss: Tensor, positive: Tensor, weight: Tensor, ratio: float) -> Tensor:
    """The pixels one image's loss term uses (bool, same shape as the flat ``loss``): every positive
    pixel and the ``ratio`` x as many negatives with the highest weighted loss (all negatives when
    there is no positive); pixels of weight 0 are never used."""
    used = weight > 0
    pos, neg = positive & used, ~positive & used
    n_pos, n_neg = int(pos.sum()), int(neg.sum())
    count = n_neg if n_pos == 0 else min(n_neg, int(ratio * n_pos))
    keep = pos.clone()
    if count:
        neg_index = torch.nonzero(neg, as_tuple=True)[0]
        hardest = torch.topk((loss * weight)[neg_index], count).indices
        keep[neg_index[hardest]] = True
    return keep


class CraftLoss(nn.Module):
    """``forward(outputs, targets) -> {"region", "affinity", "total"}`` (scalar tensors).

    outputs: ``{"region", "affinity"}`` each (B, 1, h, w) raw maps; targets: ``{"words"}`` (B, max_words, 11)
    and ``{"mask"}`` (B, h, w) from ``models.detection.craft_targets.CraftTargets``.
    """

    def __init__(self, cfg: LossConfig, eps: float = 1e-6):
        super().__init__()
        self.ohem_ratio = cfg.ohem_ratio
        self.positive_threshold = cfg.positive_threshold
        self.eps = eps

    def forward(self, outputs: dict[str, Tensor], targets: dict[str, Tensor]) -> dict[str, Tensor]:
        missing = [k for k in ("words", "mask") if k not in targets]
        if missing:
            raise KeyError(f"CraftLoss: targets lack {missing} (have {sorted(targets)})")
        region, affinity = outputs["region"].float()[:, 0], outputs["affinity"].float()[:, 0]  # (B, h, w)
        mask = targets["mask"].float()
        if mask.shape != region.shape:
            raise ValueError(f"CraftLoss: mask {tuple(mask.shape)} does not match the score maps "
                             f"{tuple(region.shape)} (targets are at half the input resolution)")
        maps = self.pseudo_targets(region, targets["words"], mask)
        region_term = self.term(region, maps["region"], maps["weight"])
        affinity_term = self.term(affinity, maps["affinity"], maps["weight"])
        return {"region": region_term, "affinity": affinity_term, "total": region_term + affinity_term}

    def pseudo_targets(self, region: Tensor, words: Tensor, mask: Tensor) -> dict[str, Tensor]:
        """The batch's ``weak_targets`` as (B, h, w) tensors on ``region``'s device; the split reads the
        region output detached and clipped to [0, 1] (a raw output may overshoot)."""
        score = region.detach().clamp(0, 1).cpu().numpy()
        words_np, mask_np = words.detach().float().cpu().numpy(), mask.detach().cpu().numpy()
        per_image = [weak_targets(score[b], words_np[b], mask_np[b]) for b in range(len(score))]
        return {key: torch.from_numpy(np.stack([m[key] for m in per_image])).to(region.device)
                for key in ("region", "affinity", "weight")}

    def term(self, pred: Tensor, target: Tensor, weight: Tensor) -> Tensor:
        """Weighted MSE over each image's OHEM-selected pixels, averaged over the batch."""
        per_image = []
        for p, t, w in zip(pred.flatten(1), target.flatten(1), weight.flatten(1)):
            loss = (p - t) ** 2
            keep = ohem_keep(loss.detach(), t > self.positive_threshold, w, self.ohem_ratio)
            per_image.append((loss * w)[keep].sum() / (w[keep].sum() + self.eps))
        return torch.stack(per_image).mean()
