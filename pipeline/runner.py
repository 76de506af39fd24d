"""One pipeline invocation: config -> graph -> plan -> (Ray + MLflow) -> report."""
from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from pipeline import paths
from pipeline.artifacts import ArtifactStore
from pipeline.config import PipelineConfig, load_config
from pipeline.dag import Graph, build_graph, select
from pipeline.executor import Executor, PipelineFailed, RunReport, format_plan, make_plan
from pipeline.redact import redact, redact_argv, redact_uri
from pipeline.tracking import TrackingClient, start_sink, uses_sink

log = logging.getLogger("pipeline")


@dataclass
class RunOptions:
    config: str
    overrides: list[str] = field(default_factory=list)
    only: list[str] = field(default_factory=list)
    until: str | None = None
    force: list[str] = field(default_factory=list)
    dry_run: bool = False
    tracking_uri: str | None = None


@dataclass
class Invocation:
    """A validated run, ready to execute or print."""

    config: PipelineConfig
    graph: Graph
    store: ArtifactStore
    names: list[str]


def prepare(options: RunOptions) -> Invocation:
    """Everything that can fail before running: config, graph, selection."""
    config = load_config(options.config, options.overrides)
    graph = build_graph(config)
    names = select(graph, options.only or None, options.until)
    for name in options.force:
        select(graph, [name])  # validates the name
    store = ArtifactStore(paths.resolve_root(config.artifact_root))
    return Invocation(config, graph, store, names)


def run_pipeline(options: RunOptions) -> RunReport:
    """Run (or, with dry_run, print) the pipeline; raises PipelineFailed naming failed stages."""
    inv = prepare(options)
    plan = make_plan(inv.graph, inv.store, inv.names, options.force)
    print(f"pipeline {inv.config.name}: {len(plan)} stages, artifacts in {inv.store.root}")
    print(format_plan(plan, inv.graph), flush=True)
    if options.dry_run:
        return RunReport()
    uri = options.tracking_uri or inv.config.tracking_uri or paths.default_tracking_uri()
    if all(step.cached and not step.forced for step in plan):
        # Nothing to schedule: no Ray start, and the driver is the only MLflow writer.
        report = _execute(inv, plan, options, TrackingClient(uri), address="none (all cache hits)")
        return report
    address = init_ray(inv.config)
    sink = start_sink(uri) if uses_sink(uri) else None
    try:
        report = _execute(inv, plan, options, TrackingClient(uri, sink), address)
    finally:
        if sink is not None:
            import ray

            ray.kill(sink)
    if report.failed:
        raise PipelineFailed("\n".join(o.error for o in report.failed))
    return report


def _execute(inv: Invocation, plan: list, options: RunOptions, tracking: TrackingClient, address: str) -> RunReport:
    experiment = inv.config.experiment or inv.config.name
    experiment_id = tracking.ensure_experiment(experiment)
    parent = tracking.run(tracking.call("start_run", experiment_id, inv.config.name, _parent_tags(inv, options, address)))
    parent.client.call("log_artifact_bytes", parent.run_id, "config.yaml", yaml.safe_dump(redact(inv.config.to_dict()), sort_keys=False).encode(), None)
    log.info("MLflow: %s, experiment %r, run %s", tracking.tracking_uri, experiment, parent.run_id)
    try:
        report = Executor(inv.graph, inv.store, tracking, experiment_id, parent.run_id).run(plan)
    except BaseException:
        parent.end("KILLED")
        raise
    parent.log_metrics({f"stages_{s}": report.count(s) for s in ("hit", "done", "failed", "skipped")})
    parent.end("FAILED" if report.failed else "FINISHED")
    print(f"done: {report.count('done')} ran, {report.count('hit')} cache hits, {report.count('failed')} failed, "
          f"{report.count('skipped')} skipped; MLflow run {parent.run_id}", flush=True)
    report.parent_run_id = parent.run_id
    return report


def init_ray(config: PipelineConfig) -> str:
    """Join the configured or ambient (RAY_ADDRESS) cluster, else start a local Ray."""
    import ray

    if not ray.is_initialized():
        address = config.ray.address or os.environ.get("RAY_ADDRESS")
        if address:
            ray.init(address=address, logging_level=logging.WARNING)
        else:
            ray.init(num_cpus=config.ray.num_cpus, num_gpus=config.ray.num_gpus, include_dashboard=False, _node_ip_address="127.0.0.1",
                     logging_level=logging.WARNING, runtime_env={"env_vars": {"PYTHONPATH": _pythonpath()}})
    return ray.get_runtime_context().gcs_address


def _pythonpath() -> str:
    # Local workers must import pipeline/ and stages/ even when the project is not pip-installed.
    existing = os.environ.get("PYTHONPATH")
    return os.pathsep.join(p for p in (str(paths.PROJECT_DIR), existing) if p)


def _parent_tags(inv: Invocation, options: RunOptions, address: str) -> dict[str, str]:
    tags = {"config_digest": inv.config.digest(), "config_path": str(Path(options.config)), "ray_address": address,
            "artifact_root": redact_uri(inv.store.root), "command": " ".join(redact_argv(sys.argv))}
    commit = paths.git_commit()
    if commit:
        tags["git_commit"] = commit
        tags["mlflow.source.git.commit"] = commit
    for name, value in (("only", options.only), ("until", options.until), ("force", options.force)):
        if value:
            tags[name] = ",".join(value) if isinstance(value, list) else value
    return tags
