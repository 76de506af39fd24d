"""One pipeline invocation: config -> graph -> plan -> (Ray + MLflow) -> report."""
from __future__ import annotations

import logging
import os
import sys
from contextlib import ExitStack, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import ContextManager, Mapping

import yaml

from pipeline import paths, run_summary as summary
from pipeline.artifacts import ArtifactStore
from pipeline.config import PipelineConfig, load_config
from pipeline.console import Console, driver_logging, route_worker_logs
from pipeline.dag import Graph, build_graph, select
from pipeline.executor import Executor, PipelineFailed, RunReport, format_plan, make_plan
from pipeline.interrupts import StopFlag, interrupt_handlers
from pipeline.redact import redact, redact_argv, redact_uri
from pipeline.references import ReferenceResolver
from pipeline.stage import StageDef
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
    tracking_uri: str


def prepare(options: RunOptions, stages: Mapping[str, StageDef]) -> Invocation:
    """Everything that can fail before running: config, graph (references resolved), selection;
    ``stages`` is the stage registry the config's types name."""
    config = load_config(options.config, stages, options.overrides)
    graph, uri = keyed_graph(config, stages, options.tracking_uri)
    names = select(graph, options.only or None, options.until)
    for name in options.force:
        select(graph, [name])  # validates the name
    store = ArtifactStore(paths.resolve_root(config.artifact_root))
    return Invocation(config, graph, store, names, uri)


def keyed_graph(config: PipelineConfig, stages: Mapping[str, StageDef], tracking_uri: str | None) -> tuple[Graph, str]:
    """The config's graph, its references resolved against its MLflow store, and that store's URI:
    ``tracking_uri`` (the command line's), else the config's, else the default."""
    uri = tracking_uri or config.tracking_uri or paths.default_tracking_uri()
    return build_graph(config, stages, resolver=ReferenceResolver(uri)), uri


def run_pipeline(options: RunOptions, stages: Mapping[str, StageDef], console: Console | None = None) -> RunReport:
    """Run (or, with dry_run, print) the pipeline whose stage types ``stages`` defines; raises
    PipelineFailed naming failed stages.

    With a ``console`` (the command line's), worker output and other libraries' logs go to its log
    file and the user sees stage events and progress; without one, output is left as it is."""
    inv = prepare(options, stages)
    plan = make_plan(inv.graph, inv.store, inv.names, options.force, inv.tracking_uri)
    print(f"pipeline {inv.config.name}: {len(plan)} stages, artifacts in {inv.store.root}")
    for name, why in inv.config.disabled.items():
        print(f"  left out: {name} ({why})")
    print(format_plan(plan, inv.graph), flush=True)
    if options.dry_run:
        return RunReport()
    if console is not None:
        console.show(f"log: {console.log_path} (Ray's session logs: /tmp/ray/session_latest/logs)")
    uri = inv.tracking_uri
    if all(step.cached and not step.forced for step in plan):
        # Nothing to schedule: no Ray start, and the driver is the only MLflow writer.
        with _console_routing(console):
            return _execute(inv, plan, options, TrackingClient(uri), address="none (all cache hits)")
    address = init_ray(inv.config, quiet=console is not None)
    sink = start_sink(uri) if uses_sink(uri) else None
    try:
        # After ray.init, which installs a SIGTERM handler and log printers of its own.
        with _console_routing(console), interrupt_handlers() as stop:
            report = _execute(inv, plan, options, TrackingClient(uri, sink), address, stop)
    finally:
        if sink is not None:
            import ray

            ray.kill(sink)
    if report.failed:
        raise PipelineFailed("\n".join(o.error for o in report.failed))
    return report


def _execute(inv: Invocation, plan: list, options: RunOptions, tracking: TrackingClient, address: str,
             stop: StopFlag | None = None) -> RunReport:
    experiment = inv.config.experiment or inv.config.name
    experiment_id = tracking.ensure_experiment(experiment)
    tracking.call("set_experiment_tags", experiment_id, summary.EXPERIMENT_KIND)
    commit = paths.git_commit()
    run_tags = summary.source_tags(commit)
    name = summary.parent_run_name(inv.config.name, plan, options.force, commit)
    parent = tracking.run(tracking.call("start_run", experiment_id, name,
                                        {**run_tags, **_parent_tags(inv, options, address, commit),
                                         summary.NOTE_TAG: _description(inv, plan, None, experiment_id)}))
    parent.client.call("log_artifact_bytes", parent.run_id, "config.yaml",
                       yaml.safe_dump(redact(inv.config.to_dict()), sort_keys=False).encode(), None)
    log.info("MLflow: %s, experiment %r, run %s", redact_uri(tracking.tracking_uri), experiment, parent.run_id)
    executor = Executor(inv.graph, inv.store, tracking, experiment_id, parent.run_id, stop=stop, run_tags=run_tags)
    try:
        report = executor.run(plan)
    except BaseException:
        parent.set_tags({summary.NOTE_TAG: _description(inv, plan, executor.report, experiment_id)})
        parent.end("KILLED")
        raise
    parent.log_metrics({**{f"stages_{s}": report.count(s) for s in ("hit", "done", "failed", "skipped")},
                        **summary.headline_metrics(report, inv.graph)})
    parent.set_tags({summary.NOTE_TAG: _description(inv, plan, report, experiment_id)})
    parent.end("FAILED" if report.failed else "FINISHED")
    print(f"done: {report.count('done')} ran, {report.count('hit')} cache hits, {report.count('failed')} failed, "
          f"{report.count('skipped')} skipped; MLflow run {parent.run_id}", flush=True)
    report.parent_run_id = parent.run_id
    return report


def _description(inv: Invocation, plan: list, report: RunReport | None, experiment_id: str) -> str:
    return summary.description(inv.config.description, plan, report, inv.graph, experiment_id)


def _console_routing(console: Console | None) -> ContextManager[None]:
    """Driver logs and forwarded worker output through ``console`` (nothing changes without one)."""
    if console is None:
        return nullcontext()
    stack = ExitStack()
    stack.enter_context(driver_logging(console))
    stack.enter_context(route_worker_logs(console))
    return stack


def init_ray(config: PipelineConfig, quiet: bool = False) -> str:
    """Join the configured or ambient (RAY_ADDRESS) cluster, else start a local Ray. ``quiet``: Ray's
    own start-up messages below ERROR are not printed (the run's console shows its own)."""
    import ray

    if not ray.is_initialized():
        address = config.ray.address or os.environ.get("RAY_ADDRESS")
        level = logging.ERROR if quiet else logging.WARNING
        if address:
            ray.init(address=address, logging_level=level)
        else:
            ray.init(num_cpus=config.ray.num_cpus, num_gpus=config.ray.num_gpus, include_dashboard=False,
                     _node_ip_address="127.0.0.1", logging_level=level,
                     runtime_env={"env_vars": {"PYTHONPATH": _pythonpath()}})
    return ray.get_runtime_context().gcs_address


def shutdown_ray() -> None:
    """Stop the Ray this process started or joined, if any (a command's last step, whatever happened)."""
    if "ray" in sys.modules:
        import ray

        if ray.is_initialized():
            ray.shutdown()


def _pythonpath() -> str:
    # Local workers must import pipeline/ and stages/ even when the project is not pip-installed.
    existing = os.environ.get("PYTHONPATH")
    return os.pathsep.join(p for p in (str(paths.PROJECT_DIR), existing) if p)


def _parent_tags(inv: Invocation, options: RunOptions, address: str, commit: str | None) -> dict[str, str]:
    tags = {"config_digest": inv.config.digest(), "config_path": str(Path(options.config)), "ray_address": address,
            "artifact_root": redact_uri(inv.store.root), "command": " ".join(redact_argv(sys.argv)),
            "config_name": inv.config.name}
    if commit:
        tags["git_commit"] = commit
    for name, value in (("only", options.only), ("until", options.until), ("force", options.force)):
        if value:
            tags[name] = ",".join(value) if isinstance(value, list) else value
    return tags
