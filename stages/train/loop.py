"""The per-worker training function Ray Train runs (``train_loop_per_worker``).

Each worker builds the model (from the init checkpoint when given), wraps it for DDP, and trains on
its own slice of every mixed batch. Resuming: ``ray.train.get_checkpoint()`` (the last checkpoint of
this run, present after a worker-group restart or when a stage re-run reuses the run name) restores
weights, optimizer, scheduler, step and RNG state; the sampler restarts at that step.
Rank 0 logs step metrics (``train/*``), validation scores (``val/*``) and a few drawn validation
images (``samples/val.<i>``, at the validation's step) to the stage's MLflow run and writes the checkpoints.
"""
from __future__ import annotations

import os
import signal
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from models.checkpoint import CHECKPOINT_FILE, load_checkpoint, restore_rng_state, save_checkpoint
from pipeline.progress import emit_progress
from stages.train.data import make_loader
from stages.train.metric_names import REPORT_VAL, mlflow_metrics
from stages.train.params import OptimParams, TrainParams
from stages.train.sampler import MixedBatchSampler
from stages.train.schedule import build_scheduler
from stages.train.task_parts import NOT_TARGETS, TrainTask, train_task


@dataclass
class LoopConfig:
    """Everything a worker needs, resolved by the stage (paths are the stage task's local paths)."""

    params: dict[str, Any]
    model_config: dict[str, Any]
    datasets: list[str]
    validation: str | None = None
    init_checkpoint: str | None = None
    init_parts: dict[str, str] = field(default_factory=dict)  # part -> checkpoint file (``params.init_parts``)
    tracking: Any = None  # a RunLogger (picklable) or None
    dataset_names: list[str] = field(default_factory=list)
    stage_name: str = ""  # for the progress line on the driver's console; empty: none


@dataclass
class Meter:
    """Running sums between two log lines."""

    sums: dict[str, float] = field(default_factory=dict)
    count: int = 0
    images: int = 0
    started: float = field(default_factory=time.perf_counter)

    def add(self, values: dict[str, float], images: int) -> None:
        for key, value in values.items():
            self.sums[key] = self.sums.get(key, 0.0) + value
        self.count += 1
        self.images += images

    def flush(self) -> dict[str, float]:
        """Mean of each value since the last flush, plus images/s; then reset."""
        elapsed = max(time.perf_counter() - self.started, 1e-9)
        out = {k: v / max(self.count, 1) for k, v in self.sums.items()}
        out["images_per_s"] = self.images / elapsed
        self.sums, self.count, self.images, self.started = {}, 0, 0, time.perf_counter()
        return out


@dataclass
class Run:
    """One worker's training state: the bare model, its (DDP-)wrapped twin and what steps them."""

    model: Any
    wrapped: Any
    loss_fn: Any
    optimizer: Any
    scheduler: Any
    start: int  # first step to run (> 0 when resumed)
    resumes: list[int]  # steps this run was resumed at, oldest first


def train_loop(config: dict[str, Any]) -> None:
    """Ray Train entry point; ``config["loop"]`` is a ``LoopConfig``."""
    import ray.train
    import ray.train.torch
    import torch

    cfg: LoopConfig = config["loop"]
    params = TrainParams.model_validate(cfg.params)
    data, schedule = params.data, params.schedule
    torch.set_num_threads(params.workers.torch_threads or max(1, int(params.workers.cpus_each)))
    context = ray.train.get_context()
    rank, world = context.get_world_rank(), context.get_world_size()
    device = ray.train.torch.get_device()
    torch.manual_seed(params.seed + rank)
    run = setup(cfg, params, device)
    task = train_task(cfg.model_config)  # detection or recognition: dataset, batches, validation
    dataset = task.dataset(cfg.datasets, params, cfg.model_config)
    sampler = MixedBatchSampler(dataset.sizes(), data.ratios(), data.batch_size, schedule.steps, params.seed, rank,
                                world, run.start)
    val_images = _load_validation(cfg, params, task) if rank == 0 else None
    logger = cfg.tracking if rank == 0 else None
    use_bf16 = params.optim.bf16 and device.type == "cuda"  # CPU autocast is slower than float32 for these convs
    meter, metrics, skipped = Meter(), {}, None
    loader = make_loader(dataset, sampler, data.loader_workers, pin_memory=device.type == "cuda",
                         collate=task.collate_for(cfg.model_config))
    for step, batch in zip(range(run.start, schedule.steps), loader):
        _maybe_fault(params, step, rank)
        values = train_step(run.wrapped, run.loss_fn, run.optimizer, run.scheduler, batch, device,
                            params.optim.grad_clip, use_bf16, task.teacher_forcing)
        if "skipped" in values:  # tasks whose data skips untrainable samples (recognition) count them
            skipped = (skipped or 0) + int(values.pop("skipped"))
        meter.add(values, data.batch_size * world)
        done = step + 1
        if rank == 0 and (done % params.log_every == 0 or done == schedule.steps):
            metrics = {**meter.flush(), "lr": run.scheduler.get_last_lr()[0]}
            if skipped is not None:
                metrics["skipped"] = skipped  # this rank's untrainable samples so far in this run
            if logger is not None:
                logger.log_metrics(mlflow_metrics(metrics), step=done)
            if cfg.stage_name:
                emit_progress(cfg.stage_name, done, schedule.steps, "step",
                              loss=metrics.get("loss_total", float("nan")),
                              img_per_s=metrics.get("images_per_s", float("nan")))
        paused = time.perf_counter()
        metrics.update(_maybe_validate(params, done, run.model, cfg.model_config, val_images, device, logger, task))
        if done % params.checkpoint.every == 0 or done == schedule.steps:
            report(done, {**metrics, "step": done}, run, cfg, rank)
        meter.started += time.perf_counter() - paused  # throughput counts training time only


def setup(cfg: LoopConfig, params: TrainParams, device: Any) -> Run:
    """Build the model (init checkpoint weights when given), wrap it for DDP, make the optimizer and
    schedule, and restore everything from this run's last checkpoint when there is one."""
    import ray.train
    import ray.train.torch

    from models.build import build_loss, build_model

    model = build_model(cfg.model_config, init_weights=cfg.init_checkpoint is None)
    if cfg.init_checkpoint:
        model.load_state_dict(load_checkpoint(cfg.init_checkpoint)["state_dict"], strict=True)
    if cfg.init_parts:
        init_parts(model, cfg.model_config, cfg.init_parts)
    model.to(device)
    wrapped = ray.train.torch.prepare_model(model)  # DDP when there are several workers
    optimizer = make_optimizer(params.optim, model)
    schedule = params.schedule
    scheduler = build_scheduler(optimizer, schedule.kind, schedule.steps, schedule.warmup_steps, schedule.poly_power,
                                schedule.min_lr_ratio)
    start, resumes = resume(ray.train.get_checkpoint(), model, optimizer, scheduler)
    return Run(model, wrapped, build_loss(cfg.model_config), optimizer, scheduler, start, resumes)


def init_parts(model: Any, model_config: dict[str, Any], files: dict[str, str]) -> list[str]:
    """Load trained models into the parts of ``model`` (``files``: part -> checkpoint file) through its
    architecture's ``init_parts``; an architecture without parts is an error naming it."""
    from models.build import validate_config
    from models.tasks import architecture_of

    arch = architecture_of(model_config)
    if arch.init_parts is None:
        raise ValueError(f"train: init_parts given, but the {arch.name!r} architecture has no parts to start "
                         "from trained models (use init)")
    return arch.init_parts(model, validate_config(model_config), {p: load_checkpoint(f) for p, f in files.items()})


def make_optimizer(optim: OptimParams, model: Any) -> Any:
    """AdamW or SGD (momentum, Nesterov) over every parameter; no decay on norms and biases. A model with
    ``lr_scales()`` (parameter-name prefix -> multiplier) gets those parameters' learning rate scaled (the
    glass spotter's own heads, new beside parts started from trained models); the first group is always
    the unscaled, decayed one (its lr is the one logged)."""
    import torch

    scales = model.lr_scales() if hasattr(model, "lr_scales") else {}
    grouped: dict[tuple[float, bool], list[Any]] = {(1.0, True): [], (1.0, False): []}
    for name, q in model.named_parameters():
        scale = next((s for prefix, s in scales.items() if name.startswith(prefix)), 1.0)
        grouped.setdefault((scale, q.ndim > 1), []).append(q)
    groups = [{"params": params, "weight_decay": optim.weight_decay if decay else 0.0, "lr": optim.lr * scale}
              for (scale, decay), params in grouped.items() if params or scale == 1.0]
    if optim.kind == "sgd":
        return torch.optim.SGD(groups, lr=optim.lr, momentum=optim.momentum, nesterov=True)
    return torch.optim.AdamW(groups, lr=optim.lr)


def train_step(model: Any, loss_fn: Any, optimizer: Any, scheduler: Any, batch: dict[str, Any], device: Any,
               grad_clip: float | None, bf16: bool, teacher_forcing: bool = False) -> dict[str, float]:
    """One optimisation step; returns the loss components (and the gradient norm when clipping, and the
    untrainable samples the batch replaced as ``skipped``). ``teacher_forcing``: the model also gets the
    targets (recognizers' ``forward(images, targets)``)."""
    import torch

    from models.detection.predictor import normalise

    images = normalise(batch["image"].to(device, non_blocking=True))  # (B, 3, H, W)
    # the architecture's targets: detection maps (B, S, S); recognition labels (B, L), lengths (B,), masks
    targets = {k: v.to(device, non_blocking=True) for k, v in batch.items() if k not in NOT_TARGETS}
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
        preds = model(images, targets) if teacher_forcing else model(images)
    losses = loss_fn(preds, targets)  # computed in float32 (see models.detection.db_loss)
    optimizer.zero_grad(set_to_none=True)
    losses["total"].backward()
    out = {f"loss_{k}": float(v.detach()) for k, v in losses.items()}
    if "skipped" in batch:
        out["skipped"] = float(batch["skipped"].sum())
    if grad_clip is not None:
        out["grad_norm"] = float(torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip))
    optimizer.step()
    scheduler.step()
    return out


def resume(checkpoint: Any, model: Any, optimizer: Any, scheduler: Any) -> tuple[int, list[int]]:
    """Restore from a Ray Train checkpoint if there is one; returns (start step, steps resumed at)."""
    if checkpoint is None:
        return 0, []
    with checkpoint.as_directory() as folder:
        state = load_checkpoint(Path(folder) / CHECKPOINT_FILE)
    model.load_state_dict(state["state_dict"], strict=True)
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    restore_rng_state(state["rng"])
    step = int(state["step"])
    return step, [*state["extra"].get("resumes", []), step]


def report(step: int, metrics: dict[str, float], run: Run, cfg: LoopConfig, rank: int) -> None:
    """``ray.train.report`` on every rank (it is a barrier); rank 0 attaches the checkpoint."""
    import ray.train

    if rank != 0:
        ray.train.report(metrics)
        return
    with tempfile.TemporaryDirectory(prefix="ckpt-") as folder:
        save_checkpoint(Path(folder) / CHECKPOINT_FILE, cfg.model_config, run.model, optimizer=run.optimizer,
                        scheduler=run.scheduler, step=step, extra={"metrics": metrics, "resumes": run.resumes})
        ray.train.report(metrics, checkpoint=ray.train.Checkpoint.from_directory(folder))


def _load_validation(cfg: LoopConfig, params: TrainParams, task: TrainTask) -> Any:
    if cfg.validation is None or params.validation is None:
        return None
    return task.load_validation(Path(cfg.validation), params.validation.max_images)


def _maybe_validate(params: TrainParams, done: int, model: Any, model_config: dict[str, Any], images: Any, device: Any,
                    logger: Any, task: TrainTask) -> dict[str, float]:
    """Validate on rank 0 every ``validation.every`` steps and at the end; logs ``val/*`` and the drawn
    samples, and returns the scores under their report names (``val_*``)."""
    validation = params.validation
    if images is None or validation is None:
        return {}
    if not (done == params.schedule.steps or (validation.every and done % validation.every == 0)):
        return {}
    scores, drawn = task.validate(model, model_config, images, device, params)  # bare model: no DDP collective
    metrics = {f"{REPORT_VAL}{k}": v for k, v in scores.items()}
    if logger is not None:
        logger.log_metrics(mlflow_metrics(metrics), step=done)
        for i, rgb in enumerate(drawn):
            logger.log_image(f"samples/val.{i}", rgb, done)
    return metrics


def _maybe_fault(params: TrainParams, step: int, rank: int) -> None:
    """Test hook: SIGKILL this worker once at ``test_hooks.fault_step`` (the marker file makes it once)."""
    hooks = params.test_hooks
    if hooks is None or step != hooks.fault_step or rank != 0:
        return
    marker = Path(hooks.fault_marker)
    if marker.exists():
        return
    marker.touch()
    import ray.train

    # Die only once the controller has registered the checkpoints reported so far: a worker killed right
    # after ray.train.report can lose that report (the controller collects it asynchronously), and the
    # test should see a resume from the last checkpoint, not from the one before.
    ray.train.get_all_reported_checkpoints(timeout_s=60)
    os.kill(os.getpid(), signal.SIGKILL)
