"""CTC decoding in numpy (no torch): per-frame class scores -> text ids with a confidence.

Input: ``logits`` (T, C) of one crop, class 0 the blank, classes 1..C-1 the charset's ids.

* **greedy** (``beam_width`` 1): the best class of every frame; runs of one class collapse to one
  character, blanks are dropped (so ``a a - a`` reads ``aa``: a blank separates repeated characters).
* **beam search** (``beam_width`` > 1): CTC prefix beam search; a prefix's probability sums every
  alignment that collapses to it (blank-ended and character-ended paths kept apart, so a repeated
  character needs a blank between its two frames). Per frame only the ``PRUNE`` most likely classes
  are extended (a large charset, e.g. CJK, would otherwise cost C steps per prefix per frame).

**Score** (``score`` option):

* greedy, ``mean`` (default): the mean, over the emitted characters, of each character's probability
  (the highest probability in its run of frames); ``product``: their product (the chance that every
  character is right, the deep-text-recognition-benchmark's confidence).
* beam, ``product``: P(text | image), summed over alignments; ``mean``: its geometric mean per
  character, P ** (1 / len(text)).
* an empty text scores the mean (or product) of the blank's probability over the frames.
"""
from __future__ import annotations

import math

import numpy as np

SCORES = ("mean", "product")
PRUNE = 16  # classes per frame a beam search extends prefixes with (at least 2 x beam_width)


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Log-probabilities over the last axis, float64 (stable for large logits)."""
    x = np.asarray(logits, np.float64)
    x = x - x.max(axis=-1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))


def _combine(probs: list[float], score: str) -> float:
    if score == "mean":
        return float(np.mean(probs)) if probs else 0.0
    return float(np.prod(probs)) if probs else 0.0


def greedy(logits: np.ndarray, score: str = "mean") -> tuple[list[int], float]:
    """(ids, score) of the best path through (T, C) ``logits`` (see the module doc)."""
    _check_score(score)
    probs = np.exp(log_softmax(logits))
    best = probs.argmax(axis=1)
    ids: list[int] = []
    char_probs: list[float] = []
    previous = 0
    for t, cls in enumerate(best.tolist()):
        p = float(probs[t, cls])
        if cls != 0 and cls == previous:
            char_probs[-1] = max(char_probs[-1], p)  # the same character held over several frames
        elif cls != 0:
            ids.append(cls)
            char_probs.append(p)
        previous = cls
    if not ids:
        return [], _combine(probs[:, 0].tolist(), score)
    return ids, _combine(char_probs, score)


def beam_search(logits: np.ndarray, beam_width: int, score: str = "mean") -> tuple[list[int], float]:
    """(ids, score) of the most likely labelling of (T, C) ``logits`` by CTC prefix beam search."""
    _check_score(score)
    logp = log_softmax(logits)
    if logp.shape[0] == 0:
        return [], 0.0
    prune = min(logp.shape[1], max(PRUNE, 2 * beam_width))
    # prefix -> (log P(prefix, path ends in blank), log P(prefix, path ends in its last character))
    beams: dict[tuple[int, ...], tuple[float, float]] = {(): (0.0, -math.inf)}
    for frame in logp:
        candidates = [int(c) for c in np.argsort(-frame)[:prune] if c != 0]
        nxt: dict[tuple[int, ...], list[float]] = {}

        def add(prefix: tuple[int, ...], blank: float, char: float) -> None:
            old = nxt.setdefault(prefix, [-math.inf, -math.inf])
            old[0], old[1] = np.logaddexp(old[0], blank), np.logaddexp(old[1], char)

        for prefix, (pb, pc) in beams.items():
            total = np.logaddexp(pb, pc)
            add(prefix, total + frame[0], -math.inf)
            for c in candidates:
                if prefix and prefix[-1] == c:
                    add(prefix, -math.inf, pc + frame[c])  # held character: still one
                    add(prefix + (c,), -math.inf, pb + frame[c])  # after a blank: a second one
                else:
                    add(prefix + (c,), -math.inf, total + frame[c])
        ranked = sorted(nxt.items(), key=lambda kv: -np.logaddexp(*kv[1]))[:beam_width]
        beams = {prefix: (pb, pc) for prefix, (pb, pc) in ranked}
    prefix, (pb, pc) = max(beams.items(), key=lambda kv: np.logaddexp(*kv[1]))
    log_p = float(np.logaddexp(pb, pc))
    if score == "mean" and prefix:
        log_p /= len(prefix)
    elif score == "mean":  # empty text: the blank's mean probability, as greedy reports it
        return [], float(np.exp(logp[:, 0]).mean())
    return list(prefix), float(math.exp(log_p))


def decode_batch(logits: np.ndarray, beam_width: int = 1, score: str = "mean") -> list[tuple[list[int], float]]:
    """(ids, score) for each crop of (B, T, C) ``logits``, in order."""
    if beam_width < 1:
        raise ValueError(f"beam_width must be at least 1, got {beam_width}")
    if beam_width == 1:
        return [greedy(item, score) for item in logits]
    return [beam_search(item, beam_width, score) for item in logits]


def _check_score(score: str) -> None:
    if score not in SCORES:
        raise ValueError(f"unknown CTC score {score!r}; valid: {', '.join(SCORES)}")
