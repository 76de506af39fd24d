"""Progress reporting (terminal bar vs log lines) and the small source helpers (mirror, cache dir)."""
from __future__ import annotations

import io
import logging
from pathlib import Path

from stages.dataset import transfer_progress as progress
from stages.download.sources import apply_mirror, cache_entry, resolve_cache_dir, resolve_local


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_terminal_gets_a_carriage_return_bar(monkeypatch):
    monkeypatch.setattr(progress, "BAR_INTERVAL_S", 0.0)
    term = _Terminal()
    bar = progress.Progress("train.zip", 4 << 20, logging.getLogger("test.progress"), stream=term)
    bar.update(1 << 20)
    bar.finish(4 << 20)
    text = term.getvalue()
    assert text.startswith("\r[#######.......................] train.zip:  25.0% 1.0 MiB/4.0 MiB")
    assert "100.0% 4.0 MiB/4.0 MiB" in text and text.endswith("\n")


def test_non_terminal_gets_periodic_log_lines(monkeypatch, caplog):
    monkeypatch.setattr(progress, "LOG_INTERVAL_S", 0.0)
    stream = io.StringIO()
    with caplog.at_level(logging.INFO, logger="test.progress"):
        bar = progress.Progress("gt.txt", None, logging.getLogger("test.progress"), stream=stream, initial=1 << 20)
        bar.update(3 << 20)
        bar.finish(3 << 20)
    assert stream.getvalue() == ""
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0].startswith("gt.txt: 3.0 MiB ")
    assert lines[1].startswith("gt.txt: 2.0 MiB fetched in ")  # the resumed MiB is not counted as fetched


def test_apply_mirror_keeps_path_and_query():
    assert apply_mirror("https://host.org/a/b.zip?x=1", "http://m:8080/pub/") == "http://m:8080/pub/a/b.zip?x=1"
    assert apply_mirror("https://host.org/a/b.zip", None) == "https://host.org/a/b.zip"


def test_cache_dir_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv("SCENETEXT_CACHE", str(tmp_path / "env"))
    assert resolve_cache_dir(str(tmp_path / "param")) == tmp_path / "param"
    assert resolve_cache_dir(None) == tmp_path / "env"
    monkeypatch.delenv("SCENETEXT_CACHE")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert resolve_cache_dir(None) == tmp_path / ".cache" / "scenetext" / "downloads"
    assert cache_entry(Path("/c"), {"sha256": "ab", "md5": "cd"}, "x.zip") == Path("/c/sha256-ab/x.zip")
    monkeypatch.setenv("DATASETS", "/mnt/ds")
    assert resolve_local("$DATASETS/ic15") == Path("/mnt/ds/ic15")
