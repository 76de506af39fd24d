"""The contract between the engine and a stage.

A stage is a plain function::

    def run(params: Params, inputs: dict[str, Path], out_dir: Path, ctx: StageContext) -> StageResult

- ``params`` is the stage's own validated config section (a pydantic model with ``extra="forbid"``);
- ``inputs`` maps each input name declared in the config to the local folder of that upstream output;
- ``out_dir`` is an empty local folder; everything the stage produces goes under it;
- ``ctx`` gives logging, progress and (optional) parallel map; it is the only thing a stage
  sees of the engine, so a stage can be called directly from a test with ``LocalContext``.

The stage returns a ``StageResult`` naming its outputs (sub-paths of ``out_dir``), counts and metrics.
It knows nothing of Ray or MLflow.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar, Iterable, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict

from pipeline.run_params import readable_params

T = TypeVar("T")
R = TypeVar("R")


class StageParams(BaseModel):
    """Base class of every stage's params: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")

    # Dotted keys that set a run up without changing its result (test hooks, storage paths): left out
    # of the MLflow params (they stay in the run's stage_config.yaml).
    SETUP_KEYS: ClassVar[tuple[str, ...]] = ()

    def tracking_params(self, inputs: dict[str, str]) -> dict[str, str]:
        """The params shown on the stage's MLflow run: short scalars by dotted key (see
        ``pipeline.run_params``). ``inputs`` maps the stage's input names to ``stage.output``, for
        params that name an input."""
        return readable_params(self.model_dump(mode="json"), self.SETUP_KEYS)


def stage_tracking_uri(ctx: StageContext) -> str | None:
    """The pipeline's MLflow store as seen from a stage (for resolving runs:/ and models:/ URIs); None
    outside the engine."""
    return getattr(getattr(ctx.tracking_handle(), "client", None), "tracking_uri", None)


def path_inside_input(value: str) -> str:
    """Validate a param naming a path inside a stage's input folder: relative, and no ``..`` out of it."""
    if Path(value).is_absolute() or ".." in Path(value).parts:
        raise ValueError(f"{value!r} must be a path inside the input folder (relative to the input folder, "
                         "without '..')")
    return value


@dataclass
class StageResult:
    """What a stage returns; the engine turns it into the manifest and MLflow records.

    outputs: output name -> path relative to out_dir (a file or a folder); downstream stages
        consume them as ``<stage>.<output>``.
    counts: integer tallies (images written, instances skipped per reason, ...).
    metrics: final scalar metrics, logged on the stage's MLflow run.
    artifacts: small files (relative to out_dir) to attach to the stage's MLflow run.
    datasets: output names that are datasets, logged as MLflow dataset lineage (default: all outputs).
    """

    outputs: dict[str, str]
    counts: dict[str, int] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    artifacts: list[str] = field(default_factory=list)
    datasets: list[str] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class StageContext(Protocol):
    """What the engine offers a running stage."""

    stage_name: str
    key: str
    num_cpus: float
    num_gpus: float
    logger: logging.Logger
    # True when the user forced this run (``--force``): state an earlier attempt left outside the
    # output folder (e.g. a Ray Train run's checkpoints) must not be resumed.
    forced: bool
    attempt: str  # id of this attempt; Ray's retries of one attempt share it

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None: ...

    def log_artifact(self, path: Path, artifact_path: str | None = None) -> None: ...

    def log_params(self, params: dict[str, Any]) -> None:
        """More params for the stage's run, known only once it runs (e.g. an architecture read from its init)."""
        ...

    def log_table(self, columns: dict[str, list[Any]], artifact_file: str) -> None:
        """A table (column name -> values) shown by MLflow's artifact view, e.g. a threshold sweep."""
        ...

    def log_image(self, key: str, image: Any, step: int = 0) -> None:
        """An HxWx3 uint8 RGB array under ``key`` at ``step``, comparable across runs in MLflow's UI."""
        ...

    def log_model(self, name: str, folder: Path, tags: dict[str, Any] | None = None,
                  params: dict[str, Any] | None = None) -> str | None:
        """Log the saved MLflow model in ``folder`` as a logged model of this stage's run; its id
        (``models:/<id>``), or None when tracking is off."""
        ...

    def map(self, fn: Callable[[T], R], items: Iterable[T], num_cpus: float = 1) -> list[R]:
        """Apply ``fn`` to every item, in parallel where the engine can (Ray tasks), results in order."""
        ...

    def progress(self, done: int, total: int | None, unit: str) -> None:
        """Report progress of a long stage (shown as a live line on the user's console)."""
        ...

    def tracking_handle(self) -> Any:
        """A picklable object with ``log_metrics(metrics, step)`` for code running in other processes
        (e.g. Ray Train workers); None when tracking is off."""
        ...


@dataclass
class StageDef:
    """A registered stage type.

    version: bump when the stage's output for the same params changes; it is part of the cache key.
    outputs: the output names the stage produces for given params (used to validate the DAG before
        running); None when they cannot be known in advance.
    ray_work: the resources of the Ray work the stage launches itself (TorchTrainer workers, the
        shards of a map), e.g. ``{"CPU": 4, "GPU": 2}``; the engine starts the stage only when its
        task's request plus this fits the cluster (see ``pipeline.resources``). None: no such work.
    keys_tracking_store: the stage writes into the MLflow store (e.g. registers a model), so the store
        (its URI without credentials) is part of its key: pointing the pipeline at another store re-runs it.
    still_valid: ``(manifest, tracking_uri) -> bool``, asked before a complete output counts as a cache
        hit; False re-runs the stage (e.g. the registry it wrote to no longer holds what it registered).
    headline: glob patterns of the metric keys (``StageResult.metrics``) that sum the stage up; they
        are copied to the pipeline's parent run as ``<stage>/<key>`` and listed in its description.
    describe_dataset: ``path -> {"profile": {...}, "schema": {...}}`` of one dataset output, recorded
        in the manifest and on the MLflow dataset entries of every run that reads or writes it.
    """

    name: str
    fn: Callable[..., StageResult]
    params: type[StageParams]
    version: str
    outputs: Callable[[Any], list[str]] | None = None
    description: str = ""
    ray_work: Callable[[Any], dict[str, float]] | None = None
    keys_tracking_store: bool = False
    still_valid: Callable[[dict[str, Any], str | None], bool] | None = None
    headline: tuple[str, ...] = ()
    describe_dataset: Callable[[Path], dict[str, Any]] | None = None


class LocalContext:
    """A StageContext for running a stage in-process: tests, notebooks, debugging.

    Metrics and artifacts are kept in lists so a test can inspect them.
    """

    def __init__(self, stage_name: str = "local", key: str = "local", num_cpus: float = 1, num_gpus: float = 0,
                 forced: bool = False):
        self.stage_name = stage_name
        self.key = key
        self.num_cpus = num_cpus
        self.num_gpus = num_gpus
        self.forced = forced
        self.attempt = "local"
        self.logger = logging.getLogger(f"stage.{stage_name}")
        self.metrics: list[tuple[dict[str, float], int | None]] = []
        self.artifacts: list[tuple[Path, str | None]] = []
        self.params: dict[str, Any] = {}
        self.tables: dict[str, dict[str, list[Any]]] = {}
        self.images: list[tuple[str, Any, int]] = []
        self.models: list[tuple[str, Path]] = []
        self.progress_reports: list[tuple[int, int | None, str]] = []

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        self.metrics.append((dict(metrics), step))

    def log_artifact(self, path: Path, artifact_path: str | None = None) -> None:
        self.artifacts.append((Path(path), artifact_path))

    def log_params(self, params: dict[str, Any]) -> None:
        self.params.update(params)

    def log_table(self, columns: dict[str, list[Any]], artifact_file: str) -> None:
        self.tables[artifact_file] = columns

    def log_image(self, key: str, image: Any, step: int = 0) -> None:
        self.images.append((key, image, step))

    def log_model(self, name: str, folder: Path, tags: dict[str, Any] | None = None,
                  params: dict[str, Any] | None = None) -> str | None:
        self.models.append((name, Path(folder)))
        return None

    def map(self, fn: Callable[[T], R], items: Iterable[T], num_cpus: float = 1) -> list[R]:
        return [fn(item) for item in items]

    def progress(self, done: int, total: int | None, unit: str) -> None:
        self.progress_reports.append((done, total, unit))

    def tracking_handle(self) -> Any:
        return None
