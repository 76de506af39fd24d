"""The evaluate stage's recognition path: a recognizer (and optionally a baseline) on every test LMDB.

Each test set is a DTRB LMDB folder (the input's name names it, e.g. ``IIIT5K``). Per model and set:
the crops are recognised with the task's predictor (``Recognizer.recognize``: the same preprocessing as
training and inference) and scored with ``models.metrics.recognition.benchmark_scores``:
``<set>.accuracy`` (standard rule: case-insensitive, letters and digits only, as DTRB and ABINet
report), ``<set>.accuracy_exact``, ``<set>.one_minus_ned``, ``<set>.char_precision``,
``<set>.char_recall``; then ``average.<metric>``, each weighted by its set's sample count (the
"average" column of the papers' tables). A baseline's are ``baseline.<set>.<metric>`` and
``<set>.accuracy_gain`` the difference.

Report (``report/``)::

    metrics.json                   every number (the names above), the params and the models
    benchmarks.csv                 one row per test set and the weighted average (also a table on the run)
    <set>/predictions.csv          index, label, prediction, score, correct (standard rule)
    <set>/by_length.csv            accuracy by label length (normalised characters)
    <set>/failures.png             crops read wrong, ground truth vs prediction (also MLflow images)
    baseline/<set>/...             the same for the baseline
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from models.metrics.recognition import benchmark_scores, normalize_text
from pipeline.stage import StageContext, StageResult
from stages.dataset.drawing import image_key, to_rgb, write_png
from stages.dataset.lmdb_words import LmdbWords
from stages.dataset.report_files import write_csv, write_json
from stages.dataset.word_grid import word_grid
from stages.evaluate.params import EvaluateParams

REPORT = "report"
METRIC_PREFIX = "test/"
SCORES = ("accuracy", "accuracy_exact", "one_minus_ned", "char_precision", "char_recall")
BENCHMARK_COLUMNS = ("testset", "num_samples", *SCORES)
LENGTH_BINS = (1, 3, 5, 7, 9, 11)  # label lengths: 1-2, 3-4, ..., 11+


@dataclass
class WordSet:
    """One test LMDB, read once: the decodable crops and their labels, and how many did not decode."""

    name: str
    crops: list[np.ndarray]
    labels: list[str]
    undecodable: int


def load_word_set(name: str, path: Path, max_samples: int | None = None) -> WordSet:
    """The test set ``name`` at ``path`` (a DTRB LMDB folder); a sample whose image does not decode is counted."""
    crops, labels, bad = [], [], 0
    for word in LmdbWords(path).words(max_samples):
        if word.image is None:
            bad += 1
            continue
        crops.append(word.image)
        labels.append(word.label)
    if not crops:
        raise ValueError(f"evaluate: test set {name!r} ({path}) has no decodable samples")
    return WordSet(name, crops, labels, bad)


def length_rows(labels: list[str], correct: list[bool]) -> list[dict[str, Any]]:
    """Accuracy by the length of the normalised label, in ``LENGTH_BINS`` (the last bin is open)."""
    lengths = [len(normalize_text(label, "ignore_case_symbol")) for label in labels]
    rows = []
    for k, lo in enumerate(LENGTH_BINS):
        hi = LENGTH_BINS[k + 1] if k + 1 < len(LENGTH_BINS) else None
        hits = [ok for n, ok in zip(lengths, correct) if n >= lo and (hi is None or n < hi)]
        rows.append({"length": f"{lo}-{hi - 1}" if hi else f"{lo}+", "num_samples": len(hits),
                     "accuracy": round(sum(hits) / len(hits), 6) if hits else None})
    return rows


@dataclass
class _Tally:
    metrics: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    results: dict[str, dict[str, Any]] = field(default_factory=dict)  # role -> set -> scores


def evaluate_set(role: str, model: Any, ws: WordSet, params: EvaluateParams, folder: Path, ctx: StageContext,
                 tally: _Tally) -> None:
    """One model on one test set: recognise, score, write ``folder/<set>/``, log failures, add to ``tally``."""
    started = time.time()
    rec = params.recognition
    found = model.recognize(ws.crops, dict(rec.options), rec.batch_size)
    preds = [text for text, _ in found]
    scores = benchmark_scores(ws.labels, preds)
    correct = [normalize_text(g, "ignore_case_symbol") == normalize_text(p, "ignore_case_symbol")
               for g, p in zip(ws.labels, preds)]
    out = folder / ws.name
    write_csv(out / "predictions.csv", [{"index": i + 1, "label": g, "prediction": p, "score": round(s, 6),
                                         "correct": ok}
                                        for i, (g, (p, s), ok) in enumerate(zip(ws.labels, found, correct))])
    write_csv(out / "by_length.csv", length_rows(ws.labels, correct))
    name = ws.name if role == "model" else f"{role}.{ws.name}"
    wrong = [i for i, ok in enumerate(correct) if not ok][: rec.num_failures]
    if wrong:
        grid = word_grid([ws.crops[i] for i in wrong], [ws.labels[i] for i in wrong], [preds[i] for i in wrong],
                         [False] * len(wrong))
        write_png(grid, out / "failures.png")
        ctx.log_image(image_key(name, "failures"), to_rgb(grid), 0)
    tally.metrics.update({f"{name}.{k}": scores[k] for k in SCORES})
    tally.results.setdefault(role, {})[ws.name] = {**scores, "undecodable": ws.undecodable}
    tally.counts[f"{name.replace('.', '_')}_samples"] = len(ws.labels)
    where = REPORT if role == "model" else f"{REPORT}/{role}"
    ctx.log_artifact(out, where)
    ctx.logger.info("evaluate: %s on %s: accuracy %.4f (exact %.4f, 1-NED %.4f); %d crops in %.1fs", role, ws.name,
                    scores["accuracy"], scores["accuracy_exact"], scores["one_minus_ned"], len(ws.labels),
                    time.time() - started)


def weighted_average(results: dict[str, dict[str, float]]) -> dict[str, float]:
    """Each score averaged over the test sets weighted by their sample counts (so = over all crops)."""
    total = sum(r["num_samples"] for r in results.values())
    return {k: sum(r[k] * r["num_samples"] for r in results.values()) / total for k in SCORES}


def benchmark_rows(results: dict[str, dict[str, float]]) -> list[dict[str, Any]]:
    """The papers' table: one row per test set, then the weighted average."""
    rows = [{"testset": n, "num_samples": int(r["num_samples"]), **{k: round(r[k], 6) for k in SCORES}}
            for n, r in results.items()]
    average = weighted_average(results)
    rows.append({"testset": "average", "num_samples": sum(r["num_samples"] for r in rows),
                 **{k: round(average[k], 6) for k in SCORES}})
    return rows


def run_recognition(params: EvaluateParams, models: dict[str, Any], sets: dict[str, Path], out_dir: Path,
                    ctx: StageContext, load: Any) -> StageResult:
    """Evaluate the recognizer ``models["model"]`` (a loaded predictor) and a baseline (``load("baseline")``
    when ``models`` names it) on every test LMDB in ``sets``; see the module docstring."""
    report = Path(out_dir) / REPORT
    wordsets = [load_word_set(n, p, params.recognition.max_samples) for n, p in sets.items()]
    tally = _Tally()
    # protocol: the rule the headline accuracy uses (the registry's champion gate compares like with like)
    summary: dict[str, Any] = {"task": "recognition", "protocol": "ignore_case_symbol",
                               "params": params.model_dump(mode="json"), "models": {}}
    for role in models:
        model = models[role] if models[role] is not None else load(role)
        summary["models"][role] = {"uri": model.uri, "sha256": model.sha256, "step": model.step}
        for ws in wordsets:
            evaluate_set(role, model, ws, params, report if role == "model" else report / role, ctx, tally)
        prefix = "" if role == "model" else f"{role}."
        average = weighted_average(tally.results[role])
        tally.metrics.update({f"{prefix}average.{k}": v for k, v in average.items()})
        rows = benchmark_rows(tally.results[role])
        write_csv(report / f"{prefix}benchmarks.csv", rows, BENCHMARK_COLUMNS)
        ctx.log_table({c: [r[c] for r in rows] for c in BENCHMARK_COLUMNS}, f"{REPORT}/{prefix}benchmarks.json")
    if "baseline" in models:
        tally.metrics.update({f"{ws.name}.accuracy_gain": tally.metrics[f"{ws.name}.accuracy"]
                              - tally.metrics[f"baseline.{ws.name}.accuracy"] for ws in wordsets})
    write_json(report / "metrics.json", {**summary, "results": tally.results, "metrics": tally.metrics})
    tally.counts["undecodable"] = sum(ws.undecodable for ws in wordsets)
    return StageResult(outputs={"report": REPORT}, counts=tally.counts,
                       metrics={f"{METRIC_PREFIX}{k}": v for k, v in tally.metrics.items()},
                       artifacts=[f"{REPORT}/metrics.json", f"{REPORT}/benchmarks.csv"], datasets=[],
                       extra={"models": summary["models"]})
