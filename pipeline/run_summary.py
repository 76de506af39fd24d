"""What a pipeline's MLflow runs say about themselves: the parent's name, source tags, the parent's
description table and headline metrics (stage runs are named by the executor, ``stage_run_name``).

A user scanning the runs table must tell a cold run from an all-cached one and a forced one by name,
see stage runs in DAG order, and read the outcome of a whole pipeline on its parent run without
opening each stage.
"""
from __future__ import annotations

import fnmatch
import getpass
import sys
from pathlib import Path
from typing import Any

from pipeline.dag import Graph
from pipeline.executor import Outcome, PlannedStage, RunReport

NOTE_TAG = "mlflow.note.content"  # the run description MLflow's UI shows and edits
# MLflow's UI opens an experiment of this kind on its runs table (not the GenAI traces page).
EXPERIMENT_KIND = {"mlflow.experimentKind": "custom_model_development"}
MAX_NOTE = 7500  # MLflow's tag values hold 8000 characters
RESULT = {"hit": "cached", "done": "ran", "failed": "failed", "skipped": "skipped", "killed": "killed"}


def source_tags(commit: str | None) -> dict[str, str]:
    """Who ran what: MLflow's source name, type, user and git commit, set on every run of a pipeline."""
    tags = {"mlflow.source.name": _entry_point(), "mlflow.source.type": "LOCAL", "mlflow.user": _user()}
    if commit:
        tags["mlflow.source.git.commit"] = commit
    return tags


def _entry_point() -> str:
    argv0 = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if argv0 is None or argv0.name in ("-c", ""):
        return "python"
    return argv0.as_posix() if not argv0.is_absolute() else argv0.name


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        return "unknown"


def parent_run_name(config_name: str, plan: list[PlannedStage], force: list[str], commit: str | None) -> str:
    """``quickstart · cold · 8e02a3e``, ``quickstart · 8/8 cached``, ``quickstart · force finetune``,
    ``quickstart · 2 run, 6 cached · 8e02a3e``."""
    cached = sum(step.cached and not step.forced for step in plan)
    if force:
        mode = "force " + ",".join(force)
    elif cached == len(plan):
        return f"{config_name} · {cached}/{len(plan)} cached"
    elif cached == 0:
        mode = "cold"
    else:
        mode = f"{len(plan) - cached} run, {cached} cached"
    return " · ".join(x for x in (config_name, mode, commit[:7] if commit else None) if x)


def headline_metrics(report: RunReport, graph: Graph) -> dict[str, float]:
    """``<stage>/<metric>`` for each metric of a finished or cached stage that its type names as a
    headline (``StageDef.headline``, glob patterns), e.g. ``finetune/val/hmean``."""
    out = {}
    for name, outcome in report.outcomes.items():
        patterns = graph.nodes[name].stage_def.headline
        for key, value in _metrics(outcome).items():
            if any(fnmatch.fnmatchcase(key, p) for p in patterns):
                out[f"{name}/{key}"] = float(value)
    return out


def _metrics(outcome: Outcome) -> dict[str, Any]:
    if outcome.manifest is None or outcome.status not in ("hit", "done"):
        return {}
    return {k: v for k, v in outcome.manifest.get("metrics", {}).items() if isinstance(v, (int, float))}


def description(config_description: str, plan: list[PlannedStage], report: RunReport | None, graph: Graph,
                experiment_id: str) -> str:
    """The parent run's description: the config's description, then one row per stage: what happened,
    a link to the run that produced its output, its headline metrics. Without ``report`` (at start)
    the rows say what is planned."""
    lines = [config_description.strip(), ""] if config_description.strip() else []
    lines += ["| # | stage | type | result | output from | headline |", "|---|---|---|---|---|---|"]
    for i, step in enumerate(plan, 1):
        outcome = report.outcomes.get(step.name) if report else None
        result = RESULT.get(outcome.status, outcome.status) if outcome else _planned(step)
        if outcome is not None and outcome.status == "done" and step.forced:
            result = "ran (forced)"
        producer = _producer(outcome)
        link = f"[{producer[:8]}](#/experiments/{experiment_id}/runs/{producer})" if producer else ""
        patterns = graph.nodes[step.name].stage_def.headline
        heads = ", ".join(f"{k} {v:.4f}" for k, v in sorted(_metrics(outcome).items())
                          if any(fnmatch.fnmatchcase(k, p) for p in patterns)) if outcome else ""
        lines.append(f"| {i} | {step.name} | {step.type} | {result} | {link} | {heads} |")
    text = "\n".join(lines)
    return text if len(text) <= MAX_NOTE else text[: MAX_NOTE - 20] + "\n\n(cut; see the stage runs)"


def _planned(step: PlannedStage) -> str:
    return "runs (forced)" if step.forced else ("cache hit" if step.cached else "runs")


def _producer(outcome: Outcome | None) -> str | None:
    """The run that produced the stage's output: the stage's own run, or for a cache hit the run
    recorded in the output's manifest."""
    if outcome is None:
        return None
    if outcome.status == "hit" and outcome.manifest:
        return outcome.manifest.get("run_id") or outcome.run_id
    return outcome.run_id
