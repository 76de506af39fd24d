"""The ``train`` stage: train a text detector with Ray Train's TorchTrainer on a mix of datasets.

Pretrain, mixtrain and finetune are three entries of this one stage type, chained by their inputs:
each gets the previous one's ``model`` output as ``init``. Output ``model``: ``model/checkpoint.pt``,
the models package's checkpoint object (config, weights, optimizer, scheduler, step, RNG), loadable
with ``models.load``. The final model is also logged on the stage's MLflow run as an MLflow model
(``models.pyfunc``: loadable with ``mlflow.pyfunc.load_model``, inference settings from ``validation``
when it is set, else the task's defaults); its id is the manifest's ``extra.mlflow_models.model``, which
the register stage registers.

Resources: the stage task itself only waits on ``trainer.fit()``; the Ray Train workers reserve the
CPUs/GPUs (``workers.cpus_each``, ``workers.use_gpu``). Configs therefore give train stages
``resources: {num_cpus: 0}`` so the waiting task does not hold a CPU a worker needs (on a 2-CPU
machine a 1-CPU task plus a 2-CPU worker would never schedule).

Interruption: the Ray Train run is named after the stage's cache key and kept under ``workers.storage_path``
(absolute; default ``<project home>/ray_results``), so running the pipeline again after a crash or
Ctrl-C resumes that run from its last checkpoint instead of starting over. Within one run, worker
failures are retried ``workers.max_failures`` times, each resuming from the last checkpoint. A forced run
(``--force``) starts a new Ray Train run from the stage's inputs: the earlier run's folder is removed
once per attempt (a Ray retry of the same attempt still resumes its own checkpoints).

Scheduling: the stage declares its workers' resources (``ray_work``), so the engine starts it only
when all of its workers fit the cluster; two train stages on a cluster with room for one queue.

On a multi-node cluster the training workers read the dataset and init paths the stage task sees:
the artifact root (and ``workers.storage_path``) must be on a file system every node mounts.
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any, Sequence

from pipeline.run_params import readable_params
from pipeline.stage import StageContext, StageDef, StageResult, stage_tracking_uri
from stages.train.metric_names import mlflow_metrics
from stages.train.params import TrainParams

MODEL_DIR = "model"


def run(params: TrainParams, inputs: dict[str, Path], out_dir: Path, ctx: StageContext) -> StageResult:
    """Train with TorchTrainer and copy the final checkpoint to ``out_dir/model/checkpoint.pt``."""
    from models.checkpoint import CHECKPOINT_FILE, load_checkpoint

    # A models:/ or runs:/ init resolves in the pipeline's MLflow store, not this worker's default one.
    init = resolve_init(params.init, inputs, stage_tracking_uri(ctx))
    loop = make_loop(params, inputs, init, ctx.tracking_handle(), ctx.stage_name,
                     resolve_parts(params, inputs, stage_tracking_uri(ctx)))
    if params.model is None:
        # Inherited from the init checkpoint (or the tiny default): only known now, but every train
        # run shows its architecture.
        ctx.log_params(readable_params({"model": loop.model_config}))
    if ctx.num_cpus or ctx.num_gpus:
        # The task only waits in trainer.fit(); what it holds is lost to the workers (on a small machine
        # the workers may then never be scheduled).
        ctx.logger.warning("train stage task holds %s CPU / %s GPU while TorchTrainer workers need %s each; "
                           "give train stages `resources: {num_cpus: 0}`", ctx.num_cpus, ctx.num_gpus,
                           worker_resources(params))
    storage = storage_path(params.workers.storage_path)
    name = run_name(ctx.stage_name, ctx.key)
    if ctx.forced:
        start_fresh(storage / name, ctx.attempt, ctx.logger)
    data = params.data
    ctx.logger.info("Ray Train run %s in %s: %d worker(s), %d steps, datasets %s", name, storage,
                    params.workers.count, params.schedule.steps,
                    ", ".join(f"{d.input}:{r:.2f}" for d, r in zip(data.datasets, data.ratios())))
    trainer = make_trainer(params, loop, name, storage)
    result = trainer.fit()
    if result.checkpoint is None:
        raise RuntimeError(f"Ray Train run {name} finished without a checkpoint (see {storage / name})")
    target = Path(out_dir) / MODEL_DIR
    target.mkdir(parents=True)
    with result.checkpoint.as_directory() as folder:
        shutil.copy2(Path(folder) / CHECKPOINT_FILE, target / CHECKPOINT_FILE)
    final = load_checkpoint(target / CHECKPOINT_FILE)
    if final["step"] != params.schedule.steps:
        raise RuntimeError(f"Ray Train run {name}: last checkpoint is at step {final['step']}, "
                           f"expected {params.schedule.steps}")
    metrics = mlflow_metrics(final["extra"].get("metrics", {}))  # the names the loop logged: train/*, val/*
    resumes = list(final["extra"].get("resumes", []))
    logged = log_mlflow_model(params, target / CHECKPOINT_FILE, ctx, final["model_config"])
    return StageResult(
        outputs={"model": MODEL_DIR},
        counts={"steps": params.schedule.steps, "resumes": len(resumes)},
        metrics=metrics,
        datasets=[],
        extra={"ray_run": name, "storage_path": str(storage), "resumed_at_steps": resumes,
               "model_config": final["model_config"], **({"mlflow_models": logged} if logged else {})},
    )


def log_mlflow_model(params: TrainParams, checkpoint: Path, ctx: StageContext,
                     model_config: dict[str, Any] | None = None) -> dict[str, str]:
    """Log the final checkpoint as an MLflow model of the stage's run (saved in a temporary folder, not
    in the output); ``{"model": logged model id}``, or {} when tracking is off."""
    from models import pyfunc

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / MODEL_DIR
        info = pyfunc.save(checkpoint, folder, serving_settings(params, model_config))
        model_id = ctx.log_model("model", folder, tags={"stage": ctx.stage_name, "cache_key": ctx.key}, params=info)
    return {"model": model_id} if model_id else {}


def serving_settings(params: TrainParams, model_config: dict[str, Any] | None = None) -> dict[str, Any]:
    """The logged model's inference settings: the task's (detection: how validation judged it, when the
    stage validates; recognition: the task's defaults). ``model_config``: the trained model's, when
    ``params.model`` is null (inherited)."""
    from stages.train.task_parts import train_task

    return train_task(model_config or params.model or {"arch": "dbnet"}).serving_settings(params)


def make_loop(params: TrainParams, inputs: dict[str, Path], init: Path | None, tracking: Any,
              stage_name: str = "", parts: dict[str, Path] | None = None) -> Any:
    """The ``LoopConfig`` every training worker gets: params, model, dataset paths, MLflow handle
    (and the stage name its progress lines carry; ``parts``: ``resolve_parts``' checkpoint files)."""
    from stages.train.loop import LoopConfig

    return LoopConfig(
        params=params.model_dump(mode="json"),
        model_config=model_config(params, init),
        datasets=[str(_input(inputs, d.input, "data.datasets")) for d in params.data.datasets],
        validation=str(_input(inputs, params.validation.input, "validation.input")) if params.validation else None,
        init_checkpoint=str(init) if init else None,
        init_parts={part: str(path) for part, path in (parts or {}).items()},
        tracking=tracking,
        dataset_names=[d.input for d in params.data.datasets],
        stage_name=stage_name,
    )


def make_trainer(params: TrainParams, loop: Any, name: str, storage: Path | str, callbacks: Sequence[Any] = ()) -> Any:
    """The TorchTrainer of a training run (also a sweep trial's, with Tune's callbacks)."""
    from ray.train import CheckpointConfig, FailureConfig, RunConfig, ScalingConfig
    from ray.train.torch import TorchTrainer

    from stages.train.loop import train_loop

    return TorchTrainer(
        train_loop,
        train_loop_config={"loop": loop},
        scaling_config=ScalingConfig(num_workers=params.workers.count, use_gpu=params.workers.use_gpu,
                                     resources_per_worker=worker_resources(params)),
        run_config=RunConfig(name=name, storage_path=str(storage),
                             failure_config=FailureConfig(max_failures=params.workers.max_failures),
                             checkpoint_config=CheckpointConfig(num_to_keep=params.checkpoint.keep),
                             callbacks=list(callbacks)),
    )


def resolve_init(init: str | None, inputs: dict[str, Path], tracking_uri: str | None = None) -> Path | None:
    """The init checkpoint file: an input's folder (or file), else ``init`` read as a checkpoint URI
    (``runs:/`` and ``models:/`` URIs are looked up at ``tracking_uri`` when given)."""
    if init is None:
        return None
    from models.checkpoint import MLFLOW_SCHEMES, resolve_uri

    if tracking_uri and init.split(":", 1)[0] in MLFLOW_SCHEMES:
        import mlflow

        mlflow.set_tracking_uri(tracking_uri)

    if init in inputs:
        return resolve_uri(inputs[init])
    if "/" not in init and ":" not in init and not init.endswith(".pt"):
        raise KeyError(f"train: init {init!r} is neither one of the stage's inputs {sorted(inputs)} "
                       "nor a checkpoint path/URI")
    return resolve_uri(init)


def resolve_parts(params: TrainParams, inputs: dict[str, Path], tracking_uri: str | None = None) -> dict[str, Path]:
    """The checkpoint file of each part ``init_parts`` names (resolved as ``init`` is); {} without it."""
    named = params.init_parts.named() if params.init_parts is not None else {}
    return {part: resolve_init(ref, inputs, tracking_uri) for part, ref in named.items()}


def model_config(params: TrainParams, init: Path | None) -> dict[str, Any]:
    """The detector config: ``params.model``, else the init checkpoint's, else the tiny DBNet."""
    from models.build import tiny_config, validate_config
    from models.checkpoint import load_checkpoint

    if params.model is not None:
        return params.model
    if init is not None:
        return load_checkpoint(init)["model_config"]
    return validate_config(tiny_config("dbnet")).model_dump()


def storage_path(configured: str | None) -> Path:
    """Ray Train storage as an absolute path (a relative one resolves against the project home)."""
    from pipeline.paths import project_home

    if configured is None:
        return project_home() / "ray_results"
    path = Path(configured).expanduser()
    return path if path.is_absolute() else project_home() / path


def run_name(stage_name: str, key: str) -> str:
    """The Ray Train run name: one per stage key, so a re-run of the same stage resumes its run."""
    return f"{stage_name}-{key}"


def start_fresh(run_dir: Path, attempt: str, logger: Any) -> None:
    """Drop an earlier Ray Train run of this key so that a forced attempt trains from its inputs.

    ``.attempt`` in the run folder records which attempt owns it: a retry of the same attempt
    (a crashed worker task) finds its own id there and resumes instead of starting again.
    """
    marker = run_dir / ".attempt"
    if attempt and marker.exists() and marker.read_text() == attempt:
        return
    if run_dir.exists():
        logger.info("forced: removing the earlier Ray Train run %s", run_dir)
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True)
    marker.write_text(attempt)


def total_workers_need(params: TrainParams) -> dict[str, float]:
    """What the stage's TorchTrainer holds while it trains: every worker's reservation."""
    return {name: amount * params.workers.count for name, amount in worker_resources(params).items()}


def worker_resources(params: TrainParams) -> dict[str, float]:
    """Per-worker reservation: CPUs always, GPUs when ``workers.use_gpu``."""
    workers = params.workers
    resources = {"CPU": float(workers.cpus_each)}
    if workers.use_gpu:
        resources["GPU"] = float(workers.gpus_each if workers.gpus_each is not None else 1)
    return resources


def _input(inputs: dict[str, Path], name: str, key: str) -> Path:
    if name not in inputs:
        raise KeyError(f"train: {key} names input {name!r}, but the stage's inputs are {sorted(inputs)}")
    return Path(inputs[name])


def output_names(params: TrainParams) -> list[str]:
    """The stage has one output, the trained model."""
    return ["model"]


STAGE = StageDef(name="train", fn=run, params=TrainParams, version="1", outputs=output_names,
                 description="train a text detector or recognizer with Ray Train (pretrain / mixtrain / finetune)",
                 ray_work=total_workers_need, headline=("val/hmean", "val/accuracy"))
