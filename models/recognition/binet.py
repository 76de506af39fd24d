"""The ``binet`` recognizer: ABINet's vision + language model with BINet's text segmentation branch.

Data flow (shapes for a (B, 3, H, W) crop, T = max_length + 1 positions, V = charset size + 2):

1. **Backbone** (``resnet_encoder``, stride 4 by default) -> features (B, C, h, w), projected to D.
2. **Text segmentation branch** (BINet): a small conv head predicts a text/background logit per feature
   cell; upsampled it is ``seg_logits`` (B, H, W), trained against the rendered glyph mask. Its
   probability gates the features, ``f * (floor + (1 - floor) * sigmoid(s))``, so background clutter is
   suppressed before the transformer sees it (the floor keeps gradients alive early in training).
3. **Vision model** (ABINet): a transformer encoder over the h*w cells (2D sinusoid positions), then
   *position attention*: T queries (1D sinusoid positions) attend over the cells (keys from a small conv
   net on the map) -> per-position features and ``vision_logits`` (B, T, V).
4. **Language model** (``binet_lm``): a bidirectional cloze transformer over the detached probabilities.
5. **Fusion** (ABINet's alignment): a sigmoid gate mixes vision and language features per position.
   Steps 4-5 repeat ``iterations`` times, each time feeding the fused prediction back to the language
   model (iterative correction); ``logits`` is the last fused prediction.

Reproduced from the papers: the three-part ABINet structure (vision model with position attention, BCN
with the cloze mask and no self-attention, gated fusion, iterative correction with blocked gradients),
losses on every iteration's language and fused outputs, and BINet's segmentation branch as an
auxiliary loss and a feature gate. Simplified: a small ResNet instead of ResNet-45; the position
attention's key network is two convolutions instead of a mini U-Net; the LM is not pre-trained on a text
corpus (it learns from the training labels only); padding after EOS is ignored in the loss instead of
trained as a null class; one segmentation head on the backbone output (not multi-scale); no
semi-supervised ensemble self-training.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from models.recognition.binet_lm import BidirectionalLM, word_lengths
from models.recognition.eos_sequences import with_eos
from models.recognition.positional import sinusoid_1d, sinusoid_2d
from models.recognition.resnet_encoder import ResNetEncoder


class PositionAttention(nn.Module):
    """T position queries attend over the (B, D, h, w) map -> (B, T, D) features."""

    def __init__(self, dim: int, steps: int):
        super().__init__()
        self.steps = steps
        self.keys = nn.Sequential(nn.Conv2d(dim, dim, 3, 1, 1), nn.BatchNorm2d(dim), nn.ReLU(),
                                  nn.Conv2d(dim, dim, 3, 1, 1))
        self.query = nn.Linear(dim, dim)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        dim = features.shape[1]
        keys = self.keys(features).flatten(2)  # (B, D, N)
        values = features.flatten(2).transpose(1, 2)  # (B, N, D)
        query = self.query(sinusoid_1d(self.steps, dim, features.device))  # (T, D)
        weights = torch.einsum("td,bdn->btn", query, keys).div(math.sqrt(dim)).softmax(-1)
        return torch.bmm(weights, values)


class BINet(nn.Module):
    """``forward`` -> logits, vision_logits, language_logits / fused_logits (B, iterations, T, V), seg_logits."""

    def __init__(self, encoder: ResNetEncoder, charset_size: int, max_length: int, dim: int, heads: int,
                 vision_layers: int, lm_layers: int, feedforward: int, iterations: int, gate_floor: float,
                 dropout: float = 0.1):
        super().__init__()
        self.eos, self.steps = charset_size + 1, max_length + 1
        self.iterations, self.gate_floor = iterations, gate_floor
        classes = charset_size + 2
        self.encoder = encoder
        self.project = nn.Conv2d(encoder.out_channels, dim, 1)
        self.segment = nn.Sequential(nn.Conv2d(dim, dim // 2, 3, 1, 1), nn.BatchNorm2d(dim // 2), nn.ReLU(),
                                     nn.Conv2d(dim // 2, 1, 1))
        layer = nn.TransformerEncoderLayer(dim, heads, feedforward, dropout, batch_first=True)
        self.transformer = nn.TransformerEncoder(layer, vision_layers, enable_nested_tensor=False)
        self.position_attention = PositionAttention(dim, self.steps)
        self.vision_classify = nn.Linear(dim, classes)
        if iterations:  # no unused parameters when the vision model runs alone (DDP refuses those)
            self.language = BidirectionalLM(classes, self.steps, dim, heads, lm_layers, feedforward, dropout)
            self.fuse_gate = nn.Linear(2 * dim, dim)
            self.fused_classify = nn.Linear(dim, classes)

    def vision(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(features (B, T, D), vision logits (B, T, V), segmentation logits (B, H, W))."""
        features = self.project(self.encoder(images))  # (B, D, h, w)
        seg = self.segment(features)  # (B, 1, h, w)
        gate = self.gate_floor + (1 - self.gate_floor) * torch.sigmoid(seg)
        features = features * gate
        batch, dim, h, w = features.shape
        tokens = (features + sinusoid_2d(h, w, dim, features.device)).flatten(2).transpose(1, 2)
        features = self.transformer(tokens).transpose(1, 2).reshape(batch, dim, h, w)
        positions = self.position_attention(features)
        seg_full = nn.functional.interpolate(seg, size=images.shape[2:], mode="bilinear", align_corners=False)
        return positions, self.vision_classify(positions), seg_full[:, 0]

    def forward(self, images: torch.Tensor, targets: dict | None = None) -> dict[str, torch.Tensor]:
        visual, logits, seg = self.vision(images)
        out = {"vision_logits": logits, "seg_logits": seg}
        language, fused = [], []
        for _ in range(self.iterations):
            probs = logits.softmax(-1).detach()  # blocked gradient: the LM corrects, it does not steer vision
            lm_features, lm_logits = self.language(probs, word_lengths(probs, self.eos))
            gate = torch.sigmoid(self.fuse_gate(torch.cat([visual, lm_features], -1)))
            logits = self.fused_classify(gate * visual + (1 - gate) * lm_features)
            language.append(lm_logits)
            fused.append(logits)
        out["logits"] = logits
        if self.iterations:
            out["language_logits"], out["fused_logits"] = torch.stack(language, 1), torch.stack(fused, 1)
        return out


def segmentation_loss(logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """BCE + dice between (B, H, W) logits and glyph masks, over the samples whose mask has any glyph.

    An all-zero mask means the data had none (a word crop always has glyphs): such samples are left out,
    so crops without masks do not teach the gate to suppress everything. Masks are cut or padded with
    background on the right / bottom to the batch's size (variable-width batches); 0 when no sample has one.
    """
    height, width = logits.shape[-2:]
    mask = mask.float()[..., :height, :width]
    mask = nn.functional.pad(mask, (0, width - mask.shape[-1], 0, height - mask.shape[-2]))
    known = mask.flatten(1).amax(1) > 0
    if not bool(known.any()):
        return logits.sum() * 0.0
    logits, mask = logits[known].float(), mask[known]
    bce = nn.functional.binary_cross_entropy_with_logits(logits, mask)
    prob = torch.sigmoid(logits).flatten(1)
    overlap = (prob * mask.flatten(1)).sum(1)
    dice = 1 - (2 * overlap + 1) / (prob.sum(1) + mask.flatten(1).sum(1) + 1)
    return bce + dice.mean()


class BINetLoss(nn.Module):
    """Weighted parts: ``vision``, ``language`` and ``fused`` cross-entropy (each iteration's, averaged;
    label + EOS, padding ignored) and ``segmentation`` (``segmentation_loss``)."""

    def __init__(self, charset_size: int, weights: dict[str, float]):
        super().__init__()
        self.eos, self.weights = charset_size + 1, weights

    def forward(self, outputs: dict, targets: dict) -> dict[str, torch.Tensor]:
        truth = with_eos(targets["label"], targets["length"], self.eos)

        def ce(logits: torch.Tensor) -> torch.Tensor:  # (B, [I,] T, V) -> mean over positions (and iterations)
            if logits.dim() == 4:
                logits = logits.flatten(1, 2)
                repeated = truth.repeat(1, logits.shape[1] // truth.shape[1])
            else:
                repeated = truth
            return nn.functional.cross_entropy(logits.float().flatten(0, 1), repeated.flatten(), ignore_index=0)

        parts = {"vision": ce(outputs["vision_logits"])}
        if "fused_logits" in outputs:
            parts["language"] = ce(outputs["language_logits"])
            parts["fused"] = ce(outputs["fused_logits"])
        parts["segmentation"] = segmentation_loss(outputs["seg_logits"], targets["glyph_mask"])
        total = sum(self.weights[name] * value for name, value in parts.items())
        return {"total": total, **parts}
