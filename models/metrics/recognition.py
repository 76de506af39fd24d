"""Word-recognition metrics: word accuracy, character precision / recall and 1-NED.

Normalisation modes (applied to both the ground truth and the prediction before every metric):

* ``exact``: strings compared as they are.
* ``ignore_case``: ``str.lower()`` on both.
* ``ignore_case_symbol`` (the academic default, e.g. the deep-text-recognition-benchmark
  evaluation): lower-case, then keep only letters and digits. "Letters and digits" means
  ``str.isalnum()``, so accented letters and CJK characters are kept; on ASCII text this is the
  familiar ``[0-9a-z]`` filter.

Metrics, over N (ground truth, prediction) pairs after normalisation:

* word_acc = (# pairs equal) / N.
* char_precision = sum(TP) / sum(len(pred)), char_recall = sum(TP) / sum(len(gt)), where TP is the
  length of the longest common subsequence of the pair (characters recognised in order). A zero
  denominator gives 0.
* one_minus_ned (ICDAR 2019 ArT / ReCTS / LSVT): mean over pairs of
  1 - edit_distance(gt, pred) / max(len(gt), len(pred)), edit distance = Levenshtein (unit costs).
  **Empty vs empty counts 1.0** (identical strings, nothing to normalise by); empty vs non-empty
  counts 0.0. The same holds when normalisation empties a string (a gt of only symbols).
"""
from __future__ import annotations

RECOGNITION_MODES = ("exact", "ignore_case", "ignore_case_symbol")


def normalize_text(text: str, mode: str) -> str:
    """Apply one of ``RECOGNITION_MODES`` to a string."""
    if mode == "exact":
        return text
    if mode == "ignore_case":
        return text.lower()
    if mode == "ignore_case_symbol":
        return "".join(c for c in text.lower() if c.isalnum())
    raise ValueError(f"unknown recognition mode {mode!r}; valid: {', '.join(RECOGNITION_MODES)}")


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insert, delete, substitute all cost 1)."""
    if a == b:
        return 0
    if len(a) < len(b):
        a, b = b, a
    if not b:
        return len(a)
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def lcs_length(a: str, b: str) -> int:
    """Length of the longest common subsequence of two strings."""
    if a == b:
        return len(a)
    if not a or not b:
        return 0
    prev = [0] * (len(b) + 1)
    for ca in a:
        cur = [0]
        for j, cb in enumerate(b, 1):
            cur.append(prev[j - 1] + 1 if ca == cb else max(prev[j], cur[j - 1]))
        prev = cur
    return prev[-1]


def recognition_metrics(gts: list[str], preds: list[str], mode: str = "ignore_case_symbol") -> dict:
    """Word accuracy, character precision / recall and 1-NED of ``preds`` against ``gts`` (same order).

    Returns {"mode", "num_samples", "num_correct", "word_acc", "char_precision", "char_recall",
    "one_minus_ned"}; every ratio is 0.0 for an empty input.
    """
    if len(gts) != len(preds):
        raise ValueError(f"{len(gts)} ground truths but {len(preds)} predictions")
    correct = tp = n_pred_chars = n_gt_chars = 0
    ned_sum = 0.0
    for gt_raw, pred_raw in zip(gts, preds):
        gt, pred = normalize_text(gt_raw, mode), normalize_text(pred_raw, mode)
        correct += gt == pred
        tp += lcs_length(gt, pred)
        n_gt_chars += len(gt)
        n_pred_chars += len(pred)
        longest = max(len(gt), len(pred))
        ned_sum += 1.0 if longest == 0 else 1.0 - edit_distance(gt, pred) / longest
    n = len(gts)
    return {
        "mode": mode,
        "num_samples": n,
        "num_correct": correct,
        "word_acc": correct / n if n else 0.0,
        "char_precision": tp / n_pred_chars if n_pred_chars else 0.0,
        "char_recall": tp / n_gt_chars if n_gt_chars else 0.0,
        "one_minus_ned": ned_sum / n if n else 0.0,
    }


def benchmark_scores(gts: list[str], preds: list[str]) -> dict[str, float]:
    """The numbers recognition results are reported with, by their metric names: ``accuracy`` (the standard
    rule, ``ignore_case_symbol``, as DTRB and ABINet report), ``accuracy_exact``, ``one_minus_ned`` (exact
    strings), ``char_precision`` / ``char_recall`` (standard rule) and ``num_samples``."""
    standard = recognition_metrics(gts, preds, "ignore_case_symbol")
    exact = recognition_metrics(gts, preds, "exact")
    return {"accuracy": standard["word_acc"], "accuracy_exact": exact["word_acc"],
            "one_minus_ned": exact["one_minus_ned"], "char_precision": standard["char_precision"],
            "char_recall": standard["char_recall"], "num_samples": float(standard["num_samples"])}
