"""Validation of a recognizer during training: read a validation LMDB once, recognise its crops with the
task's predictor (``Recognizer.recognize``, the evaluate stage's path) and score them:
``accuracy`` (standard rule: case-insensitive alphanumerics), ``accuracy_exact`` and ``one_minus_ned``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from models.metrics.recognition import benchmark_scores, normalize_text
from stages.dataset.lmdb_words import LmdbWords

VAL_METRICS = ("accuracy", "accuracy_exact", "one_minus_ned")
_BATCH = 64


@dataclass
class ValWord:
    """One validation crop (RGB uint8) and its label."""

    image: np.ndarray
    label: str


def load_word_validation(path: Path, max_images: int | None = None) -> list[ValWord]:
    """The first ``max_images`` decodable samples of a validation LMDB (all when None)."""
    words = [ValWord(w.image, w.label) for w in LmdbWords(path).words(max_images) if w.image is not None]
    if not words:
        raise ValueError(f"validation set {path}: no decodable samples")
    return words


def evaluate_words(model: Any, model_config: dict[str, Any], words: list[ValWord], device: Any,
                   options: dict[str, Any] | None = None) -> tuple[dict[str, float], list[str]]:
    """(``VAL_METRICS`` scores, the predicted strings in order) of ``model`` on ``words``; the model is
    put back in training mode afterwards when it was in it."""
    from models.tasks import task_of

    was_training = model.training
    model.eval()
    try:
        recognizer = task_of(model_config).predictor(model, model_config, device)
        preds = [text for text, _ in recognizer.recognize([w.image for w in words], options or {}, _BATCH)]
    finally:
        model.train(was_training)
    scores = benchmark_scores([w.label for w in words], preds)
    return {k: scores[k] for k in VAL_METRICS}, preds


def draw_word_samples(words: list[ValWord], preds: list[str], count: int) -> list[np.ndarray]:
    """One RGB grid of the first ``count`` validation crops with ground truth and prediction (the same crops
    at every validation, so MLflow steps through how the readings change)."""
    from stages.dataset.drawing import to_rgb
    from stages.dataset.word_grid import word_grid

    shown = words[:count]
    if not shown:
        return []
    correct = [normalize_text(w.label, "ignore_case_symbol") == normalize_text(p, "ignore_case_symbol")
               for w, p in zip(shown, preds)]
    return [to_rgb(word_grid([w.image for w in shown], [w.label for w in shown], preds[:count], correct))]
