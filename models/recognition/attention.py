"""The ``attention`` recognizer: a ResNet-style encoder and a 2D-attention LSTM decoder.

The shape of AttentionOCR / SAR ("Show, Attend and Read"): the crop becomes a 2D feature map
(``resnet_encoder``; not collapsed to one row, so curved and slanted words keep their layout), and an
LSTM cell emits one character per step. At step t it reads the previous character's embedding, then
attends over every cell of the feature map with its new hidden state (additive attention) and predicts
the next character from the hidden state and the attended "glimpse". The word ends with EOS
(``charset.size + 1``). Vertical crops are turned upright by ``preprocess.upright`` before they get here.

Training feeds the true previous characters (teacher forcing, ``targets["label"]``); inference feeds the
model's own greedy choice and stops when every word in the batch has emitted EOS.
"""
from __future__ import annotations

import torch
from torch import nn

from models.recognition.eos_sequences import with_eos
from models.recognition.positional import sinusoid_2d
from models.recognition.resnet_encoder import ResNetEncoder


class AttentionDecoder(nn.Module):
    """LSTM cell + additive attention over a (B, C, h, w) map; ``steps`` outputs of ``num_classes``."""

    def __init__(self, channels: int, num_classes: int, steps: int, hidden: int, embed: int, attention: int):
        super().__init__()
        self.num_classes, self.steps, self.hidden = num_classes, steps, hidden
        self.embed = nn.Embedding(num_classes, embed)  # id 0 (padding) doubles as the start token
        self.init_state = nn.Linear(channels, 2 * hidden)
        self.cell = nn.LSTMCell(embed, hidden)
        self.key = nn.Linear(channels, attention)
        self.query = nn.Linear(hidden, attention, bias=False)
        self.score = nn.Linear(attention, 1, bias=False)
        self.classify = nn.Linear(hidden + channels, num_classes)

    def forward(self, features: torch.Tensor, previous: torch.Tensor | None) -> torch.Tensor:
        """(B, steps, num_classes) logits; ``previous`` (B, steps) ids fed at each step (teacher forcing)
        or None (greedy: feed back the argmax, stop once all rows emitted EOS)."""
        batch, channels = features.shape[:2]
        cells = features.flatten(2).transpose(1, 2)  # (B, N = h*w, C)
        keys = self.key(cells)  # (B, N, A), the same for every step
        h, c = torch.tanh(self.init_state(cells.mean(1))).chunk(2, dim=-1)
        token = torch.zeros(batch, dtype=torch.long, device=features.device)
        eos = self.num_classes - 1
        finished = torch.zeros(batch, dtype=torch.bool, device=features.device)
        outputs = []
        for t in range(self.steps):
            if previous is not None:
                token = previous[:, t]
            h, c = self.cell(self.embed(token), (h, c))
            weights = self.score(torch.tanh(keys + self.query(h)[:, None])).squeeze(-1).softmax(-1)  # (B, N)
            glimpse = torch.bmm(weights[:, None], cells).squeeze(1)  # (B, C)
            logits = self.classify(torch.cat([h, glimpse], -1))
            outputs.append(logits)
            if previous is None:
                token = logits.argmax(-1)
                finished |= token == eos
                if bool(finished.all()):
                    break
        out = torch.stack(outputs, 1)
        if out.shape[1] < self.steps:  # stopped early: the remaining steps say EOS with certainty
            pad = torch.full((batch, self.steps - out.shape[1], self.num_classes), -1e4, dtype=out.dtype,
                             device=out.device)
            pad[..., eos] = 0.0
            out = torch.cat([out, pad], 1)
        return out


class AttentionRecognizer(nn.Module):
    """Encoder + 2D position encoding + ``AttentionDecoder``; ``forward`` returns ``{"logits"}``."""

    def __init__(self, encoder: ResNetEncoder, charset_size: int, max_length: int, hidden: int, embed: int,
                 attention: int):
        super().__init__()
        self.encoder = encoder
        self.eos = charset_size + 1
        self.decoder = AttentionDecoder(encoder.out_channels, charset_size + 2, max_length + 1, hidden, embed,
                                        attention)

    def forward(self, images: torch.Tensor, targets: dict | None = None) -> dict[str, torch.Tensor]:
        """``logits`` (B, max_length + 1, size + 2): the word's characters, then EOS."""
        features = self.encoder(images)
        # The position encoding tells the decoder where each cell is, so attention can move along the word.
        features = features + sinusoid_2d(*features.shape[2:], features.shape[1], features.device)
        previous = None
        if targets is not None:
            truth = with_eos(targets["label"], targets["length"], self.eos)
            previous = torch.cat([torch.zeros_like(truth[:, :1]), truth[:, :-1]], 1)
        return {"logits": self.decoder(features, previous)}


class SequenceLoss(nn.Module):
    """Cross-entropy over the label and its EOS; the padding after EOS is ignored."""

    def __init__(self, charset_size: int):
        super().__init__()
        self.eos = charset_size + 1

    def forward(self, outputs: dict, targets: dict) -> dict[str, torch.Tensor]:
        truth = with_eos(targets["label"], targets["length"], self.eos)
        logits = outputs["logits"].float()
        ce = nn.functional.cross_entropy(logits.flatten(0, 1), truth.flatten(), ignore_index=0)
        return {"total": ce, "ce": ce}
