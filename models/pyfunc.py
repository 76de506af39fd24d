"""A project model as an MLflow pyfunc model: ``mlflow.pyfunc.load_model(uri).predict(...)`` and
``mlflow models serve -m <uri> --env-manager local`` work in any process that has the project installed
(no training code, no artifact root, no access to the pipeline's files).

The folder ``save`` writes (the train stage logs it, the register stage registers it)::

    MLmodel                   python_function flavor (loader: this module's ProjectModel), signature,
                              input example, metadata {task, arch, backbone, step, checkpoint_sha256, settings}
    artifacts/checkpoint.pt   the slim checkpoint (model config + weights: ``models.checkpoint.slim``);
                              ``models.checkpoint.load(uri)`` reads it from a registered version too
    python_model.pkl          the wrapper, pickled by reference to ``ProjectModel`` (it holds no state
                              until loaded), so the project must be importable where it loads

Input: rows with one string column ``image``, the base64 text of an encoded image file (PNG, JPEG, ...
exactly as stored on disk). In process::

    model = mlflow.pyfunc.load_model("models:/scenetext-det@champion")
    model.predict(pd.DataFrame({"image": [base64.b64encode(Path("a.jpg").read_bytes()).decode()]}))

Over HTTP: ``POST /invocations`` with ``{"dataframe_records": [{"image": "<base64>"}, ...]}``. Images are
decoded in their stored pixel frame (EXIF orientation ignored), like every reader of the project.

Output: a list with one dict per image, made by the task (``models.task.Serving``), so a recognizer or
spotter brings its own output without touching this module. Detection:
``{"polygons": [[[x, y], ...], ...], "scores": [...]}`` in original-image pixels, best first.

Inference settings (detection: ``image_size`` and the decode options) are the task's defaults with the
saver's overrides; they are fixed when the model is saved and recorded in its metadata and params.

Importing this module does not import torch (only ``save`` and loading a model do).
"""
from __future__ import annotations

import base64
import binascii
import os
import tempfile
from importlib import metadata as dist_metadata
from pathlib import Path
from typing import Any

import mlflow.pyfunc

IMAGE_COLUMN = "image"
CHECKPOINT_ARTIFACT = "checkpoint"
# What the inference path imports, pinned to this environment's versions. The project itself is not on
# a package index: a serving environment must have it installed (``--env-manager local``).
_REQUIREMENTS = ("mlflow", "torch", "numpy", "pandas", "opencv-python-headless", "pyclipper", "shapely", "pydantic")


class ProjectModel(mlflow.pyfunc.PythonModel):
    """The pyfunc wrapper: base64 images in, the task's per-image results out (see the module docstring)."""

    def load_context(self, context: Any) -> None:
        """Build the task's predictor from the slim checkpoint, on CPU."""
        from models.checkpoint import load_predictor
        from models.tasks import get_task

        config = context.model_config
        self.serving = get_task(config["task"]).serving
        self.settings = dict(config["settings"])
        self.predictor = load_predictor(context.artifacts[CHECKPOINT_ARTIFACT])

    # No type hints: MLflow would read them as the model's schema (the signature is given instead).
    def predict(self, context, model_input, params=None):
        """One result dict per input row."""
        images = [decode_row(k, value) for k, value in enumerate(image_column(model_input))]
        return self.serving.predict(self.predictor, images, self.settings)


def image_column(model_input: Any) -> list[Any]:
    """The ``image`` values of a DataFrame, a list of row dicts or a dict of columns."""
    if hasattr(model_input, "columns"):
        if IMAGE_COLUMN not in model_input.columns:
            raise ValueError(f"model input has no {IMAGE_COLUMN!r} column (columns: {list(model_input.columns)})")
        return list(model_input[IMAGE_COLUMN])
    if isinstance(model_input, dict):
        if IMAGE_COLUMN not in model_input:
            raise ValueError(f"model input has no {IMAGE_COLUMN!r} key (keys: {sorted(model_input)})")
        value = model_input[IMAGE_COLUMN]
        return list(value) if isinstance(value, (list, tuple)) else [value]
    if isinstance(model_input, list) and all(isinstance(row, dict) for row in model_input):
        missing = [k for k, row in enumerate(model_input) if IMAGE_COLUMN not in row]
        if missing:
            raise ValueError(f"model input rows {missing[:10]} have no {IMAGE_COLUMN!r} key")
        return [row[IMAGE_COLUMN] for row in model_input]
    raise ValueError(f"model input must be rows with an {IMAGE_COLUMN!r} column of base64 images, "
                     f"got {type(model_input).__name__}")


def decode_row(row: int, value: Any) -> Any:
    """(H, W, 3) uint8 RGB of one row's base64 image; ValueError naming the row when it is not one."""
    import cv2

    from stages.dataset.images import decode_image

    if not isinstance(value, str):
        raise ValueError(f"model input row {row}: {IMAGE_COLUMN!r} must be base64 text, got {type(value).__name__}")
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"model input row {row}: {IMAGE_COLUMN!r} is not valid base64 ({exc})") from None
    bgr = decode_image(data)
    if bgr is None:
        raise ValueError(f"model input row {row}: {IMAGE_COLUMN!r} does not decode to an image ({len(data)} bytes)")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def describe(checkpoint: Path | str, settings: dict[str, Any] | None = None) -> dict[str, Any]:
    """What a saved model records about itself (its metadata, and the logged model's params): task, arch,
    backbone, step, the source checkpoint's sha256 and the inference settings (defaults + ``settings``)."""
    from models.checkpoint import load_checkpoint
    from models.tasks import task_of
    from pipeline.artifacts import file_sha256

    ckpt = load_checkpoint(checkpoint)
    config = ckpt["model_config"]
    task = task_of(config)
    if task.serving is None:
        raise ValueError(f"{checkpoint}: the {task.name} task has no serving (models.task.Serving): "
                         "it cannot be saved as an MLflow model")
    return {"task": task.name, "arch": config["arch"], "backbone": (config.get("backbone") or {}).get("name"),
            "step": int(ckpt["step"]), "checkpoint_sha256": file_sha256(Path(checkpoint)),
            "settings": task.serving.settings(settings)}


def save(checkpoint: Path | str, folder: Path | str, settings: dict[str, Any] | None = None) -> dict[str, Any]:
    """Write the MLflow pyfunc model of the checkpoint at ``checkpoint`` into ``folder`` (which must not
    exist); returns ``describe(checkpoint, settings)``. ``settings`` override the task's inference defaults
    (an unknown name raises and lists the valid ones)."""
    import pandas as pd
    import torch
    from mlflow.models import infer_signature

    from models.checkpoint import load_checkpoint, slim
    from models.tasks import get_task

    # Without it MLflow runs a pip dry run per saved model (slow, and offline it fails anyway).
    os.environ.setdefault("MLFLOW_SKIP_PIP_REQUIREMENTS_CHECK", "true")
    info = describe(checkpoint, settings)
    serving = get_task(info["task"]).serving
    example = pd.DataFrame({IMAGE_COLUMN: [example_image()]})
    with tempfile.TemporaryDirectory() as tmp:
        weights = Path(tmp) / "checkpoint.pt"
        torch.save(slim(load_checkpoint(checkpoint)), weights)
        mlflow.pyfunc.save_model(
            path=str(folder), python_model=ProjectModel(), artifacts={CHECKPOINT_ARTIFACT: str(weights)},
            signature=infer_signature(example, [serving.output_example]), input_example=example,
            model_config={"task": info["task"], "settings": info["settings"]}, metadata=info,
            pip_requirements=requirements())
    return info


def example_image() -> str:
    """Base64 of a small grey PNG with one dark word-like bar: the input example every model carries."""
    import cv2
    import numpy as np

    image = np.full((64, 96, 3), 200, np.uint8)
    image[24:40, 16:80] = 30
    ok, data = cv2.imencode(".png", image)
    assert ok  # encoding a plain uint8 array cannot fail
    return base64.b64encode(data.tobytes()).decode("ascii")


def requirements() -> list[str]:
    """``name==version`` of the inference path's libraries installed here."""
    pins = []
    for name in _REQUIREMENTS:
        try:
            pins.append(f"{name}=={dist_metadata.version(name)}")
        except dist_metadata.PackageNotFoundError:
            pins.append(name)
    return pins


def log_on_run(tracking_uri: str, run_id: str, checkpoint: Path | str, name: str = "model",
               settings: dict[str, Any] | None = None, tags: dict[str, Any] | None = None) -> str:
    """Save the checkpoint's MLflow model and log it as a logged model of ``run_id`` at ``tracking_uri``,
    outside the engine (a stage under the engine calls ``ctx.log_model``); returns the model id."""
    from pipeline.tracking import MlflowWriter

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / name
        info = save(checkpoint, folder, settings)
        return MlflowWriter(tracking_uri).log_model(run_id, name, str(folder), tags or {}, info)
