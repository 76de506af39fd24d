"""Cache-key cost: computing the quickstart's keys, digesting a 10,000-file `download` path (cold and
warm digest cache), and an all-hit re-run of the quickstart (target: under 15 s for the whole command).

The all-hit run needs every quickstart output complete; running the quickstart takes many minutes, so
each stage's output folder is written here with a small manifest (the register stage's with a version
its registry holds, so its validity check runs for real). Run: `python tests/benchmarks/bench_keys.py`.
"""
from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
QUICKSTART = ROOT / "configs" / "quickstart.yaml"
FILES = 10_000


def timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def quickstart_copy(tmp: Path) -> Path:
    """The quickstart with its artifact root in ``tmp``."""
    data = yaml.safe_load(QUICKSTART.read_text())
    data["artifact_root"] = str(tmp / "artifacts")
    path = tmp / "quickstart.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def many_files(folder: Path) -> Path:
    old = time.time() - 3600  # older than the digest cache's racy window
    for i in range(FILES):
        path = folder / f"{i // 1000:02d}" / f"img_{i:05d}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(200))
        os.utime(path, (old, old))
    return folder


def folder_keys(tmp: Path) -> dict[str, float]:
    from pipeline.config import validate_config
    from pipeline.dag import build_graph
    from pipeline.digests import DigestCache
    from pipeline.references import ReferenceResolver
    from stages.registry import STAGES

    data = many_files(tmp / "dataset")
    config = validate_config({"name": "bench-keys",
                              "stages": {"data": {"type": "download", "name": "ds", "path": str(data)}}},
                             "bench", STAGES)
    cache_file = tmp / "digests.sqlite"
    cold, _ = timed(lambda: build_graph(config, STAGES, resolver=ReferenceResolver(None, DigestCache(cache_file))))
    warm_cache = DigestCache(cache_file)
    warm, _ = timed(lambda: build_graph(config, STAGES, resolver=ReferenceResolver(None, warm_cache)))
    assert warm_cache.hashed == 0 and warm_cache.reused == FILES
    return {"keys_10k_files_cold_cache_s": cold, "keys_10k_files_warm_cache_s": warm}


def complete_outputs(config: Path, uri: str) -> None:
    """Every quickstart stage's output folder, complete, as a finished run would leave it."""
    from mlflow import MlflowClient

    from pipeline.runner import RunOptions, prepare
    from stages.registry import STAGES

    inv = prepare(RunOptions(str(config), tracking_uri=uri), STAGES)
    client = MlflowClient(uri, uri)
    experiment = client.create_experiment("bench-register",
                                          artifact_location=(Path(inv.store.root).parent / "mlartifacts").as_uri())
    run_id = client.create_run(experiment).info.run_id
    name = inv.graph.nodes["register"].spec.params.name
    client.create_registered_model(name)
    version = client.create_model_version(name, source="file:///bench/model", run_id=run_id).version
    for stage, node in inv.graph.nodes.items():
        staging = inv.store.begin(stage, node.key)
        outputs = {}
        for output in node.stage_def.outputs(node.spec.params):
            (staging.local_dir / output).mkdir()
            outputs[output] = {"path": output, "digest": "bench"}
        extra = {"name": name, "version": version} if stage == "register" else {}
        inv.store.commit(staging, {"stage": stage, "key": node.key, "outputs": outputs, "counts": {}, "metrics": {},
                                   "run_id": run_id if stage == "register" else None, "extra": extra})


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    tmp = Path(tempfile.mkdtemp(prefix="bench-keys-"))
    os.environ["SCENETEXT_HOME"] = str(tmp)  # the digest cache and default stores land here
    from pipeline.runner import RunOptions, prepare, run_pipeline
    from stages.registry import STAGES

    config = quickstart_copy(tmp)
    uri = f"sqlite:///{tmp / 'mlruns.db'}"
    results: dict[str, float] = {}
    results["keys_quickstart_first_in_process_s"], _ = timed(
        lambda: prepare(RunOptions(str(config), tracking_uri=uri), STAGES))
    results["keys_quickstart_again_s"], _ = timed(lambda: prepare(RunOptions(str(config), tracking_uri=uri), STAGES))
    results.update(folder_keys(tmp))
    complete_outputs(config, uri)
    results["all_hits_quickstart_run_pipeline_s"], report = timed(
        lambda: run_pipeline(RunOptions(str(config), tracking_uri=uri), STAGES))
    assert report.count("hit") == len(report.outcomes) == 8, report.outcomes
    cmd = [sys.executable, str(ROOT / "pipeline" / "run.py"), "--config", str(config), "--tracking-uri", uri]
    results["all_hits_quickstart_whole_command_s"], done = timed(
        lambda: subprocess.run(cmd, capture_output=True, text=True))
    assert done.returncode == 0 and "8 cache hits" in done.stdout, done.stdout + done.stderr
    results = {k: round(v, 2) for k, v in results.items()}
    results["target_all_hits_whole_command_s"] = 15
    print(f"{'measure':<40} seconds")
    for key, value in results.items():
        print(f"{key:<40} {value}")
    print(json.dumps({"bench": "keys", **results}))


if __name__ == "__main__":
    main()
