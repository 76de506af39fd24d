"""What a pipeline's MLflow runs show a user: self-describing names and descriptions, headline metrics
on the parent, readable params, cache hits with their source's curves, followable lineage.
Real local Ray, real SQLite MLflow store."""
from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
import yaml

from pipeline.paths import git_commit
from stages.registry import STAGES
from tests.models.test_mlflow_registry import server_store  # noqa: F401 (a fixture: one server per session)
from tests.pipeline.engine_helpers import Project
from tests.pipeline.tracked_stages import TRACKED_STAGES

GRAPH = {
    "curve": {"type": "curve"},
    "modeller": {"type": "modeller"},
    "reader": {"type": "reader", "inputs": {"data": "curve.data", "model": "modeller.model"}},
}


_RUNS: dict = {}  # one cold, one all-cached and one forced run, shared by the tests below (seconds each)


@pytest.fixture
def views(tmp_path_factory, ray_local) -> SimpleNamespace:
    if not _RUNS:
        project = Project(tmp_path_factory.mktemp("views"), GRAPH, name="tracked",
                          registry={**STAGES, **TRACKED_STAGES}, description="Views test: a curve, a model, a reader.")
        _RUNS.update(project=project, cold=project.run(), cached=project.run(), forced=project.run(force=["curve"]))
    return SimpleNamespace(**_RUNS)


@pytest.fixture
def project(tmp_path, ray_local):
    return Project(tmp_path, GRAPH, name="tracked", registry={**STAGES, **TRACKED_STAGES})


def _parent(project, report):
    return project.client().get_run(report.parent_run_id)


def test_cold_cached_and_forced_runs_have_distinct_names_and_descriptions(views):
    commit = git_commit()
    suffix = f" · {commit[:7]}" if commit else ""
    project, cold, cached, forced = views.project, views.cold, views.cached, views.forced
    names = [_parent(project, r).info.run_name for r in (cold, cached, forced)]
    assert names == [f"tracked · cold{suffix}", "tracked · 3/3 cached", f"tracked · force curve{suffix}"]
    notes = [_parent(project, r).data.tags["mlflow.note.content"] for r in (cold, cached, forced)]
    assert all(n.startswith("Views test: a curve, a model, a reader.") for n in notes)
    curve_run = cold.outcomes["curve"].run_id
    rows = [line for line in notes[1].splitlines() if line.startswith("| 1 ")]
    # The cached stage links to the run that produced its output, the cold run's.
    assert rows == [f"| 1 | curve | curve | cached | [{curve_run[:8]}](#/experiments/"
                    f"{_parent(project, cold).info.experiment_id}/runs/{curve_run}) | final/y 7.0000 |"]
    assert "| 1 | curve | curve | ran (forced) |" in notes[2] and "| 3 | reader | reader | ran (forced) |" in notes[2]
    assert "| 2 | modeller | modeller | cached |" in notes[2]


def test_stage_runs_sort_in_dag_order_and_every_run_names_its_source(views):
    project, report = views.project, views.cold
    runs = project.child_runs(report.parent_run_id)
    assert sorted(r.info.run_name for r in runs.values()) == ["01 curve", "02 modeller", "03 reader"]
    for run in [*runs.values(), _parent(project, report)]:
        tags = run.data.tags
        assert tags["mlflow.source.type"] == "LOCAL" and tags["mlflow.user"] and tags["mlflow.source.name"]
        assert tags.get("mlflow.source.git.commit") == git_commit()
    experiment = project.client().get_experiment(_parent(project, report).info.experiment_id)
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"


def test_parent_run_carries_headline_metrics(views):
    project, report = views.project, views.cold
    metrics = _parent(project, report).data.metrics
    assert metrics["curve/final/y"] == 7.0
    assert sorted(k for k in metrics if not k.startswith("stages_")) == ["curve/final/y"]


def test_result_metric_already_logged_keeps_its_history_and_cache_hit_copies_it_and_params(views):
    project, cold, hit = views.project, views.cold, views.cached
    client = project.client()
    history = {r: [(m.step, m.value) for m in client.get_metric_history(r, "curve/x")]
               for r in (cold.outcomes["curve"].run_id, hit.outcomes["curve"].run_id)}
    # No step-0 copy of the final value: the stage logged the curve, the engine only adds what is new.
    assert list(history.values()) == [[(1, 1.0), (2, 2.0), (3, 3.0)]] * 2
    source, copy = (client.get_run(r.outcomes["curve"].run_id).data for r in (cold, hit))
    source_keys = set(source.metrics)
    assert set(copy.metrics) == source_keys
    assert copy.params == source.params  # with what the stage logged while it ran (model.arch)
    assert {"curve/x", "final/y", "duration_s"} <= source_keys


def test_params_are_short_scalars_and_the_whole_section_is_an_artifact(views, tmp_path):
    project, report = views.project, views.cold
    client = project.client()
    run = project.child_runs(report.parent_run_id)["curve"]
    assert run.data.params == {"type": "curve", "chain": "rotate,crop", "model.arch": "curvenet"}  # no None, no setup
    path = client.download_artifacts(run.info.run_id, "stage_config.yaml", str(tmp_path))
    section = yaml.safe_load(open(path))
    assert section["params"]["chain"] == [{"kind": "rotate", "degrees": 5}, {"kind": "crop", "min_side": 0.2}]
    assert section["params"]["hooks"] == {"marker": "/tmp/nowhere"}


@pytest.mark.parametrize("cached", [False, True])
def test_lineage_datasets_have_source_profile_schema_producer_and_models_are_model_inputs(views, cached):
    project, cold = views.project, views.cold
    report = views.cached if cached else cold
    runs = project.child_runs(report.parent_run_id)
    reader = project.client().get_run(runs["reader"].info.run_id)  # search results leave model inputs out
    entries = {(i.dataset.name, {t.key: t.value for t in i.tags}["mlflow.data.context"]): i
               for i in reader.inputs.dataset_inputs}
    assert sorted(entries) == [("curve.data", "input")]  # its report output is not a dataset
    data = entries[("curve.data", "input")]
    tags = {t.key: t.value for t in data.tags}
    assert tags["producer.stage"] == "curve" and tags["producer.run_id"] == cold.outcomes["curve"].run_id
    assert json.loads(data.dataset.source)["uri"].endswith("/data")
    assert json.loads(data.dataset.profile) == {"images": 2, "instances": 3, "ignored": 1, "weighted": 0}
    assert json.loads(data.dataset.schema)["format"] == "coco-polygons"
    model_id = cold.outcomes["modeller"].manifest["extra"]["mlflow_models"]["model"]
    assert [m.model_id for m in reader.inputs.model_inputs] == [model_id]
    model = project.client().get_logged_model(model_id)
    assert model.source_run_id == cold.outcomes["modeller"].run_id
    every = [i for r in runs.values() for i in r.inputs.dataset_inputs]
    assert len(every) == 2  # curve's output, and the reader's input
    assert all(json.loads(i.dataset.source)["uri"] and {t.key for t in i.tags} >= {"producer.stage", "producer.run_id"}
               for i in every)


def test_views_through_a_tracking_server(project, server_store):
    """Against `mlflow server` each worker writes its run directly (no single-writer actor): the cache
    hit still copies the curve, and the reader still records the model and dataset it read."""
    project.tracking_uri = server_store
    cold = project.run()
    hit = project.run()
    client = project.client()
    source, copy = cold.outcomes["curve"].run_id, hit.outcomes["curve"].run_id
    assert [(m.step, m.value) for m in client.get_metric_history(copy, "curve/x")] == \
        [(m.step, m.value) for m in client.get_metric_history(source, "curve/x")] == [(1, 1.0), (2, 2.0), (3, 3.0)]
    reader = client.get_run(hit.outcomes["reader"].run_id)
    model_id = cold.outcomes["modeller"].manifest["extra"]["mlflow_models"]["model"]
    assert [m.model_id for m in reader.inputs.model_inputs] == [model_id]
    assert [i.dataset.name for i in reader.inputs.dataset_inputs] == ["curve.data"]
