"""Recognizers side by side on one budget: the quickstart recipe trained once per architecture.

``configs/quickstart_rec.yaml`` is run once per architecture (``crnn``, its own model, and ``binet``, a
small BINet-style model; ``--arch attention`` adds an attention recognizer; the models are those of
``tests/benchmarks/rec_models.py``) in one temporary project folder. Every run shares the same synthetic
words (the synth stage is a cache hit after the first) and the same three-stage schedule: steps, batch,
learning rates and data mix are identical, only the ``model`` section differs. Each run is the real
command (``python pipeline/run.py``, local Ray, local MLflow store); the figures are read back from its
MLflow runs:

- ``heldout`` / ``heldout_cluttered``: word accuracy (case-insensitive alphanumerics), exact accuracy and
  1-NED on held-out words (never in training), on mixed and on cluttered backgrounds;
- parameters, and the wall time of the three training stages together.

Prints one table and writes ``bench-results/bench_rec_quality.json``. Takes about 8 minutes per
architecture on two cores (BINet longer: its steps cost more).

Run: ``python tests/benchmarks/bench_rec_quality.py [--arch crnn --arch binet ...]``.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.benchmarks.rec_models import ARCHS, model_configs, parameter_count  # noqa: E402
from tests.benchmarks.throughput import write_results  # noqa: E402

CONFIG = ROOT / "configs" / "quickstart_rec.yaml"
TRAIN_STAGES = ("pretrain", "mixtrain", "finetune")
TEST_SETS = ("heldout", "heldout_cluttered")
METRICS = ("accuracy", "accuracy_exact", "one_minus_ned")
def run_recipe(home: Path, model: dict[str, Any]) -> str:
    """Run the recipe in ``home`` with ``model`` as the pretrain stage's model section (mixtrain and finetune
    inherit it); the pipeline's MLflow run id."""
    command = [sys.executable, str(ROOT / "pipeline" / "run.py"), "--config", str(CONFIG),
               "--set", f"stages.pretrain.model={json.dumps(model)}"]
    env = {**os.environ, "SCENETEXT_HOME": str(home), "PYTHONPATH": str(ROOT)}
    env.pop("MLFLOW_TRACKING_URI", None)
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}):\n"
                           f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    found = re.search(r"MLflow run ([0-9a-f]{32})", done.stdout)
    if not found:
        raise RuntimeError(f"no 'MLflow run <id>' line in the pipeline's output:\n{done.stdout[-2000:]}")
    return found.group(1)


def figures(home: Path, parent_id: str) -> dict[str, Any]:
    """The held-out figures (evaluate stage), parameters and training wall time of one pipeline run."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{home / 'mlruns.db'}")
    parent = client.get_run(parent_id)
    children = client.search_runs([parent.info.experiment_id], f"tags.mlflow.parentRunId = '{parent_id}'")
    by_stage = {run.info.run_name.split(" ", 1)[1]: run for run in children}
    test = by_stage["evaluate"].data.metrics
    out: dict[str, Any] = {f"{name}.{metric}": round(test[f"test/{name}.{metric}"], 4)
                           for name in TEST_SETS for metric in METRICS}
    out["train_wall_s"] = round(sum(by_stage[stage].data.metrics["duration_s"] for stage in TRAIN_STAGES), 1)
    return out


def table(results: dict[str, dict[str, Any]]) -> str:
    """The figures as a fixed-width text table, one row per architecture."""
    columns = [f"{name}.{metric}" for name in TEST_SETS for metric in ("accuracy", "one_minus_ned")]
    rows = [f"{'model':10s} {'params':>8s} " + " ".join(f"{c:>27s}" for c in columns) + f" {'train s':>8s}"]
    for arch, r in results.items():
        cells = " ".join(f"{r[c]:27.4f}" for c in columns)
        rows.append(f"{arch:10s} {r['params']:8d} {cells} {r['train_wall_s']:8.1f}")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", action="append", choices=ARCHS, help="architectures (default: crnn, binet)")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="bench-rec-quality-"))
    results = {}
    for arch in args.arch or ["crnn", "binet"]:
        model = model_configs()[arch]
        results[arch] = figures(home, run_recipe(home, model))
        results[arch]["params"] = parameter_count(model)
        print(f"{arch}: {json.dumps(results[arch])}", flush=True)
    print(table(results))
    path = write_results("bench_rec_quality", {"config": str(CONFIG.relative_to(ROOT)), "models": results})
    print(json.dumps({"bench": "rec_quality", "results": str(path.relative_to(ROOT))}))


if __name__ == "__main__":
    main()
