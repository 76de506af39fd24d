"""One sweep trial: a Tune function trainable running the train stage's TorchTrainer.

The trial opens a nested MLflow run (child of the sweep run) holding the trial's params, and hands
it to the train stage's ``train_loop`` so the loop logs its metric curves (``train/*``, ``val/*``) there.
``TuneReportCallback`` forwards every Ray Train report (rank 0's metrics, the checkpoint path) to Tune,
where ASHA reads the validation metric.

Placement groups: when ASHA stops a trial, Tune kills the trial's actor and with it the Ray Train
controller it owns, before the controller can remove its worker group's placement group. Ray Train's
own cleaner actor removes it only where the Ray state API answers (the dashboard is running, one Ray per
machine); otherwise the CPUs stay reserved and the next trials wait forever. So a small callback
records each worker group's placement group with ``PlacementGroupJanitor`` (an actor of the sweep), and
the driver's Tune callback removes a trial's placement groups as soon as the trial ends.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ray.train.v2._internal.execution.callback import WorkerGroupCallback
from ray.tune import Callback

from stages.train.sweep_space import SweepSpec, decode, trial_params

log = logging.getLogger("stages.train.sweep")

# The trial itself only waits on TorchTrainer.fit(), whose workers reserve the CPUs / GPUs. Tune refuses
# an all-zero request, and any CPU fraction here would be taken from the workers (two trials holding
# 0.01 CPU each leave 1.98 CPUs: one 1-CPU worker less), so a trial holds a token of memory instead.
TRIAL_RESOURCES = {"CPU": 0, "memory": 1 << 20}


@dataclass
class TrialJob:
    """What every trial needs; picklable (passed with ``tune.with_parameters``)."""

    name: str
    stage: str
    spec: SweepSpec
    base: dict[str, Any]
    inputs: dict[str, str]
    storage: str
    tracking: Any  # pipeline.tracking.TrackingClient
    tracking_uri: str
    experiment_id: str
    sweep_run_id: str
    janitor: Any = None  # PlacementGroupJanitor actor handle
    run_tags: dict[str, str] = field(default_factory=dict)  # source, user, commit: on every trial run


def run_trial(config: dict[str, Any], job: TrialJob) -> None:
    """One Tune trial: a nested MLflow run around the train stage's TorchTrainer, reporting to Tune."""
    from ray import tune

    trial_id = tune.get_context().get_trial_id()
    values = decode(job.spec, config)
    params = trial_params(job.base, job.spec, values, f"stages.{job.stage}")
    run = job.tracking.run(job.tracking.call(
        "start_run", job.experiment_id, f"trial-{trial_id}",
        {**job.run_tags, "trial_id": trial_id, "sweep_run_id": job.sweep_run_id, "stage": job.stage,
         "sweep": job.name, "sweep.values": json.dumps(values, default=str)[:4990]}, job.sweep_run_id))
    run.log_params(params.tracking_params({}))
    try:
        fit_trial(params, job, run, trial_id)
    except BaseException as exc:
        run.set_tags({"error": f"{type(exc).__name__}: {exc}"[:4990]})
        run.end("FAILED")
        raise
    run.end("FINISHED")


def fit_trial(params: Any, job: TrialJob, run: Any, trial_id: str) -> Any:
    """The train stage's TorchTrainer for these params, with Tune reporting; returns the Ray Train result."""
    from ray.tune.integration.ray_train import TuneReportCallback

    from stages.train.stage import make_loop, make_trainer, resolve_init, resolve_parts

    inputs = {k: Path(v) for k, v in job.inputs.items()}
    init = resolve_init(params.init, inputs, job.tracking_uri)  # models:/ and runs:/ resolve in the sweep's store
    loop = make_loop(params, inputs, init, run, parts=resolve_parts(params, inputs, job.tracking_uri))
    trainer = make_trainer(params, loop, f"{job.name}-{trial_id}", job.storage,
                           callbacks=[TuneReportCallback(), RecordPlacementGroup(job.janitor, trial_id)])
    return trainer.fit()


def trial_resources(params: Any) -> dict[str, float]:
    """What one trial's Ray Train worker group reserves."""
    from stages.train.stage import worker_resources

    return {k: v * params.workers.count for k, v in worker_resources(params).items() if v > 0}


def concurrency(params: Any, cap: int | None) -> int:
    """How many trials fit on the cluster at once (each reserves ``trial_resources``), at most ``cap``."""
    import ray

    have = ray.cluster_resources()
    need = trial_resources(params)
    fits = min((int(have.get(k, 0) // v) for k, v in need.items()), default=cap or 1)
    if fits < 1:
        raise ValueError(f"one trial needs {need} but the cluster has {({k: have.get(k, 0) for k in need})}; "
                         "lower workers.cpus_each / workers.count in the space's fixed: section")
    return min(fits, cap) if cap else fits


class PlacementGroupJanitor:
    """Remembers each trial's Ray Train placement groups and removes them when the trial has ended.

    Runs as a Ray actor (``ray.remote(num_cpus=0)(PlacementGroupJanitor)``) owned by the sweep driver.
    """

    def __init__(self) -> None:
        self.groups: dict[str, list[Any]] = {}

    def add(self, trial_id: str, group: Any) -> None:
        """Record a placement group of ``trial_id``."""
        self.groups.setdefault(trial_id, []).append(group)

    def release(self, trial_id: str) -> int:
        """Remove the trial's placement groups still alive; returns how many were removed."""
        from ray.util import placement_group_table
        from ray.util.placement_group import remove_placement_group

        removed = 0
        for group in self.groups.pop(trial_id, []):
            if placement_group_table(group).get("state") not in (None, "REMOVED"):
                remove_placement_group(group)
                removed += 1
        return removed


class RecordPlacementGroup(WorkerGroupCallback):
    """Ray Train controller callback: register every started worker group's placement group with the janitor.

    ``WorkerGroupCallback`` is internal to Ray Train; ``RunConfig(callbacks=...)`` passes such callbacks
    to the controller as they are (Ray keeps that door open for workarounds like this one).
    """

    def __init__(self, janitor: Any, trial_id: str):
        self.janitor = janitor
        self.trial_id = trial_id

    def after_worker_group_start(self, worker_group: Any) -> None:
        """Called in the controller after each (re)start of the worker group."""
        import ray

        if self.janitor is not None:
            group = worker_group.get_worker_group_state().placement_group_handle.placement_group
            ray.get(self.janitor.add.remote(self.trial_id, group))


class ReleaseOnTrialEnd(Callback):
    """Driver-side Tune callback: free an ended trial's placement groups (see the module docstring)."""

    def __init__(self, janitor: Any):
        self.janitor = janitor

    def _release(self, trial: Any) -> None:
        import ray

        removed = ray.get(self.janitor.release.remote(trial.trial_id))
        if removed:
            log.info("trial %s: removed %d placement group(s) it left", trial.trial_id, removed)

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        """A trial finished or was stopped."""
        self._release(trial)

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        """A trial failed."""
        self._release(trial)
