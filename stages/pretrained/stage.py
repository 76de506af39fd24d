"""The ``pretrained`` stage: import outside weights into a project architecture as a checkpoint.

A config entry::

    g2:
      type: pretrained
      source: {package: {module: easyocr_en_models, file: models/english_g2.pth}}
      importer: easyocr_english_g2        # models.pretrained.IMPORTERS: easyocr_english_g2, craft_mlt_25k

``source`` is exactly one of ``path`` (a local file or ``file://`` URI), ``package`` (a file inside an
installed package: nothing is downloaded at run time) or ``url`` with its required ``sha256``. The
importer maps the state dict onto its architecture and every weight is loaded strictly: a file that
does not fit (another model's weights, a truncated dict) fails with the missing, unexpected and
misshapen keys and the file's name.

Output ``model``: ``model/checkpoint.pt`` in the project's checkpoint format (step 0), which evaluate,
register, infer and a train stage's ``init`` take like a trained model's. The model is also logged on
the stage's MLflow run as an MLflow model (``models.pyfunc``, as the train stage does), which the
register stage registers (``scenetext-rec`` / ``scenetext-det``).

The cache key holds the weights' content digest, not where they lie (a moved file keeps its key, a
changed file re-keys). The manifest (``extra``) and the run's params record the source, the sha256,
the importer and, for a package, its installed version.
"""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from pipeline.artifacts import file_sha256
from pipeline.stage import StageContext, StageDef, StageResult
from stages.dataset.http_fetch import RetryPolicy
from stages.pretrained.params import PretrainedParams
from stages.pretrained.sources import local_file, package_version

MODEL_DIR = "model"


def run(params: PretrainedParams, inputs: dict[str, Path], out_dir: Path, ctx: StageContext) -> StageResult:
    """Find (or fetch) the weights, import them strictly, write ``model/checkpoint.pt`` and log the model."""
    from models.checkpoint import save_checkpoint
    from models.pretrained import import_file

    if inputs:
        raise ValueError(f"pretrained: the stage takes no inputs, got {sorted(inputs)}")
    source = params.source
    with tempfile.TemporaryDirectory(prefix="scenetext-pretrained-") as tmp:
        file = local_file(source, Path(tmp), RetryPolicy(params.http_retries, timeout_s=params.timeout_s), ctx.logger)
        sha = file_sha256(file)
        config, model = import_file(file, params.importer, source.describe())
    record = {"source": source.describe(), "file": str(file) if source.url is None else None, "sha256": sha,
              "importer": params.importer, "package_version": package_version(source)}
    checkpoint = save_checkpoint(Path(out_dir) / MODEL_DIR, config, model, step=0, extra={"pretrained": record})
    ctx.log_params({f"pretrained.{k}": v for k, v in record.items() if v is not None})
    ctx.logger.info("pretrained: %s (sha256 %s) imported with %s as %s", record["source"], sha[:12],
                    params.importer, config["arch"])
    logged = _log_model(checkpoint, ctx)
    return StageResult(outputs={"model": MODEL_DIR}, counts={"tensors": len(model.state_dict())}, datasets=[],
                       extra={"pretrained": record, "model_config": config,
                              **({"mlflow_models": {"model": logged}} if logged else {})})


def _log_model(checkpoint: Path, ctx: StageContext) -> str | None:
    """Log the checkpoint as an MLflow model of the stage's run (what register registers); its id, or
    None when tracking is off."""
    from models import pyfunc

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / MODEL_DIR
        info: dict[str, Any] = pyfunc.save(checkpoint, folder)
        return ctx.log_model("model", folder, tags={"stage": ctx.stage_name, "cache_key": ctx.key}, params=info)


STAGE = StageDef(name="pretrained", fn=run, params=PretrainedParams, version="1", outputs=lambda p: ["model"],
                 description="import outside weights (file, package resource, checksummed URL) as a checkpoint")
