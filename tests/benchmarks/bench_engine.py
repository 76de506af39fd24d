"""Engine overhead: a 10-stage no-op DAG, cold and all cache hits, with Ray start-up reported apart.

Also times the whole command (`python pipeline/run.py`, Ray start included) for an all-hit
re-run, which is what a user waits for. Run: `python tests/benchmarks/bench_engine.py`.
"""
from __future__ import annotations

import json
import logging
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def ten_stage_config(tmp: Path) -> Path:
    # A chain of 4, a fan-out of 4 and a join of 2: both sequential and parallel scheduling.
    stages = {"s0": {"type": "smoke"}}
    for i in range(1, 4):
        stages[f"s{i}"] = {"type": "smoke", "inputs": {"up": f"s{i - 1}"}}
    for i in range(4, 8):
        stages[f"s{i}"] = {"type": "smoke", "inputs": {"up": "s3"}}
    stages["s8"] = {"type": "smoke", "inputs": {"a": "s4", "b": "s5"}}
    stages["s9"] = {"type": "smoke", "inputs": {"a": "s6", "b": "s7", "c": "s8"}}
    path = tmp / "bench.yaml"
    path.write_text(yaml.safe_dump({"name": "bench-engine", "artifact_root": str(tmp / "artifacts"), "stages": stages}))
    return path


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    import ray

    from pipeline.runner import RunOptions, run_pipeline
    from stages.registry import STAGES

    logging.basicConfig(level=logging.WARNING)
    tmp = Path(tempfile.mkdtemp(prefix="bench-engine-"))
    config = ten_stage_config(tmp)
    options = RunOptions(str(config), tracking_uri=f"sqlite:///{tmp / 'mlruns.db'}")
    ray_start = timed(lambda: ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING",
                                       _node_ip_address="127.0.0.1"))
    cold = timed(lambda: run_pipeline(options, STAGES))
    hits = timed(lambda: run_pipeline(options, STAGES))
    ray.shutdown()
    cmd = [sys.executable, str(ROOT / "pipeline" / "run.py"), "--config", str(config),
           "--tracking-uri", options.tracking_uri]
    whole = timed(lambda: subprocess.run(cmd, check=True, capture_output=True))
    results = {"ray_start_s": round(ray_start, 2), "cold_10_stages_s": round(cold, 2),
               "all_hits_10_stages_s": round(hits, 2),
               "all_hits_whole_command_s": round(whole, 2), "target_all_hits_whole_command_s": 15}
    print(f"{'measure':<32} seconds")
    for key, value in results.items():
        print(f"{key:<32} {value}")
    print(json.dumps({"bench": "engine", **results}))


if __name__ == "__main__":
    main()
