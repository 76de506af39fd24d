"""Offline evaluator commands (wired by the pipeline CLI as ``eval-det`` and ``eval-rec``).

``eval-det --gt PATH --pred PATH [--protocol icdar15|deteval|pascal|e2e|wordspotting]
[--details OUT.json] [--score-threshold T] [--matching greedy|max] [--int-coords]``
prints one JSON object on stdout: protocol, precision, recall, hmean, num_images, num_gt_care,
num_det_care, the numerators / denominators and the protocol's params. ``--details`` also writes
that object with a ``per_image`` map (each image's counts, values, matched pairs and don't cares).
Formats: see ``stages.evaluate.formats``. ``e2e`` / ``wordspotting`` are ICDAR 2015 end-to-end
(predictions carry transcriptions: txt lines ``x1,y1,...,transcription`` or json ``texts``).

``eval-rec --gt LMDB|labels.txt --pred preds.txt [--mode exact|ignore_case|ignore_case_symbol]``
prints one JSON object: mode, word_acc, char_precision, char_recall, one_minus_ned, num_samples,
num_correct, num_missing. Formats: see ``stages.evaluate.rec_formats``.

Bad input exits with code 2 and one message on stderr naming the file (and line).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from stages.convert.records import ParseError

from .formats import load_gt, load_predictions
from .metrics import RECOGNITION_MODES, evaluate_deteval, evaluate_e2e, evaluate_icdar15, evaluate_pascal
from .metrics import recognition_metrics
from .metrics.types import DetResult
from .rec_formats import align, load_rec_gt, load_rec_preds

PROTOCOLS = ("icdar15", "deteval", "pascal", "e2e", "wordspotting")


def _det_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="eval-det", description="Evaluate text detections against ground truth.")
    p.add_argument("--gt", required=True, help="ICDAR gt folder/zip, Total-Text .mat folder or COCO json")
    p.add_argument("--pred", required=True, help="res_*.txt folder/zip, Total-Text .mat folder or predictions json")
    p.add_argument("--protocol", default="icdar15", choices=PROTOCOLS)
    p.add_argument("--details", type=Path, help="also write per-image details to this JSON file")
    p.add_argument("--score-threshold", type=float, help="icdar15: drop detections scoring below this")
    p.add_argument("--matching", default="greedy", choices=("greedy", "max"), help="icdar15 matching rule")
    p.add_argument("--int-coords", action="store_true", help="truncate coordinates to integers, as the RRC script does")
    return p


def _run_protocol(args: argparse.Namespace, gts: dict, preds: dict) -> DetResult:
    if args.protocol == "icdar15":
        return evaluate_icdar15(gts, preds, score_threshold=args.score_threshold, matching=args.matching)
    if args.protocol == "deteval":
        return evaluate_deteval(gts, preds)
    if args.protocol == "pascal":
        return evaluate_pascal(gts, preds)
    return evaluate_e2e(gts, preds, word_spotting=args.protocol == "wordspotting")


def _parse(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace | int:
    """Parsed args, or the exit code argparse chose (--help: 0, usage error: 2)."""
    try:
        return parser.parse_args(argv)
    except SystemExit as e:
        return int(e.code or 0)


def _fail(prog: str, err: Exception) -> int:
    print(f"{prog}: error: {err}", file=sys.stderr)
    return 2


def main_eval_det(argv: list[str]) -> int:
    """``eval-det``: print detection (or end-to-end) metrics as one JSON line; 0 on success, 2 on bad input."""
    args = _parse(_det_parser(), argv)
    if isinstance(args, int):
        return args
    if args.protocol != "icdar15" and (args.score_threshold is not None or args.matching != "greedy"):
        return _fail("eval-det", ValueError("--score-threshold and --matching apply to --protocol icdar15 only"))
    try:
        gts = load_gt(args.gt, int_coords=args.int_coords)
        preds = load_predictions(args.pred, gt_ids=gts, with_text=args.protocol in ("e2e", "wordspotting"),
                                 int_coords=args.int_coords)
        result = _run_protocol(args, gts, preds)
    except (ParseError, ValueError, OSError) as e:
        return _fail("eval-det", e)
    summary = result.summary()
    if args.details is not None:
        details = {**summary, "per_image": {str(k): v.to_dict() for k, v in result.per_image.items()}}
        try:
            args.details.write_text(json.dumps(details, indent=1))
        except OSError as e:
            return _fail("eval-det", e)
    print(json.dumps(summary))
    return 0


def main_eval_rec(argv: list[str]) -> int:
    """``eval-rec``: print recognition metrics as one JSON line; 0 on success, 2 on bad input."""
    p = argparse.ArgumentParser(prog="eval-rec", description="Evaluate word recognition against ground truth.")
    p.add_argument("--gt", required=True, help="LMDB folder or labels file (name<TAB>label)")
    p.add_argument("--pred", required=True, help="predictions file (name-or-index<TAB>prediction)")
    p.add_argument("--mode", default="ignore_case_symbol", choices=RECOGNITION_MODES)
    args = _parse(p, argv)
    if isinstance(args, int):
        return args
    try:
        gt = load_rec_gt(args.gt)
        labels, preds, missing = align(gt, load_rec_preds(args.pred), args.pred)
    except (ParseError, ValueError, OSError) as e:
        return _fail("eval-rec", e)
    print(json.dumps({**recognition_metrics(labels, preds, args.mode), "num_missing": missing}))
    return 0
