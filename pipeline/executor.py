"""The driver loop: submit each stage as a Ray task once its inputs exist, in parallel where the graph allows.

A failing stage stops its descendants and nothing new starts after it; stages already running
finish and keep their outputs, so running the same command again resumes from the cache.
"""
from __future__ import annotations

import logging
import traceback
import uuid
from dataclasses import dataclass, field
from typing import Any

import yaml

from pipeline.artifacts import ArtifactStore
from pipeline.dag import Graph, code_digest
from pipeline.environment import environment_tags
from pipeline.interrupts import Interrupted, StopFlag
from pipeline.keys import pinned_params, still_cached
from pipeline.lineage import log_lineage, stage_lineage
from pipeline.redact import redact, redact_text
from pipeline.resources import ResourceLedger, stage_need
from pipeline.run_params import CONFIG_ARTIFACT
from pipeline.stage_task import StageTask, execute_stage
from pipeline.tracking import RunLogger, TrackingClient

log = logging.getLogger("pipeline")

POLL_S = 0.5  # how often the driver wakes while stages run (progress, room for waiting stages)
CANCEL_GRACE_S = 10.0  # a cancelled stage gets this long to clean up before its worker is killed


@dataclass
class PlannedStage:
    name: str
    type: str
    key: str
    cached: bool
    forced: bool

    @property
    def action(self) -> str:
        return "run (forced)" if self.forced else ("cache hit" if self.cached else "run")


@dataclass
class Outcome:
    name: str
    key: str
    status: str  # hit | done | failed | skipped | killed
    run_id: str | None = None
    manifest: dict[str, Any] | None = None
    error: str | None = None


@dataclass
class RunReport:
    outcomes: dict[str, Outcome] = field(default_factory=dict)
    parent_run_id: str | None = None

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes.values() if o.status == "failed"]

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes.values())


class PipelineFailed(RuntimeError):
    """One or more stages failed; the message names each stage, its key and the cause."""


def make_plan(graph: Graph, store: ArtifactStore, names: list[str], force: list[str] = (),
              tracking_uri: str | None = None) -> list[PlannedStage]:
    """Which of the selected stages are cache hits and which must run (``tracking_uri``: for validity hooks).

    A forced stage re-runs even when cached, and so do its selected descendants: they consume an
    output that is about to be replaced.
    """
    forced = set(force).union(*(graph.descendants(name) for name in force))
    plan = []
    for name in names:
        node = graph.nodes[name]
        cached = store.is_complete(name, node.key)
        cached = cached and still_cached(node, store.read_manifest(name, node.key), tracking_uri)
        plan.append(PlannedStage(name, node.spec.type, node.key, cached, forced=name in forced))
    return plan


def format_plan(plan: list[PlannedStage], graph: Graph) -> str:
    """A table of the plan, in execution order."""
    lines = [f"{'#':>2}  {'stage':<20} {'type':<14} {'key':<14} {'action':<13} inputs"]
    for i, step in enumerate(plan, 1):
        node = graph.nodes[step.name]
        inputs = ", ".join(f"{n}<-{r.stage}.{r.output}" if r.output else f"{n}<-{r.stage}"
                           for n, r in node.inputs.items())
        lines.append(f"{i:>2}  {step.name:<20} {step.type:<14} {step.key[:12]:<14} {step.action:<13} {inputs or '-'}")
    return "\n".join(lines)


@dataclass
class InFlight:
    """A submitted stage: its plan entry, its MLflow run and its attempt id (which names its staging
    folder, so the driver can remove it after a cancel)."""

    step: PlannedStage
    run: RunLogger | None
    attempt: str


class Executor:
    """Runs a plan on Ray, recording every stage as a child run of ``parent_run_id``."""

    def __init__(self, graph: Graph, store: ArtifactStore, tracking: TrackingClient | None, experiment_id: str | None,
                 parent_run_id: str | None, ledger: ResourceLedger | None = None, stop: StopFlag | None = None,
                 run_tags: dict[str, str] | None = None):
        self.run_tags = run_tags or {}  # set on every stage run (source, user, commit)
        self.order: dict[str, int] = {}
        self.graph = graph
        self.store = store
        self.tracking = tracking
        self.experiment_id = experiment_id
        self.parent_run_id = parent_run_id
        self.ledger = ledger or ResourceLedger.from_cluster()
        self.stop = stop or StopFlag()
        self.report = RunReport()

    def run(self, plan: list[PlannedStage]) -> RunReport:
        """Run the plan; on ``Interrupted`` (the stop flag was set by a signal) or KeyboardInterrupt,
        cancel what is in flight, then re-raise."""
        import ray

        todo = {step.name: step for step in plan}
        self.order = {step.name: i for i, step in enumerate(plan, 1)}
        running: dict[Any, InFlight] = {}
        stop = False
        try:
            while todo or running:
                self.stop.check()
                if not stop:
                    self._start_ready(todo, running)
                if not running:
                    break  # whatever is left waits on a failed stage
                done, _ = ray.wait(list(running), num_returns=1, timeout=POLL_S)
                # Before a stage that just ended is recorded: a signal to the whole process group
                # also interrupts the stage tasks, and that must read as "killed", not "failed".
                self.stop.check()
                if done:
                    flight = running.pop(done[0])
                    self.ledger.release(flight.step.name)
                    if not self._finish(flight, done[0]):
                        stop = True
        except (Interrupted, KeyboardInterrupt):
            self._cancel(running)
            raise
        for name in todo:
            self.report.outcomes[name] = Outcome(name, self.graph.nodes[name].key, "skipped")
        return self.report

    def _start_ready(self, todo: dict[str, PlannedStage], running: dict[Any, InFlight]) -> None:
        progressed = True
        while progressed:  # cache hits can unlock further stages at once
            progressed = False
            for name in list(todo):
                if not self._inputs_ready(name):
                    continue
                step = todo[name]
                if step.cached and not step.forced:
                    del todo[name]
                    self._record_hit(step)
                    progressed = True
                    continue
                node = self.graph.nodes[name]
                need = stage_need(node.spec.resources, node.stage_def, node.spec.params)
                if not self.ledger.admit(name, need, alone=not running):
                    continue  # waits until running stages give their resources back
                del todo[name]
                ref, flight = self._submit(step)
                running[ref] = flight

    def _inputs_ready(self, name: str) -> bool:
        for parent in self.graph.parents(name):
            outcome = self.report.outcomes.get(parent)
            if outcome is None or outcome.status not in ("hit", "done"):
                if outcome is None and self.store.is_complete(parent, self.graph.nodes[parent].key):
                    continue  # an ancestor outside the selection whose output exists
                return False
        return True

    def _submit(self, step: PlannedStage) -> tuple[Any, InFlight]:
        import ray

        node = self.graph.nodes[step.name]
        res = node.spec.resources
        run = self._child_run(step, cache_hit=False)
        attempt = uuid.uuid4().hex[:8]
        task = StageTask(
            name=step.name, stage_type=node.spec.type, stage_def=node.stage_def, key=node.key,
            version=node.stage_def.version,
            code=code_digest(node.stage_def), params=pinned_params(node),
            inputs={n: (r.stage, self.graph.nodes[r.stage].key, r.output) for n, r in node.inputs.items()},
            store=self.store, run=run, num_cpus=res.num_cpus, num_gpus=res.num_gpus,
            attempt=attempt, forced=step.forced,
        )
        options = {"num_cpus": res.num_cpus, "num_gpus": res.num_gpus, "max_retries": node.spec.retries,
                   "retry_exceptions": node.spec.retries > 0, "name": f"stage:{step.name}"}
        if res.memory:
            options["memory"] = res.memory
        log.info("stage %s: started (key %s%s)", step.name, node.key[:12], ", forced" if step.forced else "")
        return ray.remote(execute_stage).options(**options).remote(task), InFlight(step, run, attempt)

    def _cancel(self, running: dict[Any, InFlight]) -> None:
        """Stop every stage in flight: a polite cancel (the stage's own clean-up runs), then, after a
        grace period, kill the workers that are still busy. Their staging folders are removed and
        their runs end KILLED; a stage that managed to finish in the meantime keeps its output."""
        import ray

        if not running:
            return
        log.warning("interrupted: stopping %s", ", ".join(f.step.name for f in running.values()))
        refs = list(running)
        for ref in refs:
            ray.cancel(ref, force=False)
        _, pending = ray.wait(refs, num_returns=len(refs), timeout=CANCEL_GRACE_S)
        for ref in pending:
            ray.cancel(ref, force=True)
        if pending:
            ray.wait(pending, num_returns=len(pending), timeout=CANCEL_GRACE_S)
        for ref, flight in running.items():
            self.ledger.release(flight.step.name)
            if _succeeded(ref):
                self._finish(flight, ref)
                continue
            self.store.discard(flight.step.name, flight.step.key, flight.attempt)
            if flight.run is not None:
                flight.run.set_tags({"error": "interrupted"})
                flight.run.end("KILLED")
            self.report.outcomes[flight.step.name] = Outcome(flight.step.name, flight.step.key, "killed",
                                                             flight.run and flight.run.run_id)
        running.clear()

    def _finish(self, flight: InFlight, ref: Any) -> bool:
        import ray

        step, run = flight.step, flight.run
        try:
            manifest = ray.get(ref)
        except Exception as exc:  # RayTaskError wraps the stage's exception; worker crashes too
            cause = _cause(exc)
            message = f"stage {step.name!r} (key {step.key[:12]}) failed: {cause}"
            log.error("%s\n%s", message, str(exc))
            if run is not None:
                run.set_tags({"error": cause[:5000]})
                run.client.call("log_artifact_bytes", run.run_id, "traceback.txt", redact_text(str(exc)).encode(), None)
                run.end("FAILED")
            self.report.outcomes[step.name] = Outcome(step.name, step.key, "failed", run and run.run_id, error=message)
            return False
        if run is not None:
            run.end("FINISHED")
        log.info("stage %s: done in %.1fs", step.name, manifest["duration_s"])
        self.report.outcomes[step.name] = Outcome(step.name, step.key, "done", run and run.run_id, manifest)
        return True

    def _record_hit(self, step: PlannedStage) -> None:
        manifest = self.store.read_manifest(step.name, step.key)
        run = self._child_run(step, cache_hit=True, source_run=manifest.get("run_id"))
        if run is not None:
            self._copy_results(run, manifest)
            node = self.graph.nodes[step.name]
            inputs = {n: (r.stage, self.graph.nodes[r.stage].key, r.output) for n, r in node.inputs.items()}
            log_lineage(run, stage_lineage(self.store, step.name, step.key, inputs, manifest))
            run.end("FINISHED")
        log.info("stage %s: cache hit (key %s)", step.name, step.key[:12])
        self.report.outcomes[step.name] = Outcome(step.name, step.key, "hit", run and run.run_id, manifest)

    def _copy_results(self, run: RunLogger, manifest: dict[str, Any]) -> None:
        """A cache hit's run shows what the run that produced its output showed: that run's metric
        curves and stage-logged params when this store still holds it, else the manifest's numbers."""
        run.set_tags(environment_tags(manifest.get("environment", {})))  # what produced the output
        source = manifest.get("run_id")
        if source and self.tracking.call("has_run", source):
            self.tracking.call("copy_results", source, run.run_id)
            return
        run.log_metrics({**{f"count.{k}": v for k, v in manifest.get("counts", {}).items()},
                         **manifest.get("metrics", {})})

    def _child_run(self, step: PlannedStage, cache_hit: bool, source_run: str | None = None) -> RunLogger | None:
        if self.tracking is None:
            return None
        node = self.graph.nodes[step.name]
        tags = {**self.run_tags, "stage": step.name, "stage_type": node.spec.type, "cache_key": node.key,
                "cache_hit": str(cache_hit).lower(), "output_uri": self.store.uri(step.name, node.key),
                "stage_version": node.stage_def.version}
        if source_run:
            tags["source_run_id"] = source_run
        name = stage_run_name(self.order.get(step.name, 0), step.name)
        run = self.tracking.run(self.tracking.call("start_run", self.experiment_id, name, tags, self.parent_run_id))
        inputs = {n: f"{r.stage}.{r.output}" if r.output else r.stage for n, r in node.inputs.items()}
        run.log_params({"type": node.spec.type, **node.spec.params.tracking_params(inputs),
                        **{f"input.{n}": ref for n, ref in inputs.items()}})
        section = {"type": node.spec.type, "inputs": node.spec.inputs,
                   "params": node.spec.params.model_dump(mode="json")}
        run.client.call("log_artifact_bytes", run.run_id, CONFIG_ARTIFACT,
                        yaml.safe_dump(redact(section), sort_keys=False).encode(), None)
        return run


def stage_run_name(index: int, name: str) -> str:
    """``03 mixtrain``: the stage runs of a pipeline sort by name in DAG order."""
    return f"{index:02d} {name}"


def _succeeded(ref: Any) -> bool:
    """True when a finished task returned normally (False for errors, cancellation, or still running)."""
    import ray

    ready, _ = ray.wait([ref], timeout=0)
    if not ready:
        return False
    try:
        ray.get(ref, timeout=0)
    except Exception:
        return False
    return True


def _cause(exc: BaseException) -> str:
    cause = getattr(exc, "cause", None)
    if isinstance(cause, BaseException):
        return "".join(traceback.format_exception_only(type(cause), cause)).strip()
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[-1] if text else ''}"
