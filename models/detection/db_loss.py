"""The DBNet loss: total = bce + alpha * dice + beta * l1 (alpha=1, beta=10 as in the paper).

- ``bce``:  binary cross-entropy on the probability map with 3:1 hard-negative mining (OHEM);
- ``dice``: dice loss on the approximate binary map;
- ``l1``:   L1 on the threshold map, inside the threshold mask.

Per-instance weights arrive as per-pixel weight maps built by ``models.detection.db_targets.make_targets``:
``mask`` (for bce and dice) and ``thresh_mask`` (for l1). Every term is a *weighted mean*: a pixel of
weight w counts w times in the sum and w times in the normaliser, so weight 0 removes a pixel from
every term and weight 0.5 halves an instance's summed loss and its pixel mass.

The loss is computed in float32 from the sigmoid outputs (no ``F.binary_cross_entropy``), so it is
safe inside a CUDA autocast region the training stage may open.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

TARGET_KEYS = ("gt", "mask", "thresh_map", "thresh_mask")


class DBLoss(nn.Module):
    """``forward(preds, targets) -> {"bce", "l1", "dice", "total"}`` (scalar tensors).

    preds: ``{"prob", "thresh", "binary"}`` each (B,1,H,W) in [0, 1] (the DBNet output).
    targets: ``{"gt", "mask", "thresh_map", "thresh_mask"}`` each (B,H,W) or (B,1,H,W), float.
    alpha: weight of the dice term; beta: weight of the l1 term; ohem_ratio: negatives kept per positive.
    """

    def __init__(self, alpha: float = 1.0, beta: float = 10.0, ohem_ratio: float = 3.0, eps: float = 1e-6):
        super().__init__()
        self.alpha, self.beta, self.ohem_ratio, self.eps = alpha, beta, ohem_ratio, eps

    def forward(self, preds: dict[str, Tensor], targets: dict[str, Tensor]) -> dict[str, Tensor]:
        missing = [k for k in TARGET_KEYS if k not in targets]
        if missing:
            raise KeyError(f"DBLoss: targets lack {missing} (have {sorted(targets)})")
        prob = preds["prob"].float().flatten(1)  # (B, H*W)
        gt, mask, thresh_map, thresh_mask = (
            targets[k].to(prob.device, torch.float32).reshape(prob.shape) for k in TARGET_KEYS
        )
        bce = self.balanced_bce(prob, gt, mask)
        dice = self.dice(preds["binary"].float().flatten(1), gt, mask)
        l1 = self.masked_l1(preds["thresh"].float().flatten(1), thresh_map, thresh_mask)
        total = bce + self.alpha * dice + self.beta * l1
        return {"bce": bce, "l1": l1, "dice": dice, "total": total}

    def balanced_bce(self, prob: Tensor, gt: Tensor, weight: Tensor) -> Tensor:
        """Weighted BCE over all positives and the hardest ``ohem_ratio``x as many negatives.

        Negatives are ranked by weighted loss over the whole batch; with no positive pixel in the
        batch no negative is kept (the DBNet rule) and the term is 0.
        """
        p = prob.clamp(self.eps, 1.0 - self.eps)
        loss = -(gt * torch.log(p) + (1.0 - gt) * torch.log(1.0 - p)) * weight  # (B, N) weighted
        positive = (gt > 0.5) & (weight > 0)
        negative = (gt <= 0.5) & (weight > 0)
        n_pos = int(positive.sum())
        n_neg = min(int(negative.sum()), int(n_pos * self.ohem_ratio))
        neg_loss = loss[negative]
        neg_w = weight[negative]
        if n_neg < neg_loss.numel():
            neg_loss, idx = torch.topk(neg_loss, n_neg)
            neg_w = neg_w[idx]
        numer = loss[positive].sum() + neg_loss.sum()
        denom = weight[positive].sum() + neg_w.sum()
        return numer / (denom + self.eps)

    def dice(self, binary: Tensor, gt: Tensor, weight: Tensor) -> Tensor:
        """1 - 2|B∩G| / (|B| + |G|), every sum weighted by the pixel weights."""
        inter = (binary * gt * weight).sum()
        union = (binary * weight).sum() + (gt * weight).sum()
        return 1.0 - 2.0 * inter / (union + self.eps)

    def masked_l1(self, thresh: Tensor, thresh_map: Tensor, thresh_mask: Tensor) -> Tensor:
        """Mean |T - T*| over the threshold mask (weighted)."""
        return ((thresh - thresh_map).abs() * thresh_mask).sum() / (thresh_mask.sum() + self.eps)
