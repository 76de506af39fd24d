"""Ctrl-C and SIGTERM stop a real driver process cleanly: exit code, MLflow run states, staging
folders, the local Ray it started; the next run resumes."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import yaml
from mlflow import MlflowClient

ROOT = Path(__file__).resolve().parents[2]

# a is quick; b and c are in flight together when the signal comes.
STAGES = {
    "a": {"type": "smoke", "message": "a"},
    "b": {"type": "smoke", "inputs": {"up": "a"}, "message": "b", "sleep_s": 20, "resources": {"num_cpus": 0.5}},
    "c": {"type": "smoke", "inputs": {"up": "a"}, "message": "c", "sleep_s": 20, "resources": {"num_cpus": 0.5}},
}


# A tiny synth set and a train stage that checkpoints every 4 steps: the signal comes once the first
# checkpoint exists, and the next run must continue from a checkpoint instead of step 0.
TRAIN_STAGES = {
    "synth": {"type": "synth", "seed": 3, "splits": {"train": 16}, "image_size": [64, 64], "crops": False,
              "instances_per_image": [1, 2], "font_size": [10, 16]},
    "train": {"type": "train", "resources": {"num_cpus": 0}, "inputs": {"synth": "synth.train"},
              "data": {"datasets": [{"input": "synth", "ratio": 1.0}], "batch_size": 2, "image_size": 64,
                       "loader_workers": 0},
              "optim": {"lr": 0.001}, "schedule": {"steps": 40}, "checkpoint": {"every": 4}, "log_every": 4,
              "workers": {"cpus_each": 1, "torch_threads": 1}},
}


class Driver:
    """`pipeline/run.py` on a config in its own process group, tagged so that every process it
    starts (Ray's included, which inherit its environment) can be found afterwards."""

    def __init__(self, tmp: Path, stages: dict = STAGES):
        self.tmp = tmp
        self.config = tmp / "pipeline.yaml"
        self.config.write_text(yaml.safe_dump({"name": "interrupts", "artifact_root": str(tmp / "artifacts"),
                                               "ray": {"num_cpus": 2}, "stages": stages}))
        self.tracking_uri = f"sqlite:///{tmp / 'mlruns.db'}"
        self.tag = uuid.uuid4().hex

    def start(self) -> subprocess.Popen:
        env = {**os.environ, "SCENETEXT_HOME": str(self.tmp / "home"), "SCENETEXT_TEST_TAG": self.tag}
        env.pop("RAY_ADDRESS", None)
        log = open(self.tmp / f"driver-{time.time_ns()}.log", "w")
        return subprocess.Popen([sys.executable, "pipeline/run.py", "--config", str(self.config),
                                 "--tracking-uri", self.tracking_uri], cwd=ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)

    def wait_for_staging(self, stages: list[str], timeout_s: float = 180) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if all(any((self.tmp / "artifacts" / s).glob(".staging-*")) for s in stages):
                return
            time.sleep(0.2)
        raise AssertionError(f"stages {stages} did not start within {timeout_s} s")

    def staging_folders(self) -> list[Path]:
        return sorted((self.tmp / "artifacts").glob("*/.staging-*"))

    def tagged_processes(self) -> list[int]:
        pids = []
        for entry in os.listdir("/proc"):
            try:
                if entry.isdigit() and self.tag.encode() in Path(f"/proc/{entry}/environ").read_bytes():
                    pids.append(int(entry))
            except OSError:
                continue
        return pids

    def run_states(self) -> dict[str, list[str]]:
        client = MlflowClient(self.tracking_uri)
        runs = client.search_runs([client.get_experiment_by_name("interrupts").experiment_id])
        states: dict[str, list[str]] = {}
        for run in runs:
            # Stage runs by their stage, the pipeline's own run by its config name.
            name = run.data.tags.get("stage") or run.data.tags["config_name"]
            states.setdefault(name, []).append(run.info.status)
        return states


def _interrupt(driver: Driver, send, ready=lambda d: d.wait_for_staging(["b", "c"])) -> int:
    proc = driver.start()
    try:
        ready(driver)
        sent = time.monotonic()
        send(proc)
        code = proc.wait(timeout=60)
        assert time.monotonic() - sent < 45, "the driver took too long to stop"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    return code


def _assert_clean_stop(driver: Driver) -> None:
    assert driver.staging_folders() == []
    states = driver.run_states()
    assert states == {"interrupts": ["KILLED"], "a": ["FINISHED"], "b": ["KILLED"], "c": ["KILLED"]}
    deadline = time.monotonic() + 20
    while driver.tagged_processes() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert driver.tagged_processes() == [], "the local Ray the driver started is still running"


@pytest.mark.slow
def test_ctrl_c_to_the_process_group_stops_the_run_and_the_next_run_resumes(tmp_path):
    driver = Driver(tmp_path)
    code = _interrupt(driver, lambda proc: os.killpg(proc.pid, signal.SIGINT))
    assert code == 130
    _assert_clean_stop(driver)
    rerun = driver.start()
    assert rerun.wait(timeout=300) == 0
    assert sorted(p.parent.parent.name for p in (tmp_path / "artifacts").glob("*/*/_COMPLETE")) == ["a", "b", "c"]


@pytest.mark.slow
def test_sigint_to_the_driver_alone_stops_the_run(tmp_path):
    driver = Driver(tmp_path)
    assert _interrupt(driver, lambda proc: proc.send_signal(signal.SIGINT)) == 130
    _assert_clean_stop(driver)


@pytest.mark.slow
def test_sigterm_stops_the_run(tmp_path):
    driver = Driver(tmp_path)
    assert _interrupt(driver, lambda proc: proc.send_signal(signal.SIGTERM)) == 143
    _assert_clean_stop(driver)


def _first_checkpoint(driver: Driver, timeout_s: float = 240) -> None:
    # Ray Train resumes from the checkpoints its snapshot file lists (a checkpoint folder alone is not enough).
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if any((driver.tmp / "home" / "ray_results").glob("train-*/checkpoint_manager_snapshot.json")):
            return
        time.sleep(0.2)
    raise AssertionError("the train stage wrote no checkpoint in time")


@pytest.mark.slow
def test_ctrl_c_during_training_leaves_nothing_running_and_the_next_run_resumes(tmp_path):
    driver = Driver(tmp_path, TRAIN_STAGES)
    assert _interrupt(driver, lambda proc: os.killpg(proc.pid, signal.SIGINT), _first_checkpoint) == 130
    assert driver.staging_folders() == []
    assert driver.run_states() == {"interrupts": ["KILLED"], "synth": ["FINISHED"], "train": ["KILLED"]}
    deadline = time.monotonic() + 20
    while driver.tagged_processes() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert driver.tagged_processes() == []
    rerun = driver.start()
    assert rerun.wait(timeout=600) == 0
    manifest = json.loads(next((tmp_path / "artifacts" / "train").glob("*/manifest.json")).read_text())
    assert manifest["counts"]["resumes"] == 1 and manifest["extra"]["resumed_at_steps"][0] >= 4
