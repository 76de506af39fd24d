"""``python -m pipeline infer``: run a detector over images and write its detections (a recognizer: the
text of each word crop, see ``rec_infer``).

    python -m pipeline infer --model models:/scenetext-det@champion --images photos/ --out results/
    python -m pipeline infer --model runs:/<run id>/model --images 'shots/**/*.jpg' --out results/ --device cuda
    python -m pipeline infer --model artifacts/finetune/<key>/model --images img_1.jpg --out results/

The model is a registry URI (``models:/NAME@ALIAS`` or ``models:/NAME/VERSION``), a ``runs:/`` URI or a
local checkpoint (file or folder): MLflow URIs are downloaded from the tracking server, so a machine
that can only reach the server (not the training run's files) can run it. ``--images`` is a folder
(its image files), one file, or a glob (``**`` recurses).

Output folder::

    json/<stem>.json        {"file_name", "width", "height", "frame", "polygons": [[x1, y1, ...]], "scores": [...]}
    res/res_<stem>.txt      ICDAR style, one polygon a line: x1,y1,...,xn,yn (integer pixels)
    vis/<stem>.jpg          the image with its polygons drawn
    predictions.json        every image as above ({"images": [...]}: what ``eval-det`` reads)
    summary.json            model, device, settings, counts and the images skipped (with the reason)

With ``--recognizer URI`` (the same kinds of reference as ``--model``) every detection is also read: it is cut
out as a rectified crop and recognised (``stages.evaluate.spotter``), and the files become (``spot_files``)::

    res/res_<stem>.txt      ICDAR 2015 end-to-end: x1,y1,...,x4,y4,transcription (more points: min-area rectangle)
    json/<stem>.json        as above, plus "texts" and "text_scores" (the full polygons stay in "polygons")
    vis/<stem>.jpg          polygons with their texts written above them
    summary.json            as above, plus "recognizer" (uri, checkpoint_sha256, step) and "texts" (non-empty)

A spotting model (``glass``) reads its own detections: the same files, without ``--recognizer``.

Inference is the detection task's predictor as the evaluate stage drives it (``stages.evaluate.inference.predict``:
same resizing, padding, decoding and polygon clean-up), so these files re-evaluate to the numbers the evaluate
stage reports. An unreadable
image is reported and skipped.

Orientation: a photo with an EXIF orientation tag is shown upright by default (``--frame exif_applied``, what a
user expects of their own photo): polygons, width and height are then in that rotated view. ``--frame stored``
uses the pixels as stored, the frame every dataset reader of the project uses (``stages.dataset.images``).
Each JSON record names its ``frame``. Progress goes to stderr: a bar on a terminal, plain lines otherwise.
"""
from __future__ import annotations

import argparse
import glob
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from models.detection.predictor import ImageFile
from stages.dataset.images import IMAGE_SUFFIXES

_CHUNK_BATCHES = 8  # batches per predict() call: an unreadable image costs a re-run of at most this much


class InferError(RuntimeError):
    """Bad arguments or a model that cannot be found; the message says what to do."""


@dataclass
class Skipped:
    """An image that was not processed, and why."""

    path: str
    reason: str


def infer_parser() -> argparse.ArgumentParser:
    """Arguments of ``python -m pipeline infer``."""
    parser = argparse.ArgumentParser(prog="python -m pipeline infer",
                                     description="Detect text in images with a trained detector, or read word "
                                                 "crops with a trained recognizer.")
    parser.add_argument("--model", required=True,
                        help="models:/NAME@ALIAS, models:/NAME/VERSION, runs:/RUN/PATH, or a checkpoint path")
    parser.add_argument("--images", required=True, help="a folder, an image file, or a glob ('photos/**/*.jpg')")
    parser.add_argument("--out", required=True, help="output folder (created)")
    parser.add_argument("--batch-size", type=int, default=4, help="images per forward pass (default 4)")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--tracking-uri", help="MLflow server / store for models:/ and runs:/ (default: "
                                               "MLFLOW_TRACKING_URI or the project's SQLite store)")
    parser.add_argument("--image-size", type=int, default=1280, help="longer side the images are resized to (px)")
    parser.add_argument("--mode", choices=("poly", "quad"), default="poly", help="polygons or 4-point boxes")
    parser.add_argument("--thresh", type=float, default=0.3, help="probability-map binarisation threshold")
    parser.add_argument("--box-thresh", type=float, default=0.5, help="minimum score of a kept detection")
    parser.add_argument("--unclip-ratio", type=float, default=1.5,
                        help="DBNet growth ratio; 0: invert the training shrink")
    parser.add_argument("--workers", type=int, default=2, help="threads decoding and post-processing images")
    parser.add_argument("--no-vis", action="store_true", help="do not draw the images")
    parser.add_argument("--recognizer", help="a recognizer (same references as --model) reading every detection: "
                                             "ICDAR 2015 end-to-end lines, texts in the JSON and on the drawings")
    parser.add_argument("--rec-batch-size", type=int, default=64, help="crops per recognizer pass (default 64)")
    parser.add_argument("--frame", choices=("exif_applied", "stored"), default="exif_applied",
                        help="exif_applied (default): show photos upright, as their EXIF orientation asks, and give "
                             "polygons in that view; stored: the pixels as stored in the file (as datasets are)")
    return parser


def main_infer(argv: list[str]) -> int:
    """Parse and run; exit 0 (some images may be skipped), 1 when no image could be read, 2 for bad arguments."""
    args = infer_parser().parse_args(argv)
    try:
        summary = run_inference(args)
    except InferError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    recognised = summary.get("task") == "recognition"
    found = f"{summary['texts']} texts" if recognised else f"{summary['detections']} detections"
    if "texts" in summary and not recognised:
        found += f", {summary['texts']} read"
    print(f"{summary['images']} images, {found}, {len(summary['skipped'])} skipped -> {args.out}")
    return 0 if summary["images"] else 1


def run_inference(args: argparse.Namespace, stream: TextIO | None = None) -> dict[str, Any]:
    """Everything ``main_infer`` does but parsing; returns the summary written to ``summary.json``."""
    if args.batch_size < 1:
        raise InferError(f"--batch-size must be >= 1, got {args.batch_size}")
    stream = stream or sys.stderr
    files = list_images(args.images)
    images, skipped = probe_images(files, args.frame)
    for item in skipped:
        print(f"skipped {item.path}: {item.reason}", file=stream)
    model = load(args.model, args.device, args.tracking_uri)
    reader = _recognizer(args, model)
    if _task(model) == "recognition":  # word crops: text and score per image (stages.evaluate.rec_infer)
        from stages.evaluate.rec_infer import recognize_files

        return recognize_files(model, images, args, skipped, Skipped, stream)
    out = Path(args.out)
    for sub in ("json", "res", "vis"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    post = {"mode": args.mode, "thresh": args.thresh, "box_thresh": args.box_thresh,
            "unclip_ratio": args.unclip_ratio or None}
    started = time.time()
    progress = Progress(len(images), stream)
    records: list[dict[str, Any]] = []
    step = args.batch_size * _CHUNK_BATCHES
    for start in range(0, len(images), step):
        chunk: list[ImageFile] = images[start : start + step]
        preds = _predict_chunk(model, chunk, args, post, progress, start, skipped, stream)
        if reader is not None:  # the same detections, each read off its rectified crop
            from stages.evaluate.spot_infer import spot_chunk

            records += spot_chunk(reader, out, [item for item in chunk if item.image_id in preds], preds, args)
            continue
        for item in chunk:
            if item.image_id in preds:
                records.append(write_image(out, item, preds[item.image_id], not args.no_vis))
    progress.close()
    summary = {"model": args.model, "checkpoint_sha256": model.sha256, "step": model.step, "device": str(model.device),
               "settings": {"image_size": args.image_size, "batch_size": args.batch_size, "frame": args.frame, **post},
               "images": len(records), "detections": sum(len(r["scores"]) for r in records),
               "skipped": [vars(s) for s in skipped], "seconds": round(time.time() - started, 3)}
    if reader is not None:
        if reader is not model:
            summary["recognizer"] = {"uri": args.recognizer, "checkpoint_sha256": reader.sha256,
                                     "step": reader.step, "rec_batch_size": args.rec_batch_size}
        summary["texts"] = sum(1 for r in records for t in r["texts"] if t)
    (out / "predictions.json").write_text(json.dumps({"images": records}, ensure_ascii=False))
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary


def _recognizer(args: argparse.Namespace, detector: Any) -> Any:
    """What reads the detections: the ``--recognizer`` predictor, checked to be one and to follow a detector;
    a spotting model itself; None for a detector without the option."""
    if _task(detector) == "spotting":
        if getattr(args, "recognizer", None):
            raise InferError(f"--model {args.model!r} is a spotting model, which reads its own detections: "
                             "drop --recognizer")
        return detector
    if not getattr(args, "recognizer", None):
        return None
    if _task(detector) != "detection":
        raise InferError(f"--recognizer reads a detector's boxes, but --model {args.model!r} is a "
                         f"{_task(detector)} model")
    if args.rec_batch_size < 1:
        raise InferError(f"--rec-batch-size must be >= 1, got {args.rec_batch_size}")
    reader = load(args.recognizer, args.device, args.tracking_uri)
    if _task(reader) != "recognition":
        raise InferError(f"--recognizer {args.recognizer!r} is a {_task(reader)} model, not a recognizer")
    return reader


def _task(model: Any) -> str:
    """The task of a loaded predictor's model."""
    from models.tasks import task_of

    return task_of(model.config).name


def list_images(spec: str) -> list[Path]:
    """The files ``--images`` names: a folder's image files, one file, or a glob's matches (sorted)."""
    path = Path(spec).expanduser()
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        where = f"folder {path} has no image files ({', '.join(IMAGE_SUFFIXES)})"
    elif path.is_file():
        files, where = [path], ""
    else:
        files = sorted(Path(p) for p in glob.glob(str(path), recursive=True) if Path(p).is_file())
        where = f"--images {spec!r} is not a folder or a file, and matches no file as a glob"
    if not files:
        raise InferError(where)
    stems: dict[str, Path] = {}
    for file in files:
        if file.stem in stems:
            raise InferError(f"{stems[file.stem]} and {file} have the same name stem {file.stem!r}; results are named "
                             "after it, so run them separately")
        stems[file.stem] = file
    return files


def probe_images(files: list[Path], frame: str = "exif_applied") -> tuple[list[Any], list[Skipped]]:
    """(ImageFile per readable file with its size in ``frame``, Skipped per file that is not an image)."""
    from stages.dataset.images import image_size

    images, skipped = [], []
    for file in files:
        try:
            width, height = image_size(file, frame)
        except OSError as exc:
            skipped.append(Skipped(str(file), f"not a readable image ({type(exc).__name__}: {exc})"))
            continue
        images.append(ImageFile(file.stem, file, width, height, frame))
    return images, skipped


def load(uri: str, device_name: str, tracking_uri: str | None) -> Any:
    """The task predictor of the model at ``uri``; a missing registered model, version or alias is an
    ``InferError`` listing what the registry holds."""
    import torch
    from mlflow.exceptions import MlflowException

    from models.checkpoint import load_predictor
    from pipeline import model_uris, paths

    if device_name == "cuda" and not torch.cuda.is_available():
        raise InferError("--device cuda: torch sees no CUDA device (use --device cpu)")
    tracking_uri = tracking_uri or paths.default_tracking_uri()
    try:
        model_uris.check_model_uri(uri, model_uris.registry_client(tracking_uri))
        return load_predictor(uri, torch.device(device_name), tracking_uri)
    except model_uris.ModelNotFound as exc:
        raise InferError(str(exc)) from None
    except (MlflowException, FileNotFoundError, ValueError) as exc:
        raise InferError(f"cannot load model {uri!r}: {exc}") from None


def _predict_chunk(model: Any, chunk: list[Any], args: argparse.Namespace, post: dict[str, Any], progress: "Progress",
                   offset: int, skipped: list[Skipped], stream: TextIO) -> dict[str, list[Any]]:
    """Detections of a chunk of images; an image that fails to decode is skipped (the chunk is re-run one
    image at a time to find it)."""
    from stages.evaluate.inference import predict

    def run(items: list[Any], base: int) -> dict[str, list[Any]]:
        return predict(model, items, image_size=args.image_size, batch_size=args.batch_size, options=post,
                       workers=args.workers, progress=lambda done, _: progress.update(base + done))

    try:
        return run(chunk, offset)
    except OSError:  # read_rgb: one of them is gone or cannot be decoded; find it, one image at a time
        preds = {}
        for k, item in enumerate(chunk):
            try:
                preds.update(run([item], offset + k))
            except OSError as exc:
                skipped.append(Skipped(str(item.path), f"cannot decode ({exc})"))
                print(f"skipped {item.path}: cannot decode", file=stream)
        return preds


def write_image(out: Path, item: Any, dets: list[Any], draw: bool) -> dict[str, Any]:
    """json/<stem>.json, res/res_<stem>.txt and (with ``draw``) vis/<stem>.jpg of one image; returns the json record."""
    from stages.evaluate.report import render_sample, submission_line, submission_name

    record = {"file_name": item.path.name, "width": item.width, "height": item.height, "frame": item.frame,
              "polygons": [[int(round(v)) for v in d.points.reshape(-1)] for d in dets],
              "scores": [round(float(d.score), 6) for d in dets]}
    (out / "json" / f"{item.image_id}.json").write_text(json.dumps(record))
    (out / "res" / submission_name(item.image_id)).write_text("".join(submission_line(d, False) + "\n" for d in dets))
    if draw:
        # no legend strip: the drawn image keeps the input's size, and red (detections) is its only colour
        render_sample(item.path, [], dets, out / "vis" / f"{item.image_id}.jpg", item.frame, legend=False)
    return record


class Progress:
    """Images done of ``total`` on ``stream``: a redrawn bar on a terminal, a line per 10% (or 30 s) otherwise."""

    def __init__(self, total: int, stream: TextIO, width: int = 30):
        self.total = max(total, 1)
        self.stream = stream
        self.width = width
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.started = self.last_line = time.time()
        self.done = 0
        self.next_decile = 1

    def update(self, done: int) -> None:
        """Report that ``done`` images are finished."""
        self.done = min(done, self.total)
        elapsed = max(time.time() - self.started, 1e-9)
        rate = self.done / elapsed
        eta = (self.total - self.done) / rate if rate > 0 else 0.0
        text = f"{self.done}/{self.total} images, {rate:.1f} img/s, eta {eta:.0f}s"
        if self.tty:
            filled = round(self.width * self.done / self.total)
            self.stream.write(f"\r[{'#' * filled}{'.' * (self.width - filled)}] {text}")
            self.stream.flush()
            return
        decile = self.done * 10 // self.total
        if decile >= self.next_decile or time.time() - self.last_line >= 30:
            self.next_decile = decile + 1
            self.last_line = time.time()
            print(f"infer: {text}", file=self.stream, flush=True)

    def close(self) -> None:
        """End the bar's line."""
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()
