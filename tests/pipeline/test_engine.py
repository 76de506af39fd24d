"""The engine for real: local Ray, SQLite MLflow, smoke stages."""
from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.executor import PipelineFailed
from tests.pipeline.engine_helpers import Project

DIAMOND = {
    "a": {"type": "smoke", "message": "first"},
    # Half a CPU each, and 5 s: the overlap must survive other tests holding CPUs and a slow worker spawn.
    "b": {"type": "smoke", "inputs": {"up": "a"}, "message": "left", "sleep_s": 5,
          "resources": {"num_cpus": 0.5}},
    "c": {"type": "smoke", "inputs": {"up": "a.data"}, "message": "right", "sleep_s": 5,
          "resources": {"num_cpus": 0.5}},
    "d": {"type": "smoke", "inputs": {"left": "b", "right": "c"}, "message": "joined"},
}


@pytest.fixture
def diamond(tmp_path, ray_local):
    return Project(tmp_path, DIAMOND)


def test_independent_stages_overlap_and_data_flows(diamond):
    report = diamond.run()
    assert report.count("done") == 4
    b, c = diamond.manifest(report, "b"), diamond.manifest(report, "c")
    # b and c have no path between them: their recorded intervals must overlap.
    assert b["start_ts"] < c["end_ts"] and c["start_ts"] < b["end_ts"]
    out = (diamond.complete_dirs("d")[0] / "data" / "out.txt").read_text()
    assert out == "joined\nleft=left|up=first\nright=right|up=first"


def test_second_run_executes_nothing_and_param_change_reruns_descendants(diamond):
    first = diamond.run()
    second = diamond.run()
    assert second.count("done") == 0 and second.count("hit") == 4
    third = diamond.run("stages.b.message=changed")
    ran = {n for n, o in third.outcomes.items() if o.status == "done"}
    assert ran == {"b", "d"}
    assert {n for n, o in third.outcomes.items() if o.status == "hit"} == {"a", "c"}
    assert first.outcomes["d"].key != third.outcomes["d"].key


def test_failure_keeps_sibling_output_and_rerun_resumes(diamond):
    with pytest.raises(PipelineFailed) as info:
        diamond.run("stages.b.fail=true", "stages.b.sleep_s=0")
    message = str(info.value)
    assert "stage 'b' (key " in message and "RuntimeError: smoke stage asked to fail: left" in message
    assert diamond.complete_dirs("c"), "the running sibling finished and kept its output"
    assert not diamond.complete_dirs("b") and not diamond.complete_dirs("d")
    report = diamond.run("stages.b.sleep_s=0")
    assert {n: o.status for n, o in report.outcomes.items()} == {"a": "hit", "c": "hit", "b": "done", "d": "done"}


def test_failure_is_recorded_in_mlflow(diamond):
    with pytest.raises(PipelineFailed):
        diamond.run("stages.b.fail=true", "stages.b.sleep_s=0")
    client = diamond.client()
    failed = [r for r in client.search_runs(client.get_experiment_by_name("enginetest").experiment_id)
              if r.info.status == "FAILED"]
    names = {r.data.tags.get("stage") or r.data.tags["config_name"] for r in failed}
    assert names == {"b", "enginetest"}
    stage_run = next(r for r in failed if r.data.tags.get("stage") == "b")
    assert "smoke stage asked to fail" in stage_run.data.tags["error"]
    assert "traceback.txt" in [f.path for f in client.list_artifacts(stage_run.info.run_id)]


def test_killed_stage_leaves_no_complete_marker(diamond):
    with pytest.raises(PipelineFailed, match="stage 'a'"):
        diamond.run("stages.a.kill=true", until="a")
    assert not diamond.complete_dirs("a")
    leftovers = list((diamond.root / "artifacts" / "a").iterdir())
    assert leftovers and all(p.name.startswith(".staging-") for p in leftovers)
    report = diamond.run(until="a")
    assert report.outcomes["a"].status == "done"
    assert diamond.complete_dirs("a") == [diamond.root / "artifacts" / "a" / report.outcomes["a"].key]


def test_transient_error_is_retried(tmp_path, ray_local):
    marker = tmp_path / "attempted"
    project = Project(tmp_path, {"a": {"type": "smoke", "retries": 1, "fail_once_marker": str(marker)}})
    report = project.run()
    assert marker.exists() and report.outcomes["a"].status == "done"


def test_only_until_force_and_dry_run(diamond, capsys):
    plan_report = diamond.run(dry_run=True)
    assert plan_report.outcomes == {} and not (diamond.root / "artifacts").exists()
    assert "run" in capsys.readouterr().out
    only = diamond.run(only=["b"])
    assert set(only.outcomes) == {"a", "b"}
    diamond.run(dry_run=True)
    lines = capsys.readouterr().out.splitlines()
    actions = {line.split()[1]: line for line in lines if line.strip()[:1].isdigit()}
    assert "cache hit" in actions["a"] and "cache hit" in actions["b"] and "cache hit" not in actions["d"]
    forced = diamond.run(force=["a"], until="a")
    assert forced.outcomes["a"].status == "done" and len(diamond.complete_dirs("a")) == 1


def test_mlflow_parent_child_runs_tags_and_lineage(diamond):
    first = diamond.run()
    children = diamond.child_runs(first.parent_run_id)
    assert set(children) == {"a", "b", "c", "d"}
    d = children["d"]
    assert d.data.tags["cache_hit"] == "false" and d.data.tags["cache_key"] == first.outcomes["d"].key
    assert d.data.params["message"] == "joined" and d.data.params["input.left"] == "b.data"
    assert d.data.metrics["inputs"] == 2.0
    contexts = sorted((i.dataset.name, i.tags[0].value) for i in d.inputs.dataset_inputs)
    assert contexts == [("b.data", "input"), ("c.data", "input"), ("d.data", "output")]
    parent = diamond.client().get_run(first.parent_run_id)
    assert len(parent.data.tags["config_digest"]) == 64 and parent.data.tags["ray_address"]
    second = diamond.run()
    assert not (Path.cwd() / "mlruns").exists(), "an all-hit run must not write MLflow artifacts into the cwd"
    hits = diamond.child_runs(second.parent_run_id)
    assert all(r.data.tags["cache_hit"] == "true" for r in hits.values())
    assert hits["d"].data.tags["source_run_id"] == d.info.run_id
    # The library versions that produced an output: in its manifest, and on the run that made it and on hits.
    import numpy
    import torch

    versions = first.outcomes["d"].manifest["environment"]
    assert (versions["torch"], versions["numpy"]) == (torch.__version__, numpy.__version__)
    assert d.data.tags["env.torch"] == hits["d"].data.tags["env.torch"] == versions["torch"]
