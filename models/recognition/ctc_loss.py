"""The CTC training loss of CTC recognizers (CRNN), on the ``{"logits": (B, T, C)}`` they output."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class CTCLoss(nn.Module):
    """CTC over every output column, in float32 (also under autocast), class 0 the blank.

    Each sample's loss is divided by its label length, then averaged over the batch. A label the columns
    cannot hold (longer than T, counting a blank between repeats) gives zero loss and gradient rather
    than infinity, so one such sample does not poison the batch.
    """

    def forward(self, outputs: dict[str, torch.Tensor], targets: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        logits = outputs["logits"].float()  # (B, T, C)
        log_probs = logits.log_softmax(-1).transpose(0, 1)  # (T, B, C), the layout ctc_loss takes
        steps, batch = log_probs.shape[:2]
        columns = torch.full((batch,), steps, dtype=torch.long, device=logits.device)
        lengths = targets["length"].reshape(-1).long()
        ctc = F.ctc_loss(log_probs, targets["label"].long(), columns, lengths, blank=0, reduction="mean",
                         zero_infinity=True)
        return {"total": ctc, "ctc": ctc}
