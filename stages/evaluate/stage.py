"""The ``evaluate`` stage: run a trained detector over test sets and report how well it does, and where.

A recognizer (a model of the ``recognition`` task) is evaluated on test LMDBs instead: see ``rec_eval``.

Inputs: ``model`` (a folder holding ``checkpoint.pt``; or ``model_uri``: a path, file://, runs:/ or
models:/ URI), optionally ``baseline`` (or ``baseline_uri``), a second model evaluated the same way
so both are logged side by side; every other input is a test set: a folder with ``annotations.json``
(COCO, ``iscrowd`` = don't care) and ``images/``. The input's name names the test set.

For each model and test set: batched inference (``inference``; on GPU when the stage has one), the
protocol's precision / recall / hmean at ``box_thresh``, a sweep over ``thresholds`` reporting the best,
the scale / rotation breakdown (``analysis``), rendered samples and an RRC submission zip (``report``).

Output ``report/``::

    metrics.json                  every number, the params and the models' uris and sha256
    per_image.csv                 one row per model x test set x image
    <testset>/breakdown.{json,csv,png}  sweep.png  submission.zip  samples/<image id>.png
    <testset>/spot_by_height.csv  spot_by_angle.csv  spot_bins.png   with a recognizer (``spot_analysis``)
    <testset>/spot_bins_vs_baseline.csv   model and baseline per bin side by side, when both were read
    baseline/<testset>/...        the same for the baseline model

Metrics (on the stage's MLflow run and in its result): ``test/<testset>.hmean|precision|recall|best_hmean|
best_threshold``, the baseline's ``test/baseline.<testset>.<metric>``, and ``test/<testset>.hmean_gain``
(model - baseline); ``metrics.json`` holds the same numbers without the ``test/`` prefix (the names the
register stage's ``benchmark_metric`` reads). The threshold sweep is a table on the run
(``report/[baseline/]sweep_<testset>.json``: threshold, precision, recall, hmean) beside ``sweep.png``;
the drawn samples are also logged as images ``samples/[baseline.]<testset>.<image id>``. With a recognizer,
recognition accuracy and end-to-end recall per word-height and reading-angle bin are a table on the run too
(``report/[baseline/]spot_bins_<testset>.json``). Each test
set's folder is logged as artifacts under ``report/`` when done; ``metrics.json`` and ``per_image.csv``
are the stage's artifacts (``outputs/``).
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from models.checkpoint import load_predictor
from models.detection.protocols import PROTOCOLS, sweep as protocol_sweep
from models.metrics.types import DetPoly, DetResult, GtPoly
from models.tasks import task_of
from pipeline.stage import (
    StageContext,
    StageDef,
    StageResult,
    stage_tracking_uri,
)
from stages.dataset.drawing import image_key, to_rgb
from stages.dataset.report_files import sample_indices, write_csv, write_json
from stages.evaluate.params import EvaluateParams

from . import report as rep
from .analysis import (
    BinStats,
    breakdown,
    breakdown_json,
    breakdown_rows,
)
from .inference import TestSet, load_testset, pick_device, predict
from .rec_eval import run_recognition
from .spot_analysis import (
    COLUMNS as SPOT_COLUMNS,
    COMPARE_COLUMNS,
    spot_breakdown,
    spot_comparison,
    spot_rows,
    spot_table,
)
from .spot_eval import e2e_protocols, e2e_scores, has_transcriptions, load_recognizer, read_detections
from .spotter import is_spotter

MODEL_INPUTS = ("model", "baseline", "recognizer")
REPORT = "report"
METRIC_PREFIX = "test/"  # of every metric on the stage's MLflow run and in its result
_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
PER_IMAGE_COLUMNS = ("model", "testset", "image_id", "file_name", "width", "height", "num_gt", "num_gt_care",
                     "num_det", "num_det_care", "matched", "precision", "recall", "hmean")


@dataclass
class TestSetEval:
    """One model on one test set.

    result: the protocol's result at ``box_thresh``; preds: the detections it scored (the zip holds
    exactly these); sweep: precision / recall / hmean per threshold; best: the sweep's best entry
    (ties: the lowest threshold); bins: the scale / rotation breakdown of ``result``.
    """

    result: DetResult
    preds: dict[str, list[DetPoly]]
    sweep: list[dict[str, float]]
    best: dict[str, float]
    bins: dict[str, list[BinStats]]
    spot_bins: dict[str, list[Any]] | None = None  # set when a recognizer read the detections (spot_analysis)

    def metrics(self, name: str) -> dict[str, float]:
        """The headline metrics named ``<name>.<metric>``."""
        r = self.result
        return {f"{name}.hmean": r.hmean, f"{name}.precision": r.precision, f"{name}.recall": r.recall,
                f"{name}.best_hmean": self.best["hmean"], f"{name}.best_threshold": self.best["score_threshold"]}


def _above(preds: dict[str, list[DetPoly]], threshold: float) -> dict[str, list[DetPoly]]:
    return {k: [d for d in dets if d.score >= threshold] for k, dets in preds.items()}


def evaluate_predictions(gts: dict[str, list[GtPoly]], preds: dict[str, list[DetPoly]],
                         params: EvaluateParams | None = None) -> TestSetEval:
    """Score given detections against ground truth: headline at ``box_thresh``, threshold sweep, breakdown.

    The model-free core of the stage (the stage calls it with the model's detections).
    """
    params = params or EvaluateParams()
    kept = _above(preds, params.box_thresh)
    result = PROTOCOLS[params.protocol](gts, kept)
    sweep = protocol_sweep(gts, preds, params.protocol, params.thresholds)
    headline = {"score_threshold": params.box_thresh, "precision": result.precision, "recall": result.recall,
                "hmean": result.hmean}
    best = max(sweep, key=lambda p: p["hmean"]) if sweep else headline  # max keeps the first of ties
    bins = breakdown(gts, kept, result, params.height_bins, params.angle_bins)
    return TestSetEval(result, kept, sweep, best, bins)


def _decode_options(params: EvaluateParams) -> dict[str, Any]:
    # Decode down to the lowest swept threshold; the headline keeps only scores >= box_thresh.
    low = min([params.box_thresh, *params.thresholds])
    return {"mode": params.mode, "thresh": params.thresh, "box_thresh": low, "unclip_ratio": params.unclip_ratio}


def _model_uris(params: EvaluateParams, inputs: dict[str, Path]) -> dict[str, str]:
    """{"model": uri[, "baseline": uri]} from the inputs or the params (not both)."""
    uris = {}
    for role, given in (("model", params.model_uri), ("baseline", params.baseline_uri),
                        ("recognizer", params.recognizer_uri)):
        if role in inputs and given is not None:
            raise ValueError(f"evaluate: both an input {role!r} and {role}_uri are given; use one")
        if role in inputs or given is not None:
            uris[role] = str(inputs[role]) if role in inputs else given
    if "model" not in uris:
        raise ValueError("evaluate: no model: give an input named 'model' (a folder with checkpoint.pt) or model_uri")
    return uris


def _testsets(inputs: dict[str, Path]) -> dict[str, Path]:
    sets = {name: Path(path) for name, path in sorted(inputs.items()) if name not in MODEL_INPUTS}
    if not sets:
        raise ValueError(f"evaluate: no test set: every input other than {'/'.join(MODEL_INPUTS)} is one; "
                         f"got inputs {sorted(inputs)}")
    bad = [n for n in sets if not _NAME.match(n)]
    if bad:
        raise ValueError(f"evaluate: test set names {bad} must use letters, digits, '_' and '-' "
                         "(they name folders and metrics)")
    return sets


def _per_image_rows(role: str, ts: TestSet, ev: TestSetEval) -> list[dict[str, Any]]:
    rows = []
    for img in ts.images:
        r = ev.result.per_image[img.image_id]
        rows.append({"model": role, "testset": ts.name, "image_id": img.image_id, "file_name": img.path.name,
                     "width": img.width, "height": img.height, "num_gt": r.num_gt, "num_gt_care": r.num_gt_care,
                     "num_det": r.num_det, "num_det_care": r.num_det_care, "matched": len(r.pairs),
                     "precision": round(r.precision, 6), "recall": round(r.recall, 6), "hmean": round(r.hmean, 6)})
    return rows


def write_testset_report(folder: Path, ts: TestSet, ev: TestSetEval, params: EvaluateParams,
                         title: str) -> list[tuple[str, Any]]:
    """breakdown.{json,csv,png}, sweep.png, submission.zip and samples/*.png of one model on one test set;
    returns the drawn samples as (image id, BGR image with its legend)."""
    write_json(folder / "breakdown.json", {"summary": ev.result.summary(), "best": ev.best, "sweep": ev.sweep,
                                               "breakdown": breakdown_json(ev.bins)})
    write_csv(folder / "breakdown.csv", breakdown_rows(ev.bins),
                  ("axis", "label", "lo", "hi", "gt", "gt_matched", "recall", "det", "det_matched", "precision"))
    rep.plot_breakdown(ev.bins, folder / "breakdown.png", f"{title}: recall / precision by text height and angle")
    if ev.sweep:
        rep.plot_sweep(ev.sweep, folder / "sweep.png", f"{title}: score threshold sweep", params.box_thresh)
    rep.write_submission(folder / "submission.zip", [i.image_id for i in ts.images], ev.preds, params.submission_scores)
    samples = []
    for k in sample_indices(len(ts.images), params.num_render):
        img = ts.images[k]
        samples.append((img.image_id, rep.render_sample(img.path, ts.gts[img.image_id], ev.preds.get(img.image_id, []),
                                                        folder / "samples" / f"{img.image_id}.png")))
    return samples


def sweep_table(sweep: list[dict[str, float]]) -> dict[str, list[float]]:
    """The threshold sweep as table columns, one row per swept threshold."""
    return {"threshold": [p["score_threshold"] for p in sweep], "precision": [p["precision"] for p in sweep],
            "recall": [p["recall"] for p in sweep], "hmean": [p["hmean"] for p in sweep]}


def run(params: EvaluateParams, inputs: dict[str, Path], out_dir: Path, ctx: StageContext) -> StageResult:
    """Evaluate the model (and baseline) on every test-set input; write ``report/``; see the module docstring."""
    uris = _model_uris(params, inputs)
    device = pick_device(ctx.num_gpus, ctx.logger)
    first = load_predictor(uris["model"], device, stage_tracking_uri(ctx))
    if task_of(first.config).name == "recognition":  # test sets are LMDBs of word crops
        if "recognizer" in uris:
            raise ValueError("evaluate: recognizer_uri / a recognizer input reads a detector's boxes, but the "
                             "model is itself a recognizer")
        return run_recognition(params, {"model": first, **({"baseline": None} if "baseline" in uris else {})},
                               _testsets(inputs), out_dir, ctx,
                               lambda role: load_predictor(uris[role], device, stage_tracking_uri(ctx)))
    testsets = {name: load_testset(name, path) for name, path in _testsets(inputs).items()}
    report = Path(out_dir) / REPORT
    tally = _Tally()
    # A spotting model reads its own detections; the recognizer (if any) reads the detectors'.
    reader = load_recognizer(uris.pop("recognizer"), device, stage_tracking_uri(ctx)) if "recognizer" in uris else None
    summary: dict[str, Any] = {"protocol": params.protocol, "params": params.model_dump(mode="json"), "models": {}}
    if reader is not None:
        summary["recognizer"] = {"uri": reader.uri, "sha256": reader.sha256, "step": reader.step}
    for role, uri in uris.items():
        model = first if role == "model" else load_predictor(uri, device, stage_tracking_uri(ctx))
        summary["models"][role] = {"uri": uri, "sha256": model.sha256, "step": model.step, "device": str(device)}
        for ts in testsets.values():
            _evaluate_one(role, model, ts, params, report if role == "model" else report / role, ctx, tally,
                          model if is_spotter(model) else reader)
        del model  # free the device before the next model
        first = None
        if device.type == "cuda":
            import torch

            torch.cuda.empty_cache()
    if "baseline" in uris:
        tally.metrics.update({f"{n}.hmean_gain": tally.metrics[f"{n}.hmean"] - tally.metrics[f"baseline.{n}.hmean"]
                              for n in testsets})
        _compare_spot_bins(tally, report, ctx)
    if tally.e2e_protocols:
        summary["e2e_protocols"] = tally.e2e_protocols
    write_json(report / "metrics.json", {**summary, "results": tally.results, "metrics": tally.metrics})
    write_csv(report / "per_image.csv", tally.rows, PER_IMAGE_COLUMNS)
    return StageResult(outputs={"report": REPORT}, counts=tally.counts,
                       metrics={f"{METRIC_PREFIX}{k}": v for k, v in tally.metrics.items()},
                       artifacts=[f"{REPORT}/metrics.json", f"{REPORT}/per_image.csv"], datasets=[],
                       extra={"models": summary["models"]})


def _compare_spot_bins(tally: "_Tally", report: Path, ctx: StageContext) -> None:
    """Where both the model and the baseline were read end to end on a test set: their per-bin results side by
    side in ``<set>/spot_bins_vs_baseline.csv`` and the table ``report/spot_bins_vs_baseline_<set>.json``."""
    for name, bins in tally.spot_bins.get("model", {}).items():
        theirs = tally.spot_bins.get("baseline", {}).get(name)
        if theirs is None:
            continue
        rows = spot_comparison(bins, theirs)
        write_csv(report / name / "spot_bins_vs_baseline.csv", rows, COMPARE_COLUMNS)
        ctx.log_artifact(report / name / "spot_bins_vs_baseline.csv", f"{REPORT}/{name}")
        ctx.log_table({c: [r[c] for r in rows] for c in COMPARE_COLUMNS}, f"{REPORT}/spot_bins_vs_baseline_{name}.json")


@dataclass
class _Tally:
    """What the stage gathers over models and test sets."""

    metrics: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    rows: list[dict[str, Any]] = field(default_factory=list)
    results: dict[str, dict[str, Any]] = field(default_factory=dict)  # role -> test set -> summary
    e2e_protocols: dict[str, dict[str, str]] = field(default_factory=dict)  # test set -> what e2e_* means there
    spot_bins: dict[str, dict[str, Any]] = field(default_factory=dict)  # role -> test set -> per-bin spotting


def _spot_one(reader: Any, ts: TestSet, ev: TestSetEval, params: EvaluateParams, folder: Path, title: str,
              name: str) -> dict[str, float]:
    """Read ``ev.preds`` with ``reader``, score end to end, bin by word height and reading angle (kept on
    ``ev.spot_bins``), write ``spot_by_height.csv``, ``spot_by_angle.csv`` and ``spot_bins.png``."""
    read = read_detections(reader, ts, ev.preds, params.recognition.batch_size, params.image_size)
    metrics, generic = e2e_scores(ts.gts, read, name)
    ev.spot_bins = spot_breakdown(ts.gts, read, generic, params.height_bins, params.reading_angle_bins)
    for axis in ("height", "angle"):
        write_csv(folder / f"spot_by_{axis}.csv", spot_rows(ev.spot_bins, axis), SPOT_COLUMNS)
    rep.plot_spot_bins(ev.spot_bins, folder / "spot_bins.png",
                       f"{title}: recognition accuracy / end-to-end recall by word height and reading angle")
    return metrics


def _evaluate_one(role: str, model: Any, ts: TestSet, params: EvaluateParams, folder: Path,
                  ctx: StageContext, tally: _Tally, reader: Any = None) -> None:
    """One model on one test set: predict, score, write ``folder/<test set>/``, log, add to ``tally``."""
    started = time.time()
    preds = predict(model, ts.images, image_size=params.image_size, batch_size=params.batch_size,
                    options=_decode_options(params), workers=max(1, int(ctx.num_cpus)))
    ev = evaluate_predictions(ts.gts, preds, params)
    samples = write_testset_report(folder / ts.name, ts, ev, params, f"{role} on {ts.name}")
    name = ts.name if role == "model" else f"{role}.{ts.name}"
    tally.metrics.update(ev.metrics(name))
    where = REPORT if role == "model" else f"{REPORT}/{role}"
    if reader is not None and has_transcriptions(ts):
        spotted = _spot_one(reader, ts, ev, params, folder / ts.name, f"{role} on {ts.name}", name)
        tally.metrics.update(spotted)
        tally.e2e_protocols[ts.name] = e2e_protocols(ts.gts)
        tally.spot_bins.setdefault(role, {})[ts.name] = ev.spot_bins
        ctx.log_table(spot_table(ev.spot_bins), f"{where}/spot_bins_{ts.name}.json")
        ctx.logger.info("evaluate: %s on %s end to end: hmean %.4f, word spotting %.4f", role, ts.name,
                        spotted[f"{name}.e2e_hmean"], spotted[f"{name}.wordspotting_hmean"])
    tally.results.setdefault(role, {})[ts.name] = {**ev.result.summary(), "best": ev.best, "sweep": ev.sweep}
    tally.rows += _per_image_rows(role, ts, ev)
    tally.counts[f"{name.replace('.', '_')}_images"] = len(ts.images)
    tally.counts[f"{name.replace('.', '_')}_detections"] = sum(len(d) for d in ev.preds.values())
    if ev.sweep:
        ctx.log_table(sweep_table(ev.sweep), f"{where}/sweep_{ts.name}.json")
    for image_id, drawn in samples:
        ctx.log_image(image_key(name, image_id), to_rgb(drawn), 0)
    ctx.log_artifact(folder / ts.name, where)
    ctx.logger.info("evaluate: %s on %s: hmean %.4f (P %.4f R %.4f), best %.4f at %.2f; %d images in %.1fs",
                    role, ts.name, ev.result.hmean, ev.result.precision, ev.result.recall, ev.best["hmean"],
                    ev.best["score_threshold"], len(ts.images), time.time() - started)


STAGE = StageDef(
    name="evaluate",
    fn=run,
    params=EvaluateParams,
    version="1",
    outputs=lambda p: ["report"],
    description="detector metrics (icdar15 / deteval / pascal), threshold sweep, scale/angle breakdown, samples, "
                "RRC zip; recognizer accuracy / 1-NED per test LMDB with the weighted average",
    headline=("test/*.hmean", "test/*.accuracy"),
)
