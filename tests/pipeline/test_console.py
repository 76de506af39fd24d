"""The run's console: what the user sees, and what only the log file keeps."""
from __future__ import annotations

import io
import json
import logging

from pipeline.console import Console, driver_logging
from pipeline.progress import MARK, PROGRESS


def _batch(*lines: str, actor: str = "RayTrainWorker") -> dict:
    return {"lines": list(lines), "pid": 42, "actor_name": actor, "is_err": False}


def _progress(done: int, total: int = 100) -> str:
    return PROGRESS + json.dumps({"stage": "pretrain", "done": done, "total": total, "unit": "step",
                                  "fields": {"loss": 1.5}})


def test_worker_output_reaches_the_user_only_when_marked(tmp_path):
    stream = io.StringIO()
    console = Console(tmp_path / "run.log", stream)
    console.worker_lines(_batch("Reporting training result 1: TrainingReport(...)",
                                MARK + "12:00:00 [pretrain] start (key abc)",
                                "(PlacementGroupCleaner) Failed to query Ray Train Controller actor state"))
    console.close()
    assert stream.getvalue() == "12:00:00 [pretrain] start (key abc)\n"
    log = (tmp_path / "run.log").read_text()
    assert "(RayTrainWorker pid=42) Reporting training result 1" in log
    assert "Failed to query Ray Train Controller actor state" in log
    assert "12:00:00 [pretrain] start (key abc)" in log


def test_progress_is_shown_once_per_record_with_an_eta(tmp_path):
    stream = io.StringIO()
    console = Console(tmp_path / "run.log", stream)
    console.worker_lines(_batch(_progress(10)))
    console.worker_lines(_batch(_progress(10)))  # Ray forwarded the same line twice
    console.worker_lines(_batch(_progress(100)))  # the last record is always shown
    console.close()
    shown = stream.getvalue().splitlines()
    assert len(shown) == 2
    assert shown[0].endswith("[pretrain] step 10/100  loss 1.5")
    assert "[pretrain] step 100/100  ETA 0s  loss 1.5" in shown[1]
    assert (tmp_path / "run.log").read_text().count("step 10/100") == 1


def test_driver_logs_of_other_libraries_go_to_the_file_only(tmp_path):
    stream = io.StringIO()
    console = Console(tmp_path / "run.log", stream)
    with driver_logging(console):
        logging.getLogger("pipeline").info("stage a: started (key 1234)")
        logging.getLogger("ray.train").info("controller chatter")
        logging.getLogger("somelib.module").warning("a library's own warning")
    console.close()
    assert stream.getvalue().endswith("pipeline INFO stage a: started (key 1234)\n")
    assert stream.getvalue().count("\n") == 1
    log = (tmp_path / "run.log").read_text()
    assert log.count("controller chatter") == 1 and log.count("a library's own warning") == 1


def test_a_console_that_wrote_nothing_leaves_no_file(tmp_path):
    # A run that fails on its config must not leave an empty log behind.
    console = Console(tmp_path / "logs" / "run.log", io.StringIO())
    console.close()
    assert not (tmp_path / "logs").exists()
