"""Stage types for the MLflow-view tests: one that logs a curve and writes a small detection set, one
that logs an MLflow model, one that reads both and writes a report (not a dataset). Module-level, so
Ray workers import them by reference."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import mlflow

from pipeline.stage import StageDef, StageParams, StageResult
from stages.dataset.profile import describe_dataset


class CurveParams(StageParams):
    chain: list[dict[str, Any]] = [{"kind": "rotate", "degrees": 5}, {"kind": "crop", "min_side": 0.2}]
    note: str | None = None
    hooks: dict[str, str] = {"marker": "/tmp/nowhere"}

    SETUP_KEYS = ("hooks",)


def curve(params: CurveParams, inputs: dict[str, Path], out_dir: Path, ctx) -> StageResult:
    """Logs ``curve/x`` = step at steps 1..3 and the param ``model.arch``; writes a detection set of 2
    images and 3 instances (1 ignored)."""
    for step in (1, 2, 3):
        ctx.log_metrics({"curve/x": float(step)}, step=step)
    ctx.log_params({"model.arch": "curvenet"})  # known only while running, like an inherited architecture
    data = out_dir / "data"
    (data / "images").mkdir(parents=True)
    polygon = [[0, 0, 4, 0, 4, 4, 0, 4]]
    coco = {"images": [{"id": 1, "file_name": "a.png", "width": 8, "height": 8},
                       {"id": 2, "file_name": "b.png", "width": 8, "height": 8}],
            "annotations": [{"id": i, "image_id": 1 + (i > 1), "segmentation": polygon, "iscrowd": int(i == 3),
                             "text": "x"} for i in (1, 2, 3)]}
    (data / "annotations.json").write_text(json.dumps(coco))
    return StageResult(outputs={"data": "data"}, metrics={"curve/x": 3.0, "final/y": 7.0})


class Echo(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return model_input


def modeller(params: "EmptyParams", inputs: dict[str, Path], out_dir: Path, ctx) -> StageResult:
    """Saves a trivial pyfunc model as its ``model`` output and logs it as an MLflow model."""
    folder = out_dir / "model"
    mlflow.pyfunc.save_model(str(folder), python_model=Echo())
    model_id = ctx.log_model("model", folder, tags={"kind": "echo"}, params={"arch": "echo"})
    return StageResult(outputs={"model": "model"}, datasets=[],
                       extra={"mlflow_models": {"model": model_id}} if model_id else {})


def reader(params: "EmptyParams", inputs: dict[str, Path], out_dir: Path, ctx) -> StageResult:
    """Writes a report naming its inputs; the report is not a dataset."""
    (out_dir / "report.json").write_text(json.dumps(sorted(inputs)))
    return StageResult(outputs={"report": "report.json"}, datasets=[])


class EmptyParams(StageParams):
    """No params."""


TRACKED_STAGES = {
    "curve": StageDef("curve", curve, CurveParams, "1", outputs=lambda p: ["data"], headline=("final/*",),
                      describe_dataset=describe_dataset),
    "modeller": StageDef("modeller", modeller, EmptyParams, "1", outputs=lambda p: ["model"]),
    "reader": StageDef("reader", reader, EmptyParams, "1", outputs=lambda p: ["report"]),
}
