"""The train stage's MLflow model: saved outside the output, logged through the stage context with the
settings validation judged it by."""
from __future__ import annotations

from pathlib import Path

import mlflow

from pipeline.stage import LocalContext
from stages.train.params import TrainParams
from stages.train.stage import log_mlflow_model, serving_settings
from tests.stages.evaluate.evalsets import save_tiny_checkpoint


def _params(validation: dict | None) -> TrainParams:
    data = {"datasets": [{"input": "synth", "ratio": 1.0}]}
    return TrainParams.model_validate({"data": data, "schedule": {"steps": 2},
                                       **({"validation": validation} if validation else {})})


def test_logged_model_takes_validation_settings_else_the_task_defaults():
    assert serving_settings(_params(None)) == {}
    validated = serving_settings(_params({"input": "val", "size": 512, "postprocess": {"thresh": 0.4}}))
    assert validated == {"image_size": 512, "mode": "poly", "thresh": 0.4, "box_thresh": 0.5, "unclip_ratio": 1.5,
                         "min_size": 3.0}


def test_model_is_saved_in_a_temporary_folder_and_logged_through_the_context(tmp_path):
    class Recording(LocalContext):
        """Keeps a copy of what the stage logs: the folder itself is gone once the call returns."""

        def log_model(self, name, folder, tags=None, params=None):
            self.logged = (name, sorted(p.relative_to(folder).as_posix() for p in Path(folder).rglob("*")),
                           tags, params, mlflow.pyfunc.load_model(str(folder)).metadata.metadata)
            self.folder = Path(folder)
            return "m-123"

    save_tiny_checkpoint(tmp_path)
    ctx = Recording("finetune", "k1")
    out = log_mlflow_model(_params({"input": "val", "size": 96}), tmp_path / "checkpoint.pt", ctx)
    assert out == {"model": "m-123"}
    name, files, tags, params, metadata = ctx.logged
    assert name == "model" and "MLmodel" in files and "artifacts/checkpoint.pt" in files
    assert tags == {"stage": "finetune", "cache_key": "k1"}
    assert (params["arch"], params["backbone"], params["step"], params["settings"]["image_size"]) == (
        "dbnet", "tiny", 0, 96)
    assert metadata["settings"] == params["settings"]
    assert not ctx.folder.exists() and not any(tmp_path.glob("model*"))  # nothing left in the output
    # Tracking off: nothing to record in the manifest.
    assert log_mlflow_model(_params(None), tmp_path / "checkpoint.pt", LocalContext("train")) == {}
