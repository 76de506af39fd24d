"""The task interface: what the rest of the project needs to know about a family of models.

A *task* (detection, recognition, spotting) bundles its architectures, the metrics it is
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
    output_stride: input pixels per output-map pixel (1: maps at the input resolution, as DBNet's; CRAFT's
        are at half of it: 2). The predictor crops each map to ceil(h / stride) x ceil(w / stride) of an
        image resized to (h, w) and passes ``decode`` a ``scale`` of map pixels per original pixel.
    init_parts(module, config, {part: checkpoint}) -> [what was loaded]: for a model made of parts (the
        ``glass`` spotter's detector and recognizer), loads trained models' checkpoints into them; None:
        the architecture has no parts (train's ``init_parts`` is then an error).
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
    output_stride: int = 1
    init_parts: Callable[[Any, Any, dict[str, Any]], list[str]] | None = None


@dataclass(frozen=True)
class Serving:
    """How a task's predictor answers a request of its MLflow model (``models.pyfunc``).

    defaults: the inference settings (plain JSON values) a saved model uses unless the saver overrides
        them, e.g. detection's input size and decode thresholds; they are recorded with the model.
    predict(predictor, images, settings) -> one dict per image: ``images`` are (H, W, 3) uint8 RGB arrays,
        each result holds plain lists and numbers only (it goes to JSON unchanged).
    output_example: one image's result, for the model's signature (detection: polygons and scores; a
        recognizer would give strings and scores).
    """

    defaults: dict[str, Any]
    predict: Callable[[Any, list[Any], dict[str, Any]], list[dict[str, Any]]]
    output_example: dict[str, Any]

    def settings(self, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
        """The defaults with ``overrides`` applied; an unknown setting raises and lists the valid ones."""
        unknown = sorted(set(overrides or {}) - set(self.defaults))
        if unknown:
            raise KeyError(f"unknown inference setting(s) {unknown}; valid: {', '.join(sorted(self.defaults))}")
        return {**self.defaults, **(overrides or {})}


@dataclass(frozen=True)
class Task:
    """A model family: its architectures by name, its metrics by name (the first is the default),
    ``predictor(module, config, device, **identity)``: wraps a built model (eval mode, on ``device``) in
    the task's predictor (``identity``: uri, sha256, step say which checkpoint it is), and ``serving``:
    how that predictor answers requests of an MLflow model (None: the task cannot be saved as one)."""

    name: str
    architectures: dict[str, Architecture]
    metrics: dict[str, Callable[..., Any]]
    predictor: Callable[..., Any]
    serving: Serving | None = None

    @property
    def default_metric(self) -> str:
        """The metric a task's results are judged by when none is named."""
        return next(iter(self.metrics))

    def metric(self, name: str) -> Callable[..., Any]:
        """The metric function called ``name``; an unknown name lists the valid ones."""
        if name not in self.metrics:
            raise KeyError(f"unknown {self.name} metric {name!r}; valid: {', '.join(self.metrics)}")
        return self.metrics[name]


def typed_config(architectures: dict[str, Architecture], config: Any) -> tuple[Architecture, BaseModel]:
    """(architecture, typed config) of a model config (a dict or already typed) among ``architectures``."""
    arch = architectures[config["arch"] if isinstance(config, dict) else config.arch]
    return arch, config if isinstance(config, arch.config) else arch.config.model_validate(config)
