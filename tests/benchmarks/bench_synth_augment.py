"""Benchmark: synthetic image generation and augmentation throughput, one process.

Rows:
- ``synth render``: ``render_image`` alone (background, words, compositing), images/s;
- ``synth shard``: ``render_shard`` — render + JPEG encode + word crops (what a ctx.map shard does);
- ``augment <variant>`` (offline): ``augment_shard`` — decode, the variant's chain, encode, per output image;
- ``online <variant>``: the chain alone on decoded arrays (what a training data loader pays per sample).
With ``--stage`` it also times the whole synth stage on the quickstart-sized config (350 images) with a
local 2-CPU Ray, the figure the quickstart's ~20 s budget is about.

Prints a table and one JSON line. Run:
``python tests/benchmarks/bench_synth_augment.py [--images 200] [--size 256 256] [--stage]``.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from stages.augment.stage import AugmentShard, SourceImage, augment_shard  # noqa: E402
from stages.augment.variants import BUILTIN_VARIANTS  # noqa: E402
from stages.dataset.records import ImageRecord  # noqa: E402
from stages.dataset.transforms.chain import build_chain  # noqa: E402
from stages.synth.layout import render_image  # noqa: E402
from stages.synth.stage import SynthParams, SynthShard, image_rng, render_config, render_shard  # noqa: E402


def _timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def bench_synth(n: int, size: tuple[int, int]) -> tuple[list[dict], list]:
    """Rows for rendering alone and for full shards; returns the shard output for the augment rows."""
    config = render_config(SynthParams(image_size=size))
    from stages.synth.fonts import load_font

    for path in config.fonts:  # every face at every size loaded once, as a long-running worker has them
        for font_size in range(config.font_size[0], config.font_size[1] + 1):
            load_font(path, font_size)
    render_image(config, image_rng(99, "warm", 0))
    seconds, images = _timed(lambda: [render_image(config, image_rng(0, "bench", i)) for i in range(n)])
    words = sum(len(r.instances) for r in images)
    rows = [{"row": "synth render", "images": n, "seconds": seconds, "images_per_s": n / seconds,
             "words_per_image": words / n}]
    shard = SynthShard(config, seed=0, split="bench", start=0, count=n)
    seconds, files = _timed(lambda: render_shard(shard))
    rows.append({"row": "synth shard (render+jpeg+crops)", "images": n, "seconds": seconds,
                 "images_per_s": n / seconds, "words_per_image": sum(len(f.instances) for f in files) / n})
    return rows, files


def bench_augment(files: list) -> list[dict]:
    """Offline (decode, chain, encode) and online (chain only) rows per built-in variant."""
    import cv2

    sources = [SourceImage(i, f.data, ImageRecord(Path(f.file_name), f.width, f.height, f.instances))
               for i, f in enumerate(files)]
    decoded = [cv2.cvtColor(cv2.imdecode(np.frombuffer(f.data, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
               for f in files]
    polys = [[np.asarray(i.polygon, float) for i in f.instances] for f in files]
    rows = []
    for chain in BUILTIN_VARIANTS.values():  # warm-up: first-use imports (shapely) and allocations
        build_chain(chain)(decoded[0], polys[0], [False] * len(polys[0]), np.random.default_rng(0))
    for variant, chain in BUILTIN_VARIANTS.items():
        shard = AugmentShard(variant, chain, seed=0, copies=1, sources=sources)
        seconds, _ = _timed(lambda: augment_shard(shard))
        rows.append({"row": f"augment {variant} (offline)", "images": len(files), "seconds": seconds,
                     "images_per_s": len(files) / seconds})
        compose = build_chain(chain)
        rng = np.random.default_rng(0)
        seconds, _ = _timed(lambda: [compose(im, p, [False] * len(p), rng) for im, p in zip(decoded, polys)])
        rows.append({"row": f"online {variant} (chain only)", "images": len(files), "seconds": seconds,
                     "images_per_s": len(files) / seconds})
    return rows


def bench_stage(size: tuple[int, int]) -> dict:
    """The synth stage on {train: 200, unlabeled: 100, test: 50} with a local 2-CPU Ray."""
    import ray

    from pipeline.context import RayStageContext
    from stages.synth.stage import STAGE

    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR",
             runtime_env={"env_vars": {"PYTHONPATH": str(ROOT)}})
    try:
        params = SynthParams(image_size=size)
        with tempfile.TemporaryDirectory() as tmp:
            ctx = RayStageContext("synth", "bench", 1, 0, None)
            seconds, result = _timed(lambda: STAGE.fn(params, {}, Path(tmp), ctx))
    finally:
        ray.shutdown()
    n = sum(params.splits.values())
    return {"row": "synth stage, Ray 2 CPUs (350 images)", "images": n, "seconds": seconds, "images_per_s": n / seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--size", type=int, nargs=2, default=[256, 256], metavar=("W", "H"))
    parser.add_argument("--stage", action="store_true", help="also time the synth stage under a 2-CPU Ray")
    args = parser.parse_args()
    size = (args.size[0], args.size[1])
    load_before = os.getloadavg()[0]
    rows, files = bench_synth(args.images, size)
    rows += bench_augment(files)
    if args.stage:
        rows.append(bench_stage(size))
    load_after = os.getloadavg()[0]
    print(f"{'what':<40} {'images':>7} {'seconds':>8} {'images/s':>9}")
    for row in rows:
        print(f"{row['row']:<40} {row['images']:>7} {row['seconds']:>8.2f} {row['images_per_s']:>9.1f}")
    print(f"image size {size[0]}x{size[1]}, {rows[0]['words_per_image']:.1f} words/image; cores: {os.cpu_count()}, "
          f"load average before/after: {load_before:.2f}/{load_after:.2f}")
    print(json.dumps({"bench": "synth_augment", "size": list(size), "rows": rows, "cpu_count": os.cpu_count(),
                      "load_before": load_before, "load_after": load_after}))


if __name__ == "__main__":
    main()
