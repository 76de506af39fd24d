"""The recognition task's metrics by name (``models.task.Task.metrics``); the first, ``word_acc``, is the default.

Each is ``fn(gts: list[str], preds: list[str]) -> float`` over pairs in the same order, computed by
``models.metrics.recognition`` (its docstring defines every rule):

* ``word_acc``: word accuracy under the academic rule (case-insensitive, letters and digits only);
* ``word_acc_exact``: word accuracy on the strings as they are;
* ``one_minus_ned``: 1 - normalised edit distance, on the strings as they are (ArT / LSVT / ReCTS);
* ``char_precision`` / ``char_recall``: characters recognised in order, academic rule.
"""
from __future__ import annotations

from typing import Callable

from models.metrics.recognition import recognition_metrics


def _metric(key: str, mode: str) -> Callable[[list[str], list[str]], float]:
    def score(gts: list[str], preds: list[str]) -> float:
        return float(recognition_metrics(gts, preds, mode)[key])

    score.__name__ = f"{key}_{mode}"
    score.__doc__ = f"``{key}`` of ``models.metrics.recognition.recognition_metrics`` in mode ``{mode}``."
    return score


METRICS: dict[str, Callable[[list[str], list[str]], float]] = {
    "word_acc": _metric("word_acc", "ignore_case_symbol"),
    "word_acc_exact": _metric("word_acc", "exact"),
    "one_minus_ned": _metric("one_minus_ned", "exact"),
    "char_precision": _metric("char_precision", "ignore_case_symbol"),
    "char_recall": _metric("char_recall", "ignore_case_symbol"),
}
