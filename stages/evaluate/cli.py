"""Offline evaluator commands (wired by the pipeline CLI as ``eval-det`` and ``eval-rec``).

``eval-det --gt PATH --pred PATH [--protocol icdar15|deteval|pascal|e2e|wordspotting]
[--coords quad|polygon] [--pred-order xy|yx] [--details OUT.json] [--score-threshold T]
[--matching greedy|max] [--int-coords]``
prints one JSON object on stdout: protocol, precision, recall, hmean, num_images, num_gt_care,
num_det_care, the numerators / denominators and the protocol's params. ``--details`` also writes
that object with a ``per_image`` map (each image's counts, values, matched pairs and don't cares).
Formats and the two coordinate rules of txt files: see ``stages.evaluate.formats``; ``DET_EPILOG``
(printed by ``--help``) says which rule and order each protocol reads by default.

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

from models.detection.protocols import PROTOCOLS as DETECTION_PROTOCOLS
from models.metrics import RECOGNITION_MODES, evaluate_e2e, recognition_metrics
from models.metrics.types import DetResult
from stages.dataset.records import ParseError

from .formats import COORD_RULES, ORDERS, load_gt, load_predictions
from .rec_formats import align, load_rec_gt, load_rec_preds

# The detection task's protocols, then the end-to-end ones (detections with transcriptions).
PROTOCOLS = (*DETECTION_PROTOCOLS, "e2e", "wordspotting")
# The coordinate rule each protocol's official script reads txt files with.
DEFAULT_COORDS = {"icdar15": "quad", "e2e": "quad", "wordspotting": "quad", "deteval": "polygon", "pascal": "polygon"}

DET_EPILOG = """\
txt lines (ground truth gt_<id>.txt, predictions res_<id>.txt or <id>.txt, in a folder or a flat zip):
  --coords quad     (default for icdar15, e2e, wordspotting: the RRC rule) exactly 8 integer coordinates,
                    then for ground truth and e2e/wordspotting predictions the transcription, the whole rest
                    of the line, commas allowed:        377,117,463,117,465,130,378,130,1,000
                    detection predictions: nothing or a confidence in [0, 1] on every line of a file
                    (lines are then matched by descending confidence, as the RRC script does):
                                                        377,117,463,117,465,130,378,130[,0.93]
  --coords polygon  (default for deteval, pascal) x1,y1,...,xn,yn with n >= 3, ints or floats, then
                    [,score] in predictions or ,transcription in ground truth:
                                                        10,20,30,20.5,40,35,10,36,0.8
  --pred-order xy   (default) predictions' pairs are x,y. yx: y1,x1,...,yn,xn, how Total-Text's official
                    Deteval.py reads txt predictions; polygon-rule txt predictions only. With Total-Text
                    .mat ground truth and txt predictions, no --pred-order warns and reads x,y.
Ground truth .mat (Total-Text) and .json (COCO), predictions .mat (accuInf) and .json are x,y always.
"""


def _det_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="eval-det", description="Evaluate text detections against ground truth.",
                                epilog=DET_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--gt", required=True, help="ICDAR gt folder/zip, Total-Text .mat folder or COCO json")
    p.add_argument("--pred", required=True, help="res_*.txt folder/zip, Total-Text .mat folder or predictions json")
    p.add_argument("--protocol", default="icdar15", choices=PROTOCOLS, help="default: icdar15")
    p.add_argument("--coords", choices=COORD_RULES,
                   help="coordinate rule of txt lines; default: quad for icdar15/e2e/wordspotting, polygon otherwise")
    p.add_argument("--pred-order", choices=ORDERS, help="pair order of polygon-rule txt predictions; default: xy")
    p.add_argument("--details", type=Path, help="also write per-image details to this JSON file")
    p.add_argument("--score-threshold", type=float, help="icdar15: drop detections scoring below this")
    p.add_argument("--matching", default="greedy", choices=("greedy", "max"), help="icdar15 matching rule")
    p.add_argument("--int-coords", action="store_true", help="truncate coordinates to integers, as the RRC script does")
    return p


def _warn_unordered_totaltext(args: argparse.Namespace) -> None:
    """Total-Text .mat ground truth with txt predictions and no --pred-order: say which order is read."""
    gt, pred = Path(args.gt), Path(args.pred)
    if args.pred_order is not None or not gt.is_dir() or any(gt.glob("*.txt")) or not any(gt.glob("*.mat")):
        return
    if pred.is_dir() and any(pred.glob("*.txt")) or pred.is_file() and pred.suffix.lower() == ".zip":
        print("eval-det: warning: Total-Text ground truth with txt predictions: reading x,y pairs; files written "
              "for the official Deteval.py hold y,x pairs: pass --pred-order yx for those (--pred-order xy "
              "silences this)", file=sys.stderr)


def _run_protocol(args: argparse.Namespace, gts: dict, preds: dict) -> DetResult:
    if args.protocol == "icdar15":  # the one protocol with a threshold and a matching rule to choose
        return DETECTION_PROTOCOLS["icdar15"](gts, preds, score_threshold=args.score_threshold, matching=args.matching)
    if args.protocol in DETECTION_PROTOCOLS:
        return DETECTION_PROTOCOLS[args.protocol](gts, preds)
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
    coords = args.coords or DEFAULT_COORDS[args.protocol]
    _warn_unordered_totaltext(args)
    try:
        gts = load_gt(args.gt, int_coords=args.int_coords, coords=coords)
        preds = load_predictions(args.pred, gt_ids=gts, with_text=args.protocol in ("e2e", "wordspotting"),
                                 int_coords=args.int_coords, coords=coords, order=args.pred_order or "xy")
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
