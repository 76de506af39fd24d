"""What the training throughput benchmarks (``bench_train.py``, ``bench_rec.py``) measure the same way.

- ``run_synth``: render a data set once with the synth stage, in process;
- ``timed_steps``: items/s of a train-step function over a batch iterator and the fraction of that time
  spent waiting for the next batch;
- ``pipeline_vs_memory``: the data pipeline against the same batches replayed from memory, alternated over
  rounds, best of each kept, with the peak GPU memory of each side on CUDA;
- ``train_stage_layouts``: the real train stage under Ray Train in several worker/thread layouts;
- ``cuda_missing`` and ``write_results``: the GPU-setting guard and the JSON file ``make bench`` keeps.

Not named ``bench_*.py``: ``make bench`` runs those files, and this one is a library.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable, Iterator

ROOT = Path(__file__).resolve().parents[2]
RESULTS_DIR = ROOT / "bench-results"


def run_synth(tmp: Path, **params: Any) -> Path:
    """The synth stage's output folder (``tmp/synth``) for ``SynthParams(**params)``, rendered in this process."""
    from pipeline.stage import LocalContext
    from stages.synth.stage import SynthParams, run

    run(SynthParams(**params), {}, tmp / "synth", LocalContext("synth"))
    return tmp / "synth"


def timed_steps(batches: Iterator[Any], step: Callable[[Any], Any], batch_size: int, warmup: int,
                steps: int) -> tuple[float, float]:
    """(items/s, fraction of the time spent waiting for the next batch) of ``steps`` calls of ``step`` after
    ``warmup`` untimed ones. ``step`` must wait for its device (read a loss back), or the rate is the
    launch rate, not the compute rate."""
    start, timed, waited = 0.0, 0, 0.0
    for i in range(warmup + steps):
        if i == warmup:
            start = time.perf_counter()
        asked = time.perf_counter()
        batch = next(batches)
        if i >= warmup:
            waited += time.perf_counter() - asked
            timed += batch_size
        step(batch)
    elapsed = time.perf_counter() - start
    return timed / elapsed, waited / elapsed


def pipeline_vs_memory(piped: Callable[[int], tuple[float, float]], in_memory: Callable[[int], tuple[float, float]],
                       device: str, rounds: int, unit: str = "images") -> dict[str, Any]:
    """Run ``piped(seed)`` and ``in_memory(seed)`` (each: (items/s, wait fraction), a fresh model each)
    alternately for ``rounds`` rounds and keep the best rate of each: on a shared machine the best is the
    least disturbed measurement. Keys name the items (``unit``: images, words)."""
    rates: dict[str, list[float]] = {"pipeline": [], "in_memory": []}
    waits: list[float] = []
    peaks = {"pipeline": 0.0, "in_memory": 0.0}
    for seed in range(rounds):
        for side, measure in (("pipeline", piped), ("in_memory", in_memory)):
            reset_peak(device)
            per_s, wait = measure(seed)
            peaks[side] = max(peaks[side], peak_gib(device))
            rates[side].append(per_s)
            if side == "pipeline":
                waits.append(wait)
    best = {side: max(values) for side, values in rates.items()}
    out = {f"pipeline_{unit}_per_s": round(best["pipeline"], 1), f"in_memory_{unit}_per_s": round(best["in_memory"], 1),
           "ratio": round(best["pipeline"] / best["in_memory"], 3),
           # the wait of the pipeline's best round: the one its rate comes from
           "pipeline_data_wait_fraction": round(waits[rates["pipeline"].index(best["pipeline"])], 3),
           "rounds": {"pipeline": [round(r, 1) for r in rates["pipeline"]],
                      "in_memory": [round(r, 1) for r in rates["in_memory"]],
                      "pipeline_data_wait_fraction": [round(w, 3) for w in waits]}}
    if device == "cuda":
        out["peak_gpu_memory_gib"] = {k: round(v, 2) for k, v in peaks.items()}
    return out


def reset_peak(device: str) -> None:
    """Start a new peak-memory window on CUDA (nothing on CPU)."""
    import torch

    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()


def peak_gib(device: str) -> float:
    """Peak GPU memory allocated since the last ``reset_peak`` (GiB); 0 on CPU."""
    import torch

    return torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else 0.0


def cuda_missing(device: str) -> bool:
    """True (after printing why) when ``device`` is cuda and this machine has none: the GPU settings then
    skip and exit 0, so ``make bench`` passes on a CPU machine."""
    import torch

    if device == "cuda" and not torch.cuda.is_available():
        print(json.dumps({"skipped": "no CUDA device: the GPU setting needs one (--device cpu runs it on CPU)"}))
        return True
    return False


def train_stage_layouts(layouts: dict[str, tuple[int, float, int]], make_params: Callable[[int, float, int], Any],
                        inputs: dict[str, Path], tmp: Path, unit: str = "images") -> dict[str, dict[str, float]]:
    """The real train stage under Ray Train once per layout (name -> (workers, CPUs each, torch threads
    each); ``make_params`` turns a layout into ``TrainParams``): steady items/s (the stage's last logged
    ``train/images_per_s``) and wall time, on a local 2-CPU Ray started here and shut down after. Each
    layout trains in its own folder under ``tmp`` and its own Ray Train run (named after ``tmp`` and the layout)."""
    import ray

    from pipeline.stage import LocalContext
    from stages.train.stage import run

    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", _node_ip_address="127.0.0.1",
             runtime_env={"env_vars": {"PYTHONPATH": str(ROOT)}})
    out = {}
    try:
        for name, (workers, cpus, threads) in layouts.items():
            target = tmp / name.replace(" ", "_")
            target.mkdir()
            start = time.perf_counter()
            context = LocalContext("bench", f"bench-{tmp.name}-{target.name}", num_cpus=0)  # the workers hold the CPUs
            result = run(make_params(workers, cpus, threads), inputs, target, context)
            out[name] = {f"{unit}_per_s": round(result.metrics["train/images_per_s"], 1),
                         "wall_s": round(time.perf_counter() - start, 1)}
    finally:
        ray.shutdown()
    return out


def write_results(name: str, results: dict[str, Any]) -> Path:
    """Write ``results`` to ``bench-results/<name>.json`` (what ``make bench`` keeps) and return the path."""
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    return path
