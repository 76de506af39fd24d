"""Label targets and greedy decoding shared by recognizers that end a word with an EOS token.

Ids (``models.recognition.charset``): ``0`` is padding, characters are ``1 .. size``, and the end of
sequence is ``eos = size + 1``; such a model predicts ``max_length + 1`` positions (the word, then EOS).
"""
from __future__ import annotations

import numpy as np

from models.recognition.charset import Charset


def label_targets(charset: Charset, max_length: int, text: str) -> dict[str, np.ndarray]:
    """``label`` (int64 (max_length,) ids padded with 0) and ``length`` (int64 scalar; 0: untrainable).

    Unknown characters are dropped (the charset's rule); longer labels are cut to ``max_length``.
    """
    ids = charset.encode(text)[:max_length]
    label = np.zeros(max_length, np.int64)
    label[: len(ids)] = ids
    return {"label": label, "length": np.asarray(len(ids), np.int64)}


def with_eos(label, length, eos: int):
    """(B, max_length + 1) torch ids: the label, EOS at ``length``, 0 (padding, ignored) after it."""
    import torch

    batch, width = label.shape
    out = torch.zeros(batch, width + 1, dtype=torch.long, device=label.device)
    out[:, :width] = label
    out[torch.arange(batch, device=label.device), length.long()] = eos
    return out


def greedy_decode(logits: np.ndarray, charset: Charset) -> list[tuple[str, float]]:
    """``(text, score)`` per row of (B, T, classes) logits: argmax per step, stopping at the first EOS.

    The score is the mean of the chosen steps' softmax probabilities, the EOS step included (a word
    with no EOS within T steps is scored over all T).
    """
    eos = charset.size + 1
    logits = np.asarray(logits, np.float64)
    probs = np.exp(logits - logits.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    best, confidence = probs.argmax(-1), probs.max(-1)
    results = []
    for ids, conf in zip(best, confidence):
        stop = np.flatnonzero(ids == eos)
        end = int(stop[0]) if stop.size else len(ids)
        chosen = conf[: end + 1] if stop.size else conf
        results.append((charset.decode(ids[:end].tolist()), float(chosen.mean()) if chosen.size else 0.0))
    return results
