"""Resource-aware scheduling and --force, on real Ray with smoke stages."""
from __future__ import annotations

from pipeline.config import Resources
from pipeline.resources import ResourceLedger, stage_need
from stages.registry import STAGES
from stages.train.params import TrainParams
from tests.pipeline.engine_helpers import Project


def test_stages_whose_work_does_not_fit_together_queue(tmp_path, ray_local):
    # The test Ray has 4 CPUs; each stage holds 1 (its task) + 3 (its own Ray work): only one fits.
    stages = {name: {"type": "smoke", "message": name, "sleep_s": 2, "work_cpus": 3} for name in ("x", "y")}
    project = Project(tmp_path, stages)
    report = project.run()
    x, y = project.manifest(report, "x"), project.manifest(report, "y")
    assert x["end_ts"] <= y["start_ts"] or y["end_ts"] <= x["start_ts"]


def test_ledger_admits_what_fits_and_holds_the_rest():
    ledger = ResourceLedger({"CPU": 4.0, "GPU": 1.0})
    assert ledger.admit("a", {"CPU": 3.0}, alone=True)
    assert not ledger.admit("b", {"CPU": 2.0}, alone=False)
    assert ledger.admit("c", {"CPU": 1.0, "GPU": 1.0}, alone=False)
    ledger.release("a")
    assert ledger.admit("b", {"CPU": 2.0}, alone=False)
    assert ledger.free() == {"CPU": 1.0, "GPU": 0.0}


def test_a_stage_larger_than_the_cluster_starts_when_alone():
    ledger = ResourceLedger({"CPU": 2.0})
    assert not ledger.admit("big", {"CPU": 8.0}, alone=False)
    assert ledger.admit("big", {"CPU": 8.0}, alone=True)


def test_train_stage_declares_all_its_workers():
    params = TrainParams.model_validate({"data": {"datasets": [{"input": "synth", "ratio": 1.0}]},
                                         "schedule": {"steps": 1},
                                         "workers": {"count": 3, "cpus_each": 2, "use_gpu": True, "gpus_each": 0.5}})
    need = stage_need(Resources(num_cpus=0), STAGES["train"], params)
    assert need == {"CPU": 6.0, "GPU": 1.5}


def test_force_reruns_the_stage_and_its_descendants(tmp_path, ray_local):
    project = Project(tmp_path, {
        "a": {"type": "smoke", "message": "a"},
        "b": {"type": "smoke", "inputs": {"up": "a"}, "message": "b"},
        "c": {"type": "smoke", "message": "c"},
    })
    project.run()
    forced = project.run(force=["a"])
    assert {n: o.status for n, o in forced.outcomes.items()} == {"a": "done", "b": "done", "c": "hit"}
    assert forced.outcomes["a"].manifest["extra"]["forced"] is True
    assert forced.outcomes["b"].manifest["extra"]["forced"] is True
    assert len(project.complete_dirs("a")) == 1 and len(project.complete_dirs("b")) == 1
