"""S3 artifact roots for real: a moto S3 server on 127.0.0.1, real Ray, real MLflow (SQLite)."""
from __future__ import annotations

import json
from pathlib import Path

import pyarrow.fs as pafs
import pytest
import yaml

from pipeline.artifacts import ArtifactRootError, ArtifactStore
from pipeline.executor import PipelineFailed
from pipeline.gc import find_local_staging, remove
from pipeline.runner import RunOptions, prepare
from stages.registry import STAGES
from tests.pipeline.engine_helpers import Project
from tests.pipeline.s3_server import BUCKET, s3  # noqa: F401  (the fixture)

DIAMOND = {
    "a": {"type": "smoke", "message": "first"},
    "b": {"type": "smoke", "inputs": {"up": "a"}, "message": "left"},
    "c": {"type": "smoke", "inputs": {"up": "a.data"}, "message": "right"},
    "d": {"type": "smoke", "inputs": {"left": "b", "right": "c"}, "message": "joined"},
}


def s3_project(tmp_path, root: str, stages: dict = DIAMOND) -> Project:
    project = Project(tmp_path, stages)
    config = yaml.safe_load(project.config.read_text())
    project.config.write_text(yaml.safe_dump({**config, "artifact_root": root}))
    return project


def keys_on_s3(fs: pafs.FileSystem, prefix: str) -> list[str]:
    """Every object under the prefix, relative to it."""
    infos = fs.get_file_info(pafs.FileSelector(prefix, recursive=True, allow_not_found=True))
    return sorted(i.path[len(prefix) + 1:] for i in infos if i.type == pafs.FileType.File)


def read(fs: pafs.FileSystem, path: str) -> str:
    with fs.open_input_stream(path) as stream:
        return stream.read().decode()


def test_dag_on_s3_runs_once_then_hits_cache_and_logs_manifests(tmp_path, ray_local, s3):
    project = s3_project(tmp_path, s3.root("runs"))
    first = project.run()
    assert first.count("done") == 4
    fs, prefix = s3.filesystem(), f"{BUCKET}/runs"
    for stage in DIAMOND:
        key = first.outcomes[stage].key
        marker = json.loads(read(fs, f"{prefix}/{stage}/{key}/_COMPLETE"))
        files = keys_on_s3(fs, f"{prefix}/{stage}/{key}")
        attempt = f"attempt-{marker['attempt']}"
        assert files == ["_COMPLETE", *(f"{attempt}/{f}" for f in ("_ATTEMPT", "data/out.txt", "manifest.json"))]
        assert json.loads(read(fs, f"{prefix}/{stage}/{key}/{attempt}/manifest.json"))["key"] == key
    # d read b and c (which read a) from S3: the text carries the whole path through the graph.
    d_key = first.outcomes["d"].key
    d_marker = json.loads(read(fs, f"{prefix}/d/{d_key}/_COMPLETE"))
    assert (read(fs, f"{prefix}/d/{d_key}/attempt-{d_marker['attempt']}/data/out.txt")
            == "joined\nleft=left|up=first\nright=right|up=first")

    client, runs = project.client(), project.child_runs(first.parent_run_id)
    for stage, run in runs.items():
        assert [f.path for f in client.list_artifacts(run.info.run_id)] == ["manifest.json", "stage_config.yaml"]
        assert run.data.tags["output_uri"] == f"s3://{BUCKET}/runs/{stage}/{first.outcomes[stage].key}"
    second = project.run()
    assert second.count("hit") == 4 and second.count("done") == 0


def test_killed_stage_on_s3_leaves_no_marker_and_next_run_completes(tmp_path, ray_local, s3):
    project = s3_project(tmp_path, s3.root("killed"), {"a": {"type": "smoke", "message": "first"}})
    earlier = {g.path for g in find_local_staging(grace_s=3600)}
    with pytest.raises(PipelineFailed, match="stage 'a'"):
        project.run("stages.a.kill=true")
    fs = s3.filesystem()
    assert keys_on_s3(fs, f"{BUCKET}/killed") == [], "the killed attempt published nothing"
    report = project.run()
    key = report.outcomes["a"].key
    marker = json.loads(read(fs, f"{BUCKET}/killed/a/{key}/_COMPLETE"))
    assert report.outcomes["a"].status == "done"
    assert keys_on_s3(fs, f"{BUCKET}/killed") == [
        f"a/{key}/_COMPLETE",
        *(f"a/{key}/attempt-{marker['attempt']}/{f}" for f in ("_ATTEMPT", "data/out.txt", "manifest.json"))]
    # The killed worker's local staging folder is left in the one known place, where gc finds it dead.
    killed_key = prepare(RunOptions(str(project.config), ["stages.a.kill=true"]), STAGES).graph.nodes["a"].key
    leftovers = [g for g in find_local_staging(grace_s=3600)
                 if g.path not in earlier and Path(g.path).name.startswith(f"a-{killed_key[:16]}-")]
    assert (len(leftovers) == 1 and "is gone" in leftovers[0].reason
            and (Path(leftovers[0].path) / "data" / "out.txt").exists())
    remove(None, leftovers[0])


def _attempt(store: ArtifactStore, text: str):
    staging = store.begin("s", "k")
    (staging.local_dir / "f.txt").write_text(text)
    return staging


def test_half_uploaded_attempt_is_never_read_and_next_commit_completes(tmp_path, s3, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))  # staging and download cache inside the test folder
    store = ArtifactStore(s3.root("half"))
    killed = _attempt(store, "half")
    fs = s3.filesystem()
    # What an upload killed half-way leaves: some files of the attempt and no marker.
    with fs.open_output_stream(f"{BUCKET}/half/s/k/attempt-{killed.attempt}/f.txt") as out:
        out.write(b"half")
    assert not store.is_complete("s", "k")
    with pytest.raises(FileNotFoundError, match="no complete output"):
        store.read_manifest("s", "k")
    store.abort(killed)
    staging = _attempt(store, "whole")
    committed = store.commit(staging, {"outputs": {"f": {"path": "f.txt"}}})
    assert store.is_complete("s", "k") and not committed.reused
    assert committed.local_dir.parent == tmp_path / "scenetext-inputs" / "s" / "k", (
        "our own upload is the node's cached copy")
    assert keys_on_s3(fs, f"{BUCKET}/half/s/k") == [
        "_COMPLETE", *(f"attempt-{staging.attempt}/{f}" for f in ("_ATTEMPT", "f.txt", "manifest.json"))]
    fresh = ArtifactStore(s3.root("half"), cache_dir=str(tmp_path / "elsewhere"))
    assert fresh.local_output("s", "k", "f").read_text() == "whole"


def test_second_writer_reuses_the_first_and_forced_one_replaces_it(tmp_path, s3, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    store, fs = ArtifactStore(s3.root("race")), s3.filesystem()
    first, second = _attempt(store, "first"), _attempt(store, "second")
    won = store.commit(first, {"outputs": {"f": {"path": "f.txt"}}, "run_id": "r1"})
    lost = store.commit(second, {"outputs": {"f": {"path": "f.txt"}}, "run_id": "r2"})
    assert not won.reused and lost.reused and lost.manifest["run_id"] == "r1"
    assert not second.local_dir.exists()
    assert [p for p in keys_on_s3(fs, f"{BUCKET}/race/s/k") if p.endswith("f.txt")] == [
        f"attempt-{first.attempt}/f.txt"]
    forced = _attempt(store, "forced")
    store.commit(forced, {"outputs": {"f": {"path": "f.txt"}}, "run_id": "r3"}, replace=True)
    assert store.read_manifest("s", "k")["run_id"] == "r3"
    assert keys_on_s3(fs, f"{BUCKET}/race/s/k") == [
        "_COMPLETE", *(f"attempt-{forced.attempt}/{f}" for f in ("_ATTEMPT", "f.txt", "manifest.json"))]
    assert store.local_output("s", "k", "f").read_text() == "forced", "the node's cache follows the marker"


def test_missing_bucket_is_an_error_naming_the_root(s3):
    root = f"s3://no-such-bucket/x?endpoint_override={s3.endpoint}&scheme=http"
    with pytest.raises(ArtifactRootError, match=r"artifact root s3://no-such-bucket/x\?endpoint_override=.*: "
                                                 r"bucket 'no-such-bucket' does not exist"):
        ArtifactStore(root)


def test_endpoint_from_aws_endpoint_url(tmp_path, s3, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3.endpoint)
    store = ArtifactStore(f"s3://{BUCKET}/env")
    staging = _attempt(store, "env")
    store.commit(staging, {"outputs": {"f": {"path": "f.txt"}}})
    assert store.root == f"s3://{BUCKET}/env" and store.uri("s", "k") == f"s3://{BUCKET}/env/s/k"
    assert read(s3.filesystem(), f"{BUCKET}/env/s/k/attempt-{staging.attempt}/f.txt") == "env"
