"""``python -m pipeline sweep``: tune one training stage's params with Ray Tune.

    python -m pipeline sweep --config configs/quickstart.yaml --stage finetune --space configs/sweeps/quickstart.yaml
    ray job submit --working-dir . -- python -m pipeline sweep --config ... --stage ... --space ...

The space file (see ``configs/sweeps/quickstart.yaml``) names any param of that stage by its dotted key
(list items by index: ``augment.0.factor``) with one of ``loguniform: [lo, hi]``, ``uniform: [lo, hi]``,
``int: [lo, hi]`` (both ends included) or ``choice: [a, b]`` / ``choice: {label: value}`` (labels let
a choice pick lists or mappings). ``fixed:`` sets keys for every trial.

How it runs:

1. The stage's upstream stages run once through the engine and its cache (``pipeline.runner`` with
   ``--only`` the stage's parents, and the stage registry the command was handed); their outputs are
   the inputs of every trial.
2. Optuna proposes each trial's values; ASHA stops trials whose validation metric (``metric``, by
   default ``val_hmean``, reported by the train stage at every validation) lags at a rung. Rungs are
   counted in training steps (``grace_period``: default the first validation). To give ASHA a value at
   every validation the trials checkpoint at every validation (``checkpoint.every = validation.every``).
3. Each trial is a Tune function trainable that runs the train stage's ``TorchTrainer`` (its
   ``train_loop``) with ``TuneReportCallback``; the trainable itself reserves nothing, so how many
   trials run at once is what the cluster's CPUs / GPUs allow for the trials' Ray Train workers
   (``max_concurrent`` caps it further).
4. MLflow: one sweep run; each trial a nested run with its params and its metric curves
   (``train/*``, ``val/*``); trials ASHA stopped end KILLED with the tag ``early_stopped``.
5. The best trial is chosen by one rule, ``BEST_RULE``: the trial whose *last reported* ``metric`` is
   best, early-stopped trials included, and its model is the checkpoint of that last report. It is the
   rule of Tune's own "Current best trial" line (and of ``ResultGrid.get_best_result(scope="last")``),
   so the table, the summary line, ``best_config.yaml`` and the registered model name the same trial,
   value and step. Its full config is written as YAML (``best_config.yaml``, runnable with
   ``pipeline/run.py``), its model logged on its run (an MLflow pyfunc model, ``models.pyfunc``, and the
   full checkpoint as the artifact ``checkpoint/checkpoint.pt``) and, with ``register_as:``, that logged
   model registered (``models.mlflow_registry``).

Outputs land in ``--out`` (default ``<project home>/sweeps/<sweep name>``): ``best_config.yaml``,
``best_model/checkpoint.pt``, ``trials.csv``, ``space.yaml``; the sweep run holds them as artifacts.
"""
from __future__ import annotations

import argparse
import csv
import json
import logging
import re
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml
from pydantic import ValidationError

from pipeline.config import ENGINE_KEYS, ConfigError, PipelineConfig, format_errors
from pipeline.paths import git_commit
from pipeline.plugins import Plugins
from pipeline.redact import redact_argv
from pipeline.run_summary import source_tags
from pipeline.stage import StageDef
from stages.train.sweep_space import SweepSpec, check_space, decode, trial_params, tune_space
from stages.train.sweep_trial import (
    TRIAL_RESOURCES,
    PlacementGroupJanitor,
    ReleaseOnTrialEnd,
    TrialJob,
    concurrency,
    run_trial,
)

log = logging.getLogger("stages.train.sweep")

BEST_RULE = ("the best trial is the one whose last reported metric is best, early-stopped trials included "
             "(Tune's 'Current best trial'); its model is the checkpoint of that last report")


@dataclass
class SweepOptions:
    """The command line of a sweep (``num_samples``, ``max_concurrent``, ``register_as`` override the space file)."""

    config: str
    stage: str
    space: str
    num_samples: int | None = None
    max_concurrent: int | None = None
    overrides: list[str] = field(default_factory=list)
    tracking_uri: str | None = None
    out: str | None = None
    register_as: str | None = None


@dataclass
class SweepResult:
    """What a sweep produced (also in ``out_dir`` and on the sweep's MLflow run)."""

    name: str
    sweep_run_id: str
    out_dir: Path
    trials: list[dict[str, Any]]
    best: dict[str, Any]
    best_config: Path
    registration: Any = None  # models.mlflow_registry.Registration when registered


class SweepFailed(RuntimeError):
    """No trial produced the metric (every trial failed); the message says why."""


def load_spec(path: str, options: SweepOptions) -> SweepSpec:
    """Read and validate a space file; command-line values override its own."""
    file = Path(path)
    if not file.is_file():
        raise ConfigError(path, ["<file>: no such space file"])
    data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    for key in ("num_samples", "max_concurrent", "register_as"):
        if getattr(options, key) is not None:
            data[key] = getattr(options, key)
    try:
        return SweepSpec.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(path, format_errors(exc, prefix="")) from None


def run_sweep(options: SweepOptions, stages: Mapping[str, StageDef]) -> SweepResult:
    """Validate, run the upstream stages, tune, then write, log and register the best trial; ``stages`` is
    the stage registry the recipe is validated and run with."""
    from pipeline import paths
    from pipeline.config import load_config
    from pipeline.runner import init_ray, keyed_graph
    from pipeline.tracking import TrackingClient, start_sink, uses_sink

    config = load_config(options.config, stages, options.overrides)
    graph, uri = keyed_graph(config, stages, options.tracking_uri)  # the keys run_pipeline will use
    node = graph.nodes.get(options.stage)
    if node is None or node.spec.type != "train":
        found = f"a {node.spec.type} stage" if node else "not a stage"
        trainable = ", ".join(n for n in graph.order if graph.nodes[n].spec.type == "train") or "none"
        raise ConfigError(options.config, [f"--stage {options.stage}: {found}; sweeps tune train stages: {trainable}"])
    spec = load_spec(options.space, options)
    where = f"stages.{options.stage}"
    base = node.spec.params.model_dump(mode="json")
    try:
        check_space(base, spec, where)
    except ValueError as exc:
        raise ConfigError(options.space, [str(exc)]) from None
    inputs, upstream_run = upstream_inputs(options, stages, config, graph, uri)
    init_ray(config)
    sink = start_sink(uri) if uses_sink(uri) else None
    tracking = TrackingClient(uri, sink)
    name = f"{config.name}-{options.stage}-{time.strftime('%Y%m%d-%H%M%S')}"
    out_dir = Path(options.out) if options.out else paths.sweeps_dir() / name
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        return _tune(options, stages, config, spec, base, inputs, upstream_run, tracking, name, out_dir)
    finally:
        if sink is not None:
            import ray

            ray.kill(sink)


def upstream_inputs(options: SweepOptions, stages: Mapping[str, StageDef], config: PipelineConfig, graph: Any,
                    uri: str) -> tuple[dict[str, str], str | None]:
    """Run the stage's parents (and what they need) through the engine's cache; the stage's input paths."""
    from pipeline import paths
    from pipeline.artifacts import ArtifactStore
    from pipeline.runner import RunOptions, run_pipeline

    parents = sorted(graph.parents(options.stage))
    run_id = None
    if parents:
        report = run_pipeline(RunOptions(options.config, list(options.overrides), only=parents, tracking_uri=uri),
                              stages)
        run_id = report.parent_run_id
    store = ArtifactStore(paths.resolve_root(config.artifact_root))
    node = graph.nodes[options.stage]
    inputs = {n: str(store.local_output(r.stage, graph.nodes[r.stage].key, r.output)) for n, r in node.inputs.items()}
    return inputs, run_id


def _tune(options: SweepOptions, stages: Mapping[str, StageDef], config: PipelineConfig, spec: SweepSpec,
          base: dict[str, Any], inputs: dict[str, str], upstream_run: str | None, tracking: Any, name: str,
          out_dir: Path) -> SweepResult:
    experiment_id = tracking.ensure_experiment(config.experiment or config.name)
    sweep_run = tracking.run(tracking.call("start_run", experiment_id, f"sweep:{options.stage}",
                                           _sweep_tags(options, config, name, upstream_run)))
    try:
        result = _run_tuner(options, stages, config, spec, base, inputs, tracking, experiment_id, sweep_run, name,
                            out_dir)
    except BaseException:
        sweep_run.end("FAILED")
        raise
    sweep_run.end("FINISHED")
    return result


def _run_tuner(options: SweepOptions, stages: Mapping[str, StageDef], config: PipelineConfig, spec: SweepSpec,
               base: dict[str, Any], inputs: dict[str, str], tracking: Any, experiment_id: str, sweep_run: Any,
               name: str, out_dir: Path) -> SweepResult:
    import ray
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler
    from ray.tune.search.optuna import OptunaSearch

    from stages.train.stage import storage_path

    where = f"stages.{options.stage}"
    first = trial_params(base, spec, {}, where)
    (out_dir / "space.yaml").write_text(yaml.safe_dump(spec.model_dump(mode="json"), sort_keys=False))
    parallel = concurrency(first, spec.max_concurrent)
    sweep_run.log_params({"metric": spec.metric, "mode": spec.mode, "num_samples": spec.num_samples,
                          "max_concurrent": parallel, "space": spec.space, "fixed": spec.fixed})
    storage = str(storage_path(first.workers.storage_path))
    janitor = ray.remote(num_cpus=0)(PlacementGroupJanitor).remote()
    job = TrialJob(name, options.stage, spec, base, inputs, storage, tracking, tracking.tracking_uri, experiment_id,
                   sweep_run.run_id, janitor, source_tags(git_commit()))
    # Rungs count training steps. max_t lies past the last step: ASHA stops a trial that reaches max_t at
    # once, which would kill a finished trial before its TorchTrainer.fit() returned.
    steps = first.schedule.steps
    max_t = max(steps, spec.space.get("schedule.steps", {}).get("int", [0, 0])[1]) + 1  # steps itself may be swept
    grace = min(spec.grace_period or (first.validation.every if first.validation else 0) or steps, max_t - 1)
    log.info("sweep %s: %d trials, %d at once, ASHA on %s (%s) every validation from step %d", name,
             spec.num_samples, parallel, spec.metric, spec.mode, grace)
    tuner = tune.Tuner(
        tune.with_resources(tune.with_parameters(run_trial, job=job), TRIAL_RESOURCES),
        param_space=tune_space(spec),
        tune_config=tune.TuneConfig(metric=spec.metric, mode=spec.mode, search_alg=OptunaSearch(seed=spec.seed),
                                    scheduler=ASHAScheduler(time_attr="step", max_t=max_t, grace_period=grace,
                                                            reduction_factor=spec.reduction_factor),
                                    num_samples=spec.num_samples, max_concurrent_trials=parallel),
        run_config=tune.RunConfig(name=name, storage_path=storage, verbose=1, callbacks=[ReleaseOnTrialEnd(janitor)]))
    try:
        grid = tuner.fit()
    finally:
        ray.kill(janitor)
    trials = trial_rows(grid, spec, base, where)
    finish_trial_runs(tracking, experiment_id, sweep_run.run_id, trials)
    return _conclude(options, stages, config, spec, inputs, tracking, sweep_run, name, out_dir, trials)


def _sweep_tags(options: SweepOptions, config: PipelineConfig, name: str, upstream_run: str | None) -> dict[str, str]:
    tags = {**source_tags(git_commit()), "sweep": name, "stage": options.stage, "space_path": options.space,
            "config_path": options.config, "config_digest": config.digest(), "command": " ".join(redact_argv(sys.argv))}
    for key, value in (("upstream_run_id", upstream_run), ("git_commit", git_commit())):
        if value:
            tags[key] = value
    return tags


def trial_rows(grid: Any, spec: SweepSpec, base: dict[str, Any], where: str) -> list[dict[str, Any]]:
    """One row per trial: id, status (completed | stopped | error), last step and metric, checkpoint, values."""
    rows = []
    for result in grid:
        metrics = dict(result.metrics or {})
        values = decode(spec, result.config)
        steps = trial_params(base, spec, values, where).schedule.steps
        status = "error" if result.error else ("completed" if metrics.get("step") == steps else "stopped")
        rows.append({"trial_id": metrics.get("trial_id") or _trial_id_from_path(result.path), "status": status,
                     "step": metrics.get("step"), spec.metric: metrics.get(spec.metric),
                     "checkpoint_path": metrics.get("checkpoint_path"), "values": values,
                     "sampled": dict(result.config),
                     "metrics": {k: v for k, v in metrics.items() if k.startswith("val_") or k == spec.metric},
                     "error": str(result.error).splitlines()[0][:500] if result.error else None})
    return rows


def _trial_id_from_path(path: str) -> str:
    # A trial that failed before its first report has no metrics; its folder is run_trial_<id>_<n>_...
    match = re.search(r"run_trial_([0-9a-f]+)_", Path(path).name)
    return match.group(1) if match else Path(path).name


def finish_trial_runs(tracking: Any, experiment_id: str, sweep_run_id: str, trials: list[dict[str, Any]]) -> None:
    """Give every trial row its MLflow run id and close the runs of trials ASHA stopped (KILLED) or that crashed."""
    from mlflow import MlflowClient

    runs = MlflowClient(tracking.tracking_uri).search_runs([experiment_id], f"tags.sweep_run_id = '{sweep_run_id}'")
    by_trial = {r.data.tags.get("trial_id"): r for r in runs}
    for row in trials:
        run = by_trial.get(row["trial_id"])
        row["run_id"] = run.info.run_id if run else None
        if run is None:
            continue
        if row["status"] == "stopped":
            tracking.call("set_tags", run.info.run_id, {"early_stopped": "true", "stopped_at_step": row["step"]})
            tracking.call("end_run", run.info.run_id, "KILLED")
        elif run.info.status == "RUNNING":
            tracking.call("end_run", run.info.run_id, "FAILED" if row["status"] == "error" else "FINISHED")


def pick_best(trials: list[dict[str, Any]], spec: SweepSpec) -> dict[str, Any]:
    """The trial whose last reported metric is best, early-stopped ones included (``BEST_RULE``).

    Each row's metric and checkpoint are its last report's: trials checkpoint at every validation, so
    the checkpoint is the model that scored that value. Preferring completed trials would contradict
    Tune's table whenever ASHA stopped the trial with the best score."""
    pool = [t for t in trials if t[spec.metric] is not None and t["checkpoint_path"]]
    if not pool:
        errors = "; ".join(f"{t['trial_id']}: {t['error']}" for t in trials if t["error"]) or "none reported it"
        raise SweepFailed(f"no trial reported {spec.metric!r} with a checkpoint ({errors})")
    sign = 1 if spec.mode == "max" else -1
    return max(pool, key=lambda t: sign * float(t[spec.metric]))


def best_config(config: PipelineConfig, stage: str, params: Any) -> dict[str, Any]:
    """The whole recipe with the swept stage's params replaced by the best trial's."""
    raw = config.to_dict()
    engine = {k: v for k, v in raw["stages"][stage].items() if k in ENGINE_KEYS}
    raw["stages"][stage] = {**engine, **params.model_dump(mode="json")}
    return raw


def _conclude(options: SweepOptions, stages: Mapping[str, StageDef], config: PipelineConfig, spec: SweepSpec,
              inputs: dict[str, str], tracking: Any, sweep_run: Any, name: str, out_dir: Path,
              trials: list[dict[str, Any]]) -> SweepResult:
    from models.checkpoint import CHECKPOINT_FILE
    from pipeline.config import validate_config

    write_trials_csv(out_dir / "trials.csv", trials, spec)
    best = pick_best(trials, spec)
    params = trial_params(config.stages[options.stage].params.model_dump(mode="json"), spec, best["values"],
                          f"stages.{options.stage}")
    raw = best_config(config, options.stage, params)
    digest = validate_config(raw, "best config", stages).digest()
    config_file = out_dir / "best_config.yaml"
    config_file.write_text(f"# best trial {best['trial_id']} of sweep {name}: {spec.metric} = {best[spec.metric]} "
                           f"at step {best['step']} ({_how_it_ended(best)}); rule: {BEST_RULE}\n"
                           + yaml.safe_dump(raw, sort_keys=False))
    model = out_dir / "best_model" / CHECKPOINT_FILE
    model.parent.mkdir(exist_ok=True)
    shutil.copy2(Path(best["checkpoint_path"]) / CHECKPOINT_FILE, model)
    registration = None
    if best.get("run_id"):
        best_run = tracking.run(best["run_id"])
        # The full checkpoint (optimizer state too, to resume from) beside the logged model: not under
        # "model/", which MLflow 3 lists as the run's logged model called "model".
        best_run.log_artifact(model, "checkpoint")
        model_id = log_best_model(best_run, model, params, name, best["trial_id"])
        if spec.register_as:
            registration = register_best(tracking.tracking_uri, spec, best, model, inputs, digest, name, model_id)
    for file in ("space.yaml", "trials.csv", "best_config.yaml"):
        sweep_run.log_artifact(out_dir / file)
    sweep_run.log_metrics({f"best.{spec.metric}": float(best[spec.metric]),
                           "trials_completed": sum(t["status"] == "completed" for t in trials),
                           "trials_stopped": sum(t["status"] == "stopped" for t in trials),
                           "trials_failed": sum(t["status"] == "error" for t in trials)})
    sweep_run.set_tags({"best_trial_id": best["trial_id"], "best_run_id": best.get("run_id") or "",
                        "best_config_digest": digest, "out_dir": str(out_dir),
                        **({"registered": f"{registration.name}/{registration.version}"} if registration else {})})
    print(f"sweep {name}: best trial {best['trial_id']} ({_how_it_ended(best)}) "
          f"{spec.metric}={best[spec.metric]:.4g} "
          f"{best['values']}; "
          f"config {config_file}"
          + (f"; registered {registration.name} v{registration.version}" if registration else ""),
          flush=True)
    return SweepResult(name, sweep_run.run_id, out_dir, trials, best, config_file, registration)


def _how_it_ended(trial: dict[str, Any]) -> str:
    if trial["status"] == "stopped":
        return f"stopped early at step {trial['step']}"
    if trial["status"] == "error":
        return f"failed after step {trial['step']}"
    return f"completed, step {trial['step']}"


def log_best_model(best_run: Any, checkpoint: Path, params: Any, sweep: str, trial_id: str) -> str:
    """Log the best trial's checkpoint as an MLflow model (``models.pyfunc``) of its run, as a train stage
    logs its own; returns the logged model's id."""
    import tempfile

    from models import pyfunc
    from models.checkpoint import load_checkpoint
    from stages.train.stage import serving_settings

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "model"
        info = pyfunc.save(checkpoint, folder, serving_settings(params, load_checkpoint(checkpoint)["model_config"]))
        return best_run.log_model("model", folder, tags={"sweep": sweep, "trial_id": trial_id}, params=info)


def register_best(tracking_uri: str, spec: SweepSpec, best: dict[str, Any], model: Path, inputs: dict[str, str],
                  config_digest: str, name: str, model_id: str) -> Any:
    """Register the best trial's logged MLflow model (``model_id``, of its run) under ``spec.register_as``."""
    from models import mlflow_registry as registry
    from pipeline.artifacts import file_sha256
    from pipeline.paths import git_commit

    client = registry.registry_client(tracking_uri)
    tags = {**registry.version_tags(model, file_sha256(model)), **registry.metric_tags(best["metrics"]),
            **registry.lineage_digests([Path(p) for p in inputs.values()]),
            "config_digest": config_digest, "git_commit": git_commit(), "sweep": name, "trial_id": best["trial_id"],
            "sweep.step": best["step"], "sweep.trial_status": best["status"]}
    # The logged model's folder as the source (see the register stage: a models:/<id> source would be
    # resolved through the process-wide tracking URI).
    source = client.get_logged_model(model_id).artifact_location
    return registry.register_version(client, spec.register_as, source, best["run_id"], tags, spec.benchmark_metric,
                                     description=f"best trial of sweep {name}", model_id=model_id)


def write_trials_csv(path: Path, trials: list[dict[str, Any]], spec: SweepSpec) -> None:
    """trial_id, run_id, status, step, metric, then one column per swept key (choice labels as proposed)."""
    keys = list(spec.space)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["trial_id", "run_id", "status", "step", spec.metric, *keys])
        for t in trials:
            writer.writerow([t["trial_id"], t.get("run_id") or "", t["status"], t["step"], t[spec.metric],
                             *(json.dumps(t["sampled"].get(k)) for k in keys)])


# --- command line -------------------------------------------------------------------------------
def sweep_parser() -> argparse.ArgumentParser:
    """Arguments of ``python -m pipeline sweep``."""
    parser = argparse.ArgumentParser(prog="python -m pipeline sweep",
                                     description="Tune a train stage's params with Ray Tune (Optuna + ASHA). "
                                                 f"Best trial: {BEST_RULE}; best_config.yaml and the registered "
                                                 "model are that trial's.")
    parser.add_argument("--config", required=True, help="the recipe, e.g. configs/quickstart.yaml")
    parser.add_argument("--stage", required=True, help="the train stage to tune, e.g. finetune")
    parser.add_argument("--space", required=True, help="the space file, e.g. configs/sweeps/quickstart.yaml")
    parser.add_argument("--num-samples", type=int, help="trials (default: the space file's num_samples)")
    parser.add_argument("--max-concurrent", type=int, help="at most this many trials at once")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config key, as for run (repeatable)")
    parser.add_argument("--tracking-uri",
                        help="MLflow tracking URI (default: MLFLOW_TRACKING_URI or the local SQLite store)")
    parser.add_argument("--out", help="output folder (default: <project home>/sweeps/<sweep name>)")
    parser.add_argument("--register", metavar="NAME",
                        help="register the best model under NAME (default: the space file's register_as)")
    return parser


def main_sweep(argv: list[str], plugins: Plugins) -> int:
    """``python -m pipeline sweep ...``: exit 0 on success, 1 when the upstream stages or every trial failed,
    2 for a bad config or space."""
    from pipeline.executor import PipelineFailed
    from pipeline.runner import shutdown_ray

    args = sweep_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s", datefmt="%H:%M:%S")
    options = SweepOptions(args.config, args.stage, args.space, args.num_samples, args.max_concurrent, args.overrides,
                           args.tracking_uri, args.out, args.register)
    try:
        run_sweep(options, plugins.stages)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (PipelineFailed, SweepFailed) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        shutdown_ray()
    return 0

