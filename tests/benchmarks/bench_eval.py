"""Benchmark of the detection metrics: ``python tests/benchmarks/bench_eval.py [--instances N]``.

1. The official ICDAR 2015 test ground truth (500 images, 5230 boxes) against a perturbed copy
   (jittered, some dropped, some false positives), for every protocol.
2. A generated set of N ground-truth instances (default 100k: 10k images of 10 words, quads and
   14-point curved bands) against jittered, split and missing detections.

Prints a table, then one JSON line with every timing (seconds) and throughput (gt instances / s).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from models.metrics import DetPoly, GtPoly, evaluate_deteval, evaluate_e2e, evaluate_icdar15, evaluate_pascal  # noqa: E402
from stages.evaluate.formats import load_gt  # noqa: E402

PROTOCOLS = {"icdar15": evaluate_icdar15, "deteval": evaluate_deteval, "pascal": evaluate_pascal,
             "e2e": evaluate_e2e}


def perturbed_icdar(gts: dict, rng: np.random.Generator) -> dict:
    """Jitter every box by up to 3 px, drop 10 %, add one false positive per image."""
    preds = {}
    for k, v in gts.items():
        dets = [DetPoly(g.points + rng.integers(-3, 4, g.points.shape), text=g.text) for g in v if rng.random() > 0.1]
        x, y = rng.uniform(0, 1200), rng.uniform(0, 700)
        dets.append(DetPoly([(x, y), (x + 40, y), (x + 40, y + 15), (x, y + 15)]))
        preds[k] = dets
    return preds


def band(x0: float, y0: float, length: float, height: float, n: int) -> np.ndarray:
    """A curved text band with 2n vertices, (2n, 2)."""
    xs = np.linspace(x0, x0 + length, n)
    ys = y0 + 8 * np.sin(xs / 40.0)
    return np.concatenate([np.stack([xs, ys], 1), np.stack([xs[::-1], ys[::-1] + height], 1)])


def generated_set(n_instances: int, per_image: int, rng: np.random.Generator) -> tuple[dict, dict]:
    """Synthetic images on a 2 x 5 grid of words; detections jittered (70 %), split (10 %) or missing."""
    gts, preds = {}, {}
    for i in range(n_instances // per_image):
        g_list, d_list = [], []
        for j in range(per_image):
            x0, y0 = 20 + (j % 2) * 400, 20 + (j // 2) * 120
            pts = band(x0, y0, 300, 40, 7) if j % 3 == 0 else band(x0, y0, 300, 40, 2)
            g_list.append(GtPoly(pts, "word", ignore=(j == per_image - 1 and i % 5 == 0)))
            r = rng.random()
            if r < 0.7:
                d_list.append(DetPoly(pts + rng.normal(0, 2, pts.shape)))
            elif r < 0.8:
                d_list.append(DetPoly(band(x0, y0, 145, 40, 3)))
                d_list.append(DetPoly(band(x0 + 155, y0, 145, 40, 3)))
        gts[f"syn{i}"] = g_list
        preds[f"syn{i}"] = d_list
    return gts, preds


def timed(fn, *args) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t0, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--instances", type=int, default=100_000)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    results: dict = {}
    t_load, gts = timed(load_gt, ROOT / "tests" / "fixtures" / "icdar2015_gt" / "gt.zip")
    n_ic = sum(len(v) for v in gts.values())
    preds = perturbed_icdar(gts, rng)
    results["icdar2015_load_s"] = t_load
    rows = []
    for name, fn in PROTOCOLS.items():
        t, res = timed(fn, gts, preds)
        results[f"icdar2015_{name}_s"] = t
        rows.append(("ICDAR 2015 test (500 img)", name, n_ic, t, res.hmean))
    t_gen, (g_big, p_big) = timed(generated_set, args.instances, 10, rng)
    n_big = sum(len(v) for v in g_big.values())
    results["generated_build_s"] = t_gen
    for name in ("icdar15", "deteval", "pascal"):
        t, res = timed(PROTOCOLS[name], g_big, p_big)
        results[f"generated_{name}_s"] = t
        results[f"generated_{name}_inst_per_s"] = n_big / t
        rows.append((f"generated ({n_big // 10} img)", name, n_big, t, res.hmean))
    print(f"{'set':28s} {'protocol':9s} {'gt inst':>8s} {'seconds':>8s} {'inst/s':>10s} {'hmean':>7s}")
    for set_name, proto, n, t, h in rows:
        print(f"{set_name:28s} {proto:9s} {n:8d} {t:8.3f} {n / t:10.0f} {h:7.4f}")
    print(json.dumps({k: round(v, 4) for k, v in results.items()}))


if __name__ == "__main__":
    main()
