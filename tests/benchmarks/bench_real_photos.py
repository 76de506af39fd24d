"""Real-photo inference speed: seconds per 1280x720 photo on this CPU, detectors and the two-stage spotter.

Models, all on the CPU with two torch threads (the machine's cores), one photo per forward pass:

- ``craft``: the public CRAFT weights imported by the ``pretrained`` stage's importer (``craft_mlt_25k``),
  decoded as quads;
- ``dbnet_r18`` / ``dbnet_r50``: DBNet with a ResNet-18 / ResNet-50 backbone (untrained weights: the time of
  a forward pass and its decoding does not depend on them, only the number of boxes decoded does);
- ``spotter``: CRAFT, then every detected word rectified and read by the imported ``english_g2`` recognizer
  (``stages.evaluate.spotter``), i.e. the real-photo OCR command's work per photo.

The photo is ``configs/data/real_photos/images/demo_text_ocr.jpg`` resized to 1280x720, detected at
``image_size`` 1280 (the longer side: magnification 1). Each model runs once to warm up, then ``--repeats``
times; the median is reported, and each figure also as a ratio to CRAFT's, measured in the same run.

The peer: PP-OCRv4 through ``rapidocr-onnxruntime`` 1.4.4 (detection + recognition, its default settings),
timed alike when it is installed (``make bench`` installs it; it is not a dependency of the project).

Quality on the shipped labeled photos (``configs/data/real_photos``, 2 photos, 32 words): ICDAR 2015
detection hmean and end-to-end (generic) hmean of CRAFT + english_g2 and of PP-OCRv4, side by side. Two
photos rank methods only coarsely; the figure that matters is on the user's own labeled set.

Writes ``bench-results/bench_real_photos.json``.

Run: ``python tests/benchmarks/bench_real_photos.py [--repeats 3] [--threads 2]``.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.benchmarks.throughput import write_results  # noqa: E402

PHOTO = ROOT / "configs" / "data" / "real_photos" / "images" / "demo_text_ocr.jpg"
SIZE = (1280, 720)


def photo() -> Any:
    import cv2

    bgr = cv2.imread(str(PHOTO))
    return cv2.cvtColor(cv2.resize(bgr, SIZE, interpolation=cv2.INTER_LINEAR), cv2.COLOR_BGR2RGB)


def imported(file: str, importer: str) -> Any:
    """The predictor of a model imported from the installed weights package."""
    import easyocr_en_models

    from models.pretrained import import_file
    from models.tasks import task_of

    config, module = import_file(Path(easyocr_en_models.model_dir()) / file, importer)
    return task_of(config).predictor(module.eval(), config, "cpu")


def dbnet(backbone: str) -> Any:
    from models import build_model
    from models.tasks import get_task

    config = {"arch": "dbnet", "backbone": {"name": backbone, "init": None}}
    return get_task("detection").predictor(build_model(config).eval(), config, "cpu")


def rapidocr() -> Callable[[Any], list[tuple[Any, str, float]]] | None:
    """PP-OCRv4 (rapidocr) as a function of an RGB image -> [(quad, text, score)], or None if not installed."""
    try:
        from rapidocr_onnxruntime import RapidOCR
    except ImportError:
        return None
    engine = RapidOCR()

    def run(rgb: Any) -> list[tuple[Any, str, float]]:
        found, _ = engine(rgb[:, :, ::-1].copy())  # it takes BGR, as cv2 reads
        return [(box, text, float(score)) for box, text, score in (found or [])]

    return run


def labeled_photos() -> list[tuple[str, Any, list[Any]]]:
    """(image id, RGB image, ground truth) of each shipped labeled photo."""
    import cv2

    from models.metrics.types import GtPoly

    folder = ROOT / "configs" / "data" / "real_photos"
    out = []
    for gt_file in sorted((folder / "gt").glob("gt_*.txt")):
        name = gt_file.stem[3:]
        gts = []
        for line in gt_file.read_text(encoding="utf-8-sig").splitlines():
            parts = line.split(",", 8)
            gts.append(GtPoly.from_icdar([float(v) for v in parts[:8]], parts[8]))
        rgb = cv2.cvtColor(cv2.imread(str(folder / "images" / f"{name}.jpg")), cv2.COLOR_BGR2RGB)
        out.append((name, rgb, gts))
    return out


def quality(spotters: dict[str, Callable[[Any], list[tuple[Any, str, float]]]]) -> dict[str, dict[str, float]]:
    """Detection and end-to-end hmean of each spotter on the labeled photos."""
    from models.metrics.e2e import evaluate_e2e
    from models.metrics.icdar15 import evaluate_icdar15
    from models.metrics.types import DetPoly

    photos = labeled_photos()
    gts = {name: gt for name, _, gt in photos}
    out = {}
    for method, spot in spotters.items():
        preds = {name: [DetPoly(box, score, text) for box, text, score in spot(rgb)] for name, rgb, _ in photos}
        out[method] = {"det_hmean": round(evaluate_icdar15(gts, preds).hmean, 4),
                       "e2e_hmean": round(evaluate_e2e(gts, preds).hmean, 4)}
        print(f"{method:10s} detection hmean {out[method]['det_hmean']:.3f}  end-to-end hmean "
              f"{out[method]['e2e_hmean']:.3f}", flush=True)
    return out


def median_seconds(run: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    result = run()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    import torch

    from stages.evaluate.spotter import Spotter

    torch.set_num_threads(args.threads)
    image = photo()
    options = {"mode": "quad", "box_thresh": 0.5}
    craft = imported("craft_mlt_25k.pth", "craft_mlt_25k")
    runs = {
        "craft": lambda: craft.detect([image], SIZE[0], options)[0],
        "dbnet_r18": (lambda det: lambda: det.detect([image], SIZE[0], options)[0])(dbnet("resnet18")),
        "dbnet_r50": (lambda det: lambda: det.detect([image], SIZE[0], options)[0])(dbnet("resnet50")),
    }
    spotter = Spotter(craft, imported("english_g2.pth", "easyocr_english_g2"), image_size=SIZE[0], options=options)
    runs["spotter"] = lambda: spotter.spot([image])[0]
    peer = rapidocr()
    if peer is None:
        print("rapidocr-onnxruntime is not installed: no PP-OCRv4 figures (make bench installs it)")
    else:
        runs["ppocr_v4"] = lambda: peer(image)
    rows = {}
    for name, run in runs.items():
        seconds, found = median_seconds(run, args.repeats)
        rows[name] = {"seconds_per_photo": round(seconds, 3), "boxes": len(found)}
        print(f"{name:10s} {seconds:7.3f} s/photo  ({len(found)} boxes)", flush=True)
    base = rows["craft"]["seconds_per_photo"]
    for name, row in rows.items():
        row["ratio_to_craft"] = round(row["seconds_per_photo"] / base, 3)
        print(f"{name:10s} {row['ratio_to_craft']:.2f}x CRAFT")
    def ours(rgb: Any) -> list[tuple[Any, str, float]]:
        # the photo's own size, magnified to 1280 on its longer side as in evaluate
        return [(spot.polygon, spot.text, spot.det_score) for spot in spotter.spot([rgb])[0]]

    scores = quality({"craft+g2": ours, **({"ppocr_v4": peer} if peer else {})})
    write_results("bench_real_photos", {"threads": args.threads, "photo": str(PHOTO.name), "size": SIZE,
                                        "repeats": args.repeats, "models": rows, "labeled_photos": scores})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
