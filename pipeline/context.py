"""The StageContext a stage gets when the engine runs it inside a Ray task."""
from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any, Callable, Iterable, TypeVar

from pipeline.progress import MARK, emit_progress
from pipeline.tracking import RunLogger

T = TypeVar("T")
R = TypeVar("R")


class RayStageContext:
    """Logging goes to the stage's MLflow run; ``map`` fans work out as Ray tasks.

    A stage blocked in ``map`` waiting for its shards gives its CPU back to Ray while it waits,
    so shards can use every core, the stage's own included.
    """

    def __init__(self, stage_name: str, key: str, num_cpus: float, num_gpus: float, run: RunLogger | None,
                 forced: bool = False, attempt: str = ""):
        self.stage_name = stage_name
        self.key = key
        self.num_cpus = num_cpus
        self.num_gpus = num_gpus
        self.forced = forced
        self.attempt = attempt
        self.run = run
        self.logger = stage_logger(stage_name)

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        if self.run is not None:
            self.run.log_metrics(metrics, step)

    def log_artifact(self, path: Path, artifact_path: str | None = None) -> None:
        if self.run is not None:
            self.run.log_artifact(Path(path), artifact_path)

    def log_params(self, params: dict[str, Any]) -> None:
        if self.run is not None:
            self.run.log_params(params)

    def log_table(self, columns: dict[str, list[Any]], artifact_file: str) -> None:
        if self.run is not None:
            self.run.log_table(columns, artifact_file)

    def log_image(self, key: str, image: Any, step: int = 0) -> None:
        if self.run is not None:
            self.run.log_image(key, image, step)

    def log_model(self, name: str, folder: Path, tags: dict[str, Any] | None = None,
                  params: dict[str, Any] | None = None) -> str | None:
        return self.run.log_model(name, folder, tags, params) if self.run is not None else None

    def map(self, fn: Callable[[T], R], items: Iterable[T], num_cpus: float = 1) -> list[R]:
        import ray

        items = list(items)
        if len(items) <= 1 or not ray.is_initialized():
            return [fn(item) for item in items]
        remote = ray.remote(num_cpus=num_cpus, max_retries=1)(fn)
        return ray.get([remote.remote(item) for item in items])

    def tracking_handle(self) -> Any:
        return self.run

    def progress(self, done: int, total: int | None, unit: str) -> None:
        emit_progress(self.stage_name, done, total, unit)


def stage_logger(stage_name: str) -> logging.Logger:
    """A logger that prints '[stage] message' to stderr (Ray forwards worker output to the driver),
    marked as meant for the user's console."""
    logger = logging.getLogger(f"stage.{stage_name}")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(f"{MARK}%(asctime)s [{stage_name}] %(message)s", "%H:%M:%S"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    return logger
