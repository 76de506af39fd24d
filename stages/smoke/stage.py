"""``smoke``: a tiny stage for checking a cluster and exercising the engine.

It writes ``data/out.txt`` holding its message and its inputs' texts (so data flow through the
graph can be checked), and can sleep, fail, fail once (a transient error) or kill its own process
(an interrupted stage), which is what the engine's own tests and benchmarks use it for. With
``work_cpus`` it sleeps inside a Ray task of its own that reserves that many CPUs (declared as the
stage's ``ray_work``, as a training stage declares its workers). Its manifest's ``extra`` records
whether the run was forced.
"""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from pipeline.stage import StageDef, StageResult
from stages.smoke.params import SmokeParams


def run(params: SmokeParams, inputs: dict[str, Path], out_dir: Path, ctx) -> StageResult:
    """Write the message plus every input's text; optionally misbehave as asked."""
    data = out_dir / "data"
    data.mkdir()
    parts = [params.message]
    for name in sorted(inputs):
        source = inputs[name] / "out.txt" if inputs[name].is_dir() else inputs[name]
        parts.append(f"{name}=" + source.read_text().replace("\n", "|"))
    (data / "out.txt").write_text("\n".join(parts))
    if params.kill:
        os.kill(os.getpid(), signal.SIGKILL)
    if params.work_cpus:
        # Two items, as ctx.map runs a single item inline; the second returns at once.
        ctx.map(_hold, [params.sleep_s, 0.0], num_cpus=params.work_cpus)
    else:
        time.sleep(params.sleep_s)
    if params.fail:
        raise RuntimeError(f"smoke stage asked to fail: {params.message}")
    if params.fail_once_marker and not Path(params.fail_once_marker).exists():
        Path(params.fail_once_marker).touch()
        raise ConnectionError("transient failure (first attempt)")
    ctx.log_metrics({"inputs": float(len(inputs))})
    return StageResult(outputs={"data": "data"}, counts={"inputs": len(inputs)},
                       extra={"forced": ctx.forced, "labels": dict(params.labels)})


def _hold(seconds: float) -> None:
    time.sleep(seconds)


STAGE = StageDef(name="smoke", fn=run, params=SmokeParams, version="1", outputs=lambda p: ["data"],
                 description="check a cluster; exercise the engine",
                 ray_work=lambda p: {"CPU": p.work_cpus} if p.work_cpus else {})
