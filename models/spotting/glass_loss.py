"""The ``glass`` spotter's loss: total = DBNet's + angle_weight * angle + recognition_weight * ctc.

- DBNet's terms (``models.detection.db_loss``) on ``prob`` / ``thresh`` / ``binary``;
- ``angle``: the periodic, orientation-aware ``angle_loss`` (360-periodic) between each text pixel's
  predicted reading angle (from the (cos, sin) ``angle`` map) and the target, weighted by the word's
  weight (``angle_weight``, 0 off text);
- ``ctc``: CTC of each read word (``rec_logits``, ground-truth boxes in training) against its label,
  divided by the label's length and averaged with the words' weights (``word_valid``). A batch without a
  readable word gives 0 (the model read one dummy box, see ``glass.Glass.forward``).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from models.detection.db_loss import DBLoss
from models.spotting.angle_loss import angle_loss
from models.spotting.glass import angle_degrees


class GlassLoss(nn.Module):
    """``forward(outputs, targets) -> {"total", "bce", "dice", "l1", "angle", "ctc"}`` (scalars)."""

    def __init__(self, det: DBLoss, angle_weight: float = 1.0, recognition_weight: float = 1.0,
                 angle_kind: str = "cosine"):
        super().__init__()
        self.det = det
        self.angle_weight, self.recognition_weight, self.angle_kind = angle_weight, recognition_weight, angle_kind

    def forward(self, outputs: dict[str, Tensor], targets: dict[str, Tensor]) -> dict[str, Tensor]:
        losses = self.det(outputs, targets)
        angle = self.angle(outputs["angle"].float(), targets["angle_target"], targets["angle_weight"])
        ctc = self.ctc(outputs["rec_logits"].float(), targets)
        total = losses["total"] + self.angle_weight * angle + self.recognition_weight * ctc
        return {**losses, "angle": angle, "ctc": ctc, "total": total}

    def angle(self, angle_map: Tensor, target: Tensor, weight: Tensor) -> Tensor:
        """Weighted mean periodic loss over the text pixels of the (B, 2, h, w) map."""
        pred = angle_degrees(angle_map)  # (B, h, w)
        target = target.to(pred.device, pred.dtype).reshape(pred.shape)
        weight = weight.to(pred.device, pred.dtype).reshape(pred.shape)
        return angle_loss(pred, target, period=360.0, kind=self.angle_kind, weight=weight)

    def ctc(self, logits: Tensor, targets: dict[str, Tensor]) -> Tensor:
        """Weighted mean of per-word CTC / label length over the batch's valid words."""
        valid = targets["word_valid"].reshape(-1)
        picked = valid > 0
        if not bool(picked.any()):
            return logits.sum() * 0.0  # the dummy box's logits: in the graph, no gradient
        labels = targets["word_labels"].reshape(valid.shape[0], -1)[picked].long()
        lengths = targets["word_lengths"].reshape(-1)[picked].long()
        weights = valid[picked].to(logits.dtype)
        log_probs = logits.log_softmax(-1).transpose(0, 1)  # (T, N, C)
        columns = torch.full((logits.shape[0],), logits.shape[1], dtype=torch.long, device=logits.device)
        per_word = F.ctc_loss(log_probs, labels, columns, lengths, blank=0, reduction="none", zero_infinity=True)
        per_word = per_word / lengths.clamp_min(1).to(per_word.dtype)
        return (per_word * weights).sum() / weights.sum().clamp_min(1e-6)
