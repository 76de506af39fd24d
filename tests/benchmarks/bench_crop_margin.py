"""How much the cut of a real word crop costs a recognizer: the words of ``configs/data/real_photos`` cut
from their ground-truth quads grown by a margin (a fraction of the word's height on every side), read by
each model given.

The hand-drawn quads hug the ink (about +-2 px), so a crop cut exactly along them often loses a letter's
edge; a detector's boxes usually carry some margin. Prints word accuracy (standard rule), exact accuracy
and 1-NED per margin and model.

Run: ``python tests/benchmarks/bench_crop_margin.py NAME=MODEL_URI [NAME=MODEL_URI ...] [--margin 0 0.1 0.2]``
(a model URI is a checkpoint folder or file, runs:/ or models:/).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from models.checkpoint import load_predictor
from models.metrics.recognition import benchmark_scores
from stages.dataset.crops import crop_instance
from stages.dataset.images import read_image

PHOTOS = Path(__file__).resolve().parents[2] / "configs" / "data" / "real_photos"


def grown_quad(quad: np.ndarray, margin: float) -> np.ndarray:
    """(4, 2) quad with each corner moved ``margin`` x the word's height outwards along x and y."""
    height = float(np.linalg.norm(quad[3] - quad[0]))  # left side: the word's height for a clockwise quad
    return quad + np.sign(quad - quad.mean(axis=0)) * margin * height


def word_crops(margin: float) -> tuple[list[np.ndarray], list[str]]:
    """The legible words of the photos (``###`` skipped), cut with ``margin``, and their labels."""
    crops, labels = [], []
    for gt in sorted((PHOTOS / "gt").glob("gt_*.txt")):
        image = read_image(PHOTOS / "images" / f"{gt.stem[3:]}.jpg")
        for line in gt.read_text(encoding="utf-8-sig").splitlines():
            parts = line.split(",", 8)
            if parts[8] == "###":
                continue
            quad = np.asarray(parts[:8], dtype=float).reshape(4, 2)
            crops.append(crop_instance(image, grown_quad(quad, margin).tolist()))
            labels.append(parts[8])
    return crops, labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+", help="NAME=MODEL_URI")
    parser.add_argument("--margin", type=float, nargs="+", default=[0.0, 0.1, 0.2])
    args = parser.parse_args()
    models = {name: load_predictor(uri) for name, uri in (m.split("=", 1) for m in args.models)}
    for margin in args.margin:
        crops, labels = word_crops(margin)
        for name, model in models.items():
            s = benchmark_scores(labels, [text for text, _ in model.recognize(crops, {}, 32)])
            print(f"margin {margin:.2f}  {name:14s} accuracy {s['accuracy']:.4f}  exact {s['accuracy_exact']:.4f}  "
                  f"1-NED {s['one_minus_ned']:.4f}  ({len(labels)} words)")


if __name__ == "__main__":
    main()
