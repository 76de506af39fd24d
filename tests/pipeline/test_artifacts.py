"""The artifact store on its own (local roots): atomic commit, markers, live and dead staging, races,
replacement, URIs."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from pipeline.artifacts import ArtifactStore, describe_output, display_root
from pipeline.attempts import Heartbeat


def test_commit_is_atomic_and_marked_last(tmp_path):
    store = ArtifactStore(str(tmp_path))
    staging = store.begin("s", "k1")
    (staging.local_dir / "out").mkdir()
    (staging.local_dir / "out" / "x.txt").write_text("x")
    assert not store.is_complete("s", "k1")
    assert not (tmp_path / "s" / "k1").exists(), "nothing visible at the final path before commit"
    committed = store.commit(staging, {"outputs": {"out": {"path": "out"}}, "finished_at": "t"})
    assert store.is_complete("s", "k1") and committed.uri == (tmp_path / "s" / "k1").as_uri()
    assert not committed.reused and committed.local_dir == tmp_path / "s" / "k1"
    assert json.loads((tmp_path / "s" / "k1" / "manifest.json").read_text())["outputs"]["out"]["path"] == "out"
    assert json.loads((tmp_path / "s" / "k1" / "_COMPLETE").read_text())["attempt"] == staging.attempt
    assert store.local_output("s", "k1", "out") == tmp_path / "s" / "k1" / "out"


def test_begin_leaves_a_live_attempts_staging_alone(tmp_path):
    # A second driver starting the same key must not delete the first one's work in progress.
    store = ArtifactStore(str(tmp_path))
    live = store.begin("s", "k1").local_dir
    (live / "partial.bin").write_bytes(b"x" * 10)
    second = store.begin("s", "k1").local_dir
    assert live.exists() and (live / "partial.bin").exists() and second.exists() and live != second


def test_begin_removes_staging_of_a_dead_writer_of_same_key_only(tmp_path):
    store = ArtifactStore(str(tmp_path))
    dead, other = store.begin("s", "k1").local_dir, store.begin("s", "k2").local_dir
    for folder in (dead, other):
        _claim_by_dead_process(folder)
    fresh = store.begin("s", "k1").local_dir
    assert not dead.exists() and other.exists() and fresh.exists()


def test_loser_of_a_commit_race_keeps_the_winners_output(tmp_path):
    store = ArtifactStore(str(tmp_path))
    first, second = store.begin("s", "k1"), store.begin("s", "k1")
    (first.local_dir / "f.txt").write_text("first")
    (second.local_dir / "f.txt").write_text("second")
    won = store.commit(first, {"outputs": {"f": {"path": "f.txt"}}, "run_id": "r1"})
    lost = store.commit(second, {"outputs": {"f": {"path": "f.txt"}}, "run_id": "r2"})
    assert not won.reused and lost.reused and lost.manifest["run_id"] == "r1"
    assert (tmp_path / "s" / "k1" / "f.txt").read_text() == "first"
    assert not second.local_dir.exists(), "the loser's staging folder is discarded"
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == ["k1"]


def test_replace_publishes_over_a_complete_output(tmp_path):
    store = ArtifactStore(str(tmp_path))
    for text in ("old", "new"):
        staging = store.begin("s", "k1")
        (staging.local_dir / "f.txt").write_text(text)
        committed = store.commit(staging, {"outputs": {"f": {"path": "f.txt"}}, "run_id": text}, replace=True)
    assert not committed.reused and store.read_manifest("s", "k1")["run_id"] == "new"
    assert (tmp_path / "s" / "k1" / "f.txt").read_text() == "new"
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == ["k1"], "no trash left behind"


def test_incomplete_final_folder_is_replaced(tmp_path):
    store = ArtifactStore(str(tmp_path))
    (tmp_path / "s" / "k1").mkdir(parents=True)
    (tmp_path / "s" / "k1" / "junk").write_text("from a killed attempt")
    staging = store.begin("s", "k1")
    (staging.local_dir / "new").write_text("n")
    store.commit(staging, {"outputs": {}})
    assert sorted(p.name for p in (tmp_path / "s" / "k1").iterdir()) == [
        "_ATTEMPT", "_COMPLETE", "manifest.json", "new"]
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


def test_shown_root_and_uris_hold_no_credentials():
    root = "s3://AKIAEXAMPLE:s3cr3t@bucket/pre?endpoint_override=http://127.0.0.1:9&scheme=http&secret_key=s3cr3t&access_key=AKIAEXAMPLE"
    assert display_root(root) == "s3://bucket/pre?endpoint_override=http://127.0.0.1:9&scheme=http"
    store = ArtifactStore.__new__(ArtifactStore)  # no filesystem needed to format addresses
    store._base, store.is_local, store._scheme = "bucket/pre", False, "s3"
    assert store.uri("s", "k") == "s3://bucket/pre/s/k"


def _claim_by_dead_process(folder):
    # A child that has exited: its pid is free, exactly what a SIGKILLed attempt leaves.
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                           check=True)
    owner = json.loads((folder / "_ATTEMPT").read_text())
    owner.update(pid=int(child.stdout), pid_start="0")
    (folder / "_ATTEMPT").write_text(json.dumps(owner))


def test_output_digest_names_content_not_location(tmp_path):
    for name in ("one", "two"):
        (tmp_path / name / "sub").mkdir(parents=True)
        (tmp_path / name / "sub" / "a.txt").write_text("same")
    one, two = describe_output(tmp_path / "one"), describe_output(tmp_path / "two")
    assert one == two and one["files"] == 1 and one["bytes"] == 4
    (tmp_path / "two" / "sub" / "a.txt").write_text("diff")
    assert describe_output(tmp_path / "two")["digest"] != one["digest"]


def test_heartbeat_keeps_a_running_attempt_fresh(tmp_path):
    store = ArtifactStore(str(tmp_path))
    staging = store.begin("s", "k1")
    marker = staging.local_dir / "_ATTEMPT"
    os.utime(marker, (1, 1))
    with Heartbeat(marker, interval_s=0.05):
        time.sleep(0.3)
    assert marker.stat().st_mtime > time.time() - 60
