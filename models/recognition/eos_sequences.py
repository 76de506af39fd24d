"""Targets with EOS and greedy decoding shared by recognizers that end a word with an EOS token.

Ids (``models.recognition.charset``): ``0`` is padding, characters are ``1 .. size``, and the end of
sequence is ``eos = size + 1``; such a model predicts ``max_length + 1`` positions (the word, then EOS).
"""
from __future__ import annotations

import numpy as np

from models.recognition.charset import Charset


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


def check_greedy_options(arch: str, options: dict | None) -> None:
    """Refuse a beam search request (``beam_width`` > 1): these decoders read greedily only."""
    width = (options or {}).get("beam_width", 1)
    if width != 1:
        raise ValueError(f"{arch} decoding is greedy: beam_width must be 1, got {width!r}")
