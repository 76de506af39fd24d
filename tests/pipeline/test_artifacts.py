"""The artifact store on its own: atomic commit, markers, stale staging, replacement, URIs."""
from __future__ import annotations

import json

from pipeline.artifacts import ArtifactStore, describe_output


def test_commit_is_atomic_and_marked_last(tmp_path):
    store = ArtifactStore(str(tmp_path))
    staging = store.begin("s", "k1")
    (staging.local_dir / "out").mkdir()
    (staging.local_dir / "out" / "x.txt").write_text("x")
    assert not store.is_complete("s", "k1")
    assert not (tmp_path / "s" / "k1").exists(), "nothing visible at the final path before commit"
    uri = store.commit(staging, {"outputs": {"out": {"path": "out"}}, "finished_at": "t"})
    assert store.is_complete("s", "k1") and uri == (tmp_path / "s" / "k1").as_uri()
    assert json.loads((tmp_path / "s" / "k1" / "manifest.json").read_text())["outputs"]["out"]["path"] == "out"
    assert store.local_output("s", "k1", "out") == tmp_path / "s" / "k1" / "out"


def test_begin_removes_stale_staging_of_same_key_only(tmp_path):
    store = ArtifactStore(str(tmp_path))
    killed = store.begin("s", "k1").local_dir
    other = store.begin("s", "k2").local_dir
    fresh = store.begin("s", "k1").local_dir
    assert not killed.exists() and other.exists() and fresh.exists()


def test_incomplete_final_folder_is_replaced(tmp_path):
    store = ArtifactStore(str(tmp_path))
    (tmp_path / "s" / "k1").mkdir(parents=True)
    (tmp_path / "s" / "k1" / "junk").write_text("from a killed attempt")
    staging = store.begin("s", "k1")
    (staging.local_dir / "new").write_text("n")
    store.commit(staging, {"outputs": {}})
    assert sorted(p.name for p in (tmp_path / "s" / "k1").iterdir()) == ["_COMPLETE", "manifest.json", "new"]
    assert [p.name for p in (tmp_path / "s").iterdir()] == ["k1"]


def test_abort_removes_staging(tmp_path):
    store = ArtifactStore(str(tmp_path))
    staging = store.begin("s", "k1")
    store.abort(staging)
    assert list((tmp_path / "s").iterdir()) == []


def test_uri_root_through_pyarrow_filesystem(tmp_path):
    # A file:// URI goes through pyarrow.fs like s3:// would.
    store = ArtifactStore(tmp_path.as_uri())
    staging = store.begin("s", "k1")
    (staging.local_dir / "f.txt").write_text("hello")
    store.commit(staging, {"outputs": {"f": {"path": "f.txt"}}})
    assert store.is_complete("s", "k1")
    assert store.local_output("s", "k1", "f").read_text() == "hello"


def test_output_digest_names_content_not_location(tmp_path):
    for name in ("one", "two"):
        (tmp_path / name / "sub").mkdir(parents=True)
        (tmp_path / name / "sub" / "a.txt").write_text("same")
    one, two = describe_output(tmp_path / "one"), describe_output(tmp_path / "two")
    assert one == two and one["files"] == 1 and one["bytes"] == 4
    (tmp_path / "two" / "sub" / "a.txt").write_text("diff")
    assert describe_output(tmp_path / "two")["digest"] != one["digest"]
