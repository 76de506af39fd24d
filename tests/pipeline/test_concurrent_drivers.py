"""Two real drivers (``pipeline/run.py`` processes, each with its own local Ray) run one config at once."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml

from pipeline.artifacts import describe_output
from tests.conftest import ROOT

# Each stage sleeps so that the two drivers are inside the same stages at the same time.
STAGES = {
    "a": {"type": "smoke", "message": "first", "sleep_s": 3},
    "b": {"type": "smoke", "inputs": {"up": "a"}, "message": "left", "sleep_s": 3},
    "c": {"type": "smoke", "inputs": {"up": "a.data"}, "message": "right", "sleep_s": 3},
}


@pytest.mark.slow
def test_two_drivers_on_one_config_both_succeed_with_one_output_per_key(tmp_path):
    root = tmp_path / "artifacts"
    config = tmp_path / "race.yaml"
    config.write_text(yaml.safe_dump({"name": "race", "artifact_root": str(root), "ray": {"num_cpus": 2},
                                      "stages": STAGES}))
    env = {**os.environ, "SCENETEXT_HOME": str(tmp_path), "RAY_USAGE_STATS_ENABLED": "0"}
    drivers = [subprocess.Popen([sys.executable, str(ROOT / "pipeline" / "run.py"), "--config", str(config),
                                 "--tracking-uri", f"sqlite:///{tmp_path / f'mlruns-{i}.db'}"],
                                cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
               for i in range(2)]
    logs = [d.communicate(timeout=300)[0] for d in drivers]
    assert [d.returncode for d in drivers] == [0, 0], "\n\n".join(log[-3000:] for log in logs)
    for stage in STAGES:
        entries = sorted(p.name for p in (root / stage).iterdir())
        assert len(entries) == 1 and not entries[0].startswith("."), f"{stage}: {entries}"
        out = root / stage / entries[0]
        manifest = json.loads((out / "manifest.json").read_text())
        assert (out / "_COMPLETE").is_file() and manifest["key"] == entries[0]
        assert describe_output(out / "data") == {k: manifest["outputs"]["data"][k]
                                                 for k in ("bytes", "files", "digest")}
    text = (root / "b" / next((root / "b").iterdir()).name / "data" / "out.txt").read_text()
    assert text == "left\nup=first"
