"""The task interface: what the rest of the project needs to know about a family of models.

A *task* (detection today; recognition and spotting next) bundles its architectures, the metrics it is
judged by and its predictor. An *architecture* brings its typed config, model builder, loss, training
targets and the decoding of its outputs. Train, evaluate, pseudo_label, infer and the model registry
reach models only through these two objects (looked up in ``models.tasks``), so adding an architecture
touches its own files and one registration line, nothing inside the stages.

Nothing here imports torch: builders import it when they run.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from pydantic import BaseModel


@dataclass(frozen=True)
class Architecture:
    """One registered model architecture of a task.

    config: the pydantic model of its config (has ``arch``; stored in every checkpoint).
    build(config, init_weights) -> nn.Module; loss(config) -> nn.Module taking (outputs, targets).
    targets(config) -> a function making one image's training targets from its instances:
        ``(height, width, polygons, ignore, weights) -> {name: float32 array}``, with ``target_keys`` names.
    decode(outputs, config, options, out_shape, scale) -> [(polygon (N, 2) float, score)], best first:
        one image's outputs (numpy, ``output_keys`` only, cropped to the image's resized region) back
        in original-image pixels; ``options`` are the decode settings of the caller (thresholds, ...).
    tiny: the config of the CPU-sized variant (tests, quickstart).
    """

    name: str
    task: str
    config: type[BaseModel]
    build: Callable[[Any, bool], Any]
    loss: Callable[[Any], Any]
    targets: Callable[[Any], Callable[..., dict[str, Any]]]
    target_keys: tuple[str, ...]
    decode: Callable[..., list[tuple[Any, float]]]
    output_keys: tuple[str, ...]
    tiny: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Task:
    """A model family: its architectures by name, its metrics by name (the first is the default), and
    ``predictor(module, config, device, **identity)``: wraps a built model (eval mode, on ``device``) in
    the task's predictor; ``identity`` (uri, sha256, step) says which checkpoint it is."""

    name: str
    architectures: dict[str, Architecture]
    metrics: dict[str, Callable[..., Any]]
    predictor: Callable[..., Any]

    @property
    def default_metric(self) -> str:
        """The metric a task's results are judged by when none is named."""
        return next(iter(self.metrics))

    def metric(self, name: str) -> Callable[..., Any]:
        """The metric function called ``name``; an unknown name lists the valid ones."""
        if name not in self.metrics:
            raise KeyError(f"unknown {self.name} metric {name!r}; valid: {', '.join(self.metrics)}")
        return self.metrics[name]
