"""Pseudo-labeling throughput on CPU: images/s of the pseudo_label stage with 1 and 2 Ray shards.

The quickstart's setting: 256 px synthetic images, two tiny-DBNet teachers, identity + flip views
(4 polygon sets per image), fusion, weights, COCO output. Layouts on a local Ray with 2 CPUs:
1 shard x 1 torch thread, 1 shard x 2 threads, 2 shards x 1 thread (each shard loads both teachers).
images/s counts the whole stage (Ray task start, model loading, inference, fusion, writing the set and
the report); ``run_s`` is the slowest shard's inference + fusion time alone.

Teachers default to random-weight tiny DBNets (post-processing then sees noise maps; pass ``--models``
with trained checkpoints, e.g. the quickstart_ssl teachers, for realistic detection counts).

Run: ``python tests/benchmarks/bench_pseudo_label.py [--images 96] [--models A B]``.
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
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

LAYOUTS = [(1, 1), (1, 2), (2, 1)]  # (shards, torch threads per shard)


def make_inputs(tmp: Path, images: int, models: list[str] | None) -> dict[str, Path]:
    """A synthetic unlabeled split and two teachers (given, or random tiny DBNets)."""
    from pipeline.stage import LocalContext
    from stages.synth.stage import SynthParams, run

    run(SynthParams(seed=5, splits={"unlabeled": images}, image_size=(256, 256), crops=False), {}, tmp / "synth",
        LocalContext("synth"))
    inputs = {"unlabeled": tmp / "synth" / "unlabeled"}
    if models:
        return inputs | {"a": Path(models[0]), "b": Path(models[1])}
    import torch

    import models as zoo

    for name, seed in (("a", 0), ("b", 1)):
        torch.manual_seed(seed)
        cfg = zoo.tiny_config("dbnet")
        zoo.save_checkpoint(tmp / name, cfg, zoo.build_model(cfg))
        inputs[name] = tmp / name
    return inputs


def run_layout(inputs: dict[str, Path], tmp: Path, shards: int, threads: int) -> dict[str, float]:
    """One stage run on Ray; returns images/s, wall time and the slowest shard's run time."""
    from pipeline.context import RayStageContext
    from stages.pseudo_label.params import PseudoLabelParams
    from stages.pseudo_label.stage import STAGE

    params = PseudoLabelParams(models=["a", "b"], image_size=256, batch_size=16, shards=shards, torch_threads=threads,
                               cpus_per_shard=threads if shards == 1 else 1, tta={"flip": True},
                               detect={"thresh": 0.5, "box_thresh": 0.3, "unclip_ratio": None}, num_render=0)
    out = tmp / f"out-{shards}x{threads}"
    out.mkdir()
    ctx = RayStageContext("pseudo_label", "bench", 0, 0, None)
    started = time.perf_counter()
    result = STAGE.fn(params, inputs, out, ctx)
    wall = time.perf_counter() - started
    stats = json.loads((out / "report" / "stats.json").read_text())
    n = result.counts["images_in"]
    return {"images": n, "wall_s": wall, "images_per_s": n / wall,
            "shard_run_s": max(s["run_s"] for s in stats["timing"]["shards"]),
            "shard_load_s": max(s["load_s"] for s in stats["timing"]["shards"]),
            "instances": result.counts["instances"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=96)
    parser.add_argument("--models", nargs=2, metavar=("A", "B"), help="teacher checkpoints (folders or .pt)")
    args = parser.parse_args()
    import ray

    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", _node_ip_address="127.0.0.1",
             runtime_env={"env_vars": {"PYTHONPATH": str(ROOT)}})
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-pl-") as folder:
        tmp = Path(folder)
        inputs = make_inputs(tmp, args.images, args.models)
        (tmp / "warmup").mkdir()
        run_layout(inputs, tmp / "warmup", 2, 1)  # starts both Ray workers (torch imported) and warms the page cache
        for shards, threads in LAYOUTS:
            results[f"{shards}x{threads}"] = run_layout(inputs, tmp, shards, threads)
    ray.shutdown()
    print(f"{'layout':<22}{'images/s':>10}{'wall s':>9}{'shard run s':>13}{'load s':>8}{'labels':>8}")
    for name, r in results.items():
        shards, threads = name.split("x")
        print(f"{shards} shard(s) x {threads} thr   {r['images_per_s']:>10.2f}{r['wall_s']:>9.2f}"
              f"{r['shard_run_s']:>13.2f}{r['shard_load_s']:>8.2f}{r['instances']:>8d}")
    print(json.dumps({k: {m: round(v, 4) for m, v in r.items()} for k, r in results.items()}))


if __name__ == "__main__":
    main()
