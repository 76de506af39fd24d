"""``python -m pipeline gc`` on local and S3 roots: exactly the garbage is listed, and only it is removed."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.fs as pafs
import pytest
import yaml

from pipeline.artifacts import ArtifactStore
from pipeline.config import load_config
from pipeline.dag import build_graph
from pipeline.gc import format_size, main_gc
from pipeline.runner import RunOptions, prepare
from stages.registry import STAGES
from tests.pipeline.s3_server import s3  # noqa: F401  (the fixture)

RECIPE = {"a": {"type": "smoke", "message": "first"}, "b": {"type": "smoke", "inputs": {"up": "a"}}}


def dead_owner(attempt: str) -> bytes:
    """An _ATTEMPT record of a process on this host that has exited."""
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                           check=True)
    return json.dumps({"attempt": attempt, "host": socket.gethostname(), "pid": int(child.stdout),
                       "pid_start": "0"}).encode()


def commit(store: ArtifactStore, stage: str, key: str, payload: bytes) -> None:
    staging = store.begin(stage, key)
    (staging.local_dir / "out.bin").write_bytes(payload)
    store.commit(staging, {"outputs": {"data": {"path": "out.bin"}}})


def sizes_under(fs: pafs.FileSystem, path: str) -> int:
    return sum(i.size for i in fs.get_file_info(pafs.FileSelector(path, recursive=True))
               if i.type == pafs.FileType.File)


def everything(fs: pafs.FileSystem, base: str) -> list[str]:
    return sorted(i.path for i in fs.get_file_info(pafs.FileSelector(base, recursive=True, allow_not_found=True))
                  if i.type == pafs.FileType.File)


@pytest.fixture(params=["local", "s3"])
def garden(request, tmp_path, monkeypatch):
    """A root with referenced outputs, live staging and exactly one piece of each kind of garbage."""
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    root = str(tmp_path / "artifacts") if request.param == "local" else request.getfixturevalue("s3").root("gc")
    config = tmp_path / "pipeline.yaml"
    config.write_text(yaml.safe_dump({"name": "gctest", "artifact_root": root, "stages": RECIPE}))
    keys = {name: node.key for name, node in build_graph(load_config(config, STAGES), STAGES).nodes.items()}
    store = ArtifactStore(root)
    fs, base = store.filesystem, store.base
    for stage, key in keys.items():
        commit(store, stage, key, b"k" * 100)
    commit(store, "a", "0" * 64, b"u" * 1000)  # an output of an older version of the config
    live = store.begin("a", "1" * 64)  # this process is alive: never garbage
    dead = store.begin("b", "2" * 64)
    garbage = {f"{base}/a/{'0' * 64}": "output"}
    if store.is_local:
        (dead.local_dir / "_ATTEMPT").write_bytes(dead_owner(dead.attempt))
        (dead.local_dir / "half.bin").write_bytes(b"h" * 50)
        garbage[str(dead.local_dir)] = "staging"
        trash = Path(base) / "b" / f".trash-{'3' * 64}-abcd"
        trash.mkdir()
        (trash / "old.bin").write_bytes(b"t" * 7)
        garbage[str(trash)] = "staging"
    else:
        # An upload killed half-way beside the complete output of a referenced key.
        half = f"{base}/b/{keys['b']}/attempt-{dead.attempt}"
        with fs.open_output_stream(f"{half}/_ATTEMPT") as out:
            out.write(dead_owner(dead.attempt))
        with fs.open_output_stream(f"{half}/half.bin") as out:
            out.write(b"h" * 50)
        garbage[half] = "staging"
        (dead.local_dir / "_ATTEMPT").write_bytes(dead_owner(dead.attempt))  # its local staging on this machine
        garbage[str(dead.local_dir)] = "staging"
    old = store.begin("b", "4" * 64).local_dir  # no owner record, untouched for two days
    (old / "_ATTEMPT").unlink()
    past = time.time() - 2 * 86400
    for path in (old, *old.iterdir()):
        os.utime(path, (past, past))
    garbage[str(old)] = "staging"
    return store, config, garbage, live


def listed(out: str) -> dict[str, tuple[str, str]]:
    """uri -> (kind, size) from gc's table."""
    rows = {}
    for line in out.splitlines()[:-1]:
        kind, rest = line.split(None, 1)
        size, uri, _reason = rest.strip().split("  ", 2)
        rows[uri] = (kind, size)
    return rows


def test_gc_lists_then_removes_exactly_the_garbage(garden, capsys):
    store, config, garbage, live = garden
    fs = store.filesystem
    local = pafs.LocalFileSystem()

    def fs_of(path):
        return fs if path.startswith(store.base) else local

    expected = {(store.display_uri(p) if fs_of(p) is fs else Path(p).as_uri()): kind for p, kind in garbage.items()}
    expected_bytes = {p: sizes_under(fs_of(p), p) for p in garbage}
    before = everything(fs, store.base) + everything(local, str(live.local_dir.parent))
    assert main_gc(["--config", str(config), "--dry-run"], STAGES) == 0
    out = capsys.readouterr().out
    rows = listed(out)
    output_uri = store.uri("a", "0" * 64)
    shown = {output_uri if kind == "output" else uri: (kind, format_size(expected_bytes[p]))
             for (uri, kind), p in zip(expected.items(), garbage)}
    assert rows == shown
    assert expected_bytes[f"{store.base}/a/{'0' * 64}"] > 1000  # the output's files, manifest and markers
    total = sum(expected_bytes.values())
    assert out.splitlines()[-1] == f"total: would remove {len(garbage)} folders, {format_size(total)} (dry run)"
    assert (everything(fs, store.base) + everything(local, str(live.local_dir.parent))
            == before), "a dry run removes nothing"

    assert main_gc(["--config", str(config)], STAGES) == 0
    after = everything(fs, store.base) + everything(local, str(live.local_dir.parent))
    removed = sorted(set(before) - set(after))
    assert removed == sorted({f for f in before if any(f.startswith(p + "/") for p in garbage)})
    assert live.local_dir.exists()
    assert store.is_complete("a", build_graph(load_config(config, STAGES), STAGES).nodes["a"].key)
    assert not store.is_complete("a", "0" * 64)


def test_gc_keeps_an_output_whose_key_depends_on_a_resolved_reference(tmp_path, capsys, monkeypatch):
    # A download stage's key covers its folder's content, and a register stage's its MLflow store:
    # gc must judge "referenced" by the keys a run uses, not by keys of the params as written.
    monkeypatch.setenv("SCENETEXT_HOME", str(tmp_path / "home"))
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.txt").write_text("hello")
    config = tmp_path / "pipeline.yaml"
    config.write_text(yaml.safe_dump({"name": "gcref", "artifact_root": str(tmp_path / "artifacts"),
                                      "tracking_uri": f"sqlite:///{tmp_path / 'mlruns.db'}",
                                      "stages": {"dl": {"type": "download", "name": "data", "path": str(data),
                                                        "instructions": "-"}}}))
    key = prepare(RunOptions(str(config)), STAGES).graph.nodes["dl"].key
    output = tmp_path / "artifacts" / "dl" / key
    output.mkdir(parents=True)
    (output / "_COMPLETE").write_text("{}")
    (output / "manifest.json").write_text("{}")
    assert main_gc(["--config", str(config)], STAGES) == 0
    assert output.is_dir(), capsys.readouterr().out
