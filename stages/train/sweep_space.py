"""The search space of a sweep: the space file's model, its Tune domains, and applying values to a stage's params.

A space file names params of the swept train stage by dotted path into its sections (``optim.lr``; list
items by index: ``data.augment.0.factor``), each with exactly one of::

    loguniform: [low, high]        # low > 0
    uniform: [low, high]
    int: [low, high]               # both ends included
    choice: [a, b, c]              # scalars are proposed as they are
    choice: {label: value, ...}    # labels stand for lists / mappings (Optuna proposes only scalars)

``fixed:`` sets keys for every trial. Every key must exist in the stage's resolved params, and every
bound and choice is validated against them before anything runs, so a typo fails at once.
"""
from __future__ import annotations

import copy
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

KINDS = ("loguniform", "uniform", "int", "choice")


class SweepSpec(BaseModel):
    """A space file."""

    model_config = ConfigDict(extra="forbid")

    metric: str = "val_hmean"
    mode: Literal["max", "min"] = "max"
    num_samples: int = Field(4, ge=1)
    max_concurrent: int | None = Field(None, ge=1)
    grace_period: int | None = Field(None, ge=1, description="steps; default: the stage's validation.every")
    reduction_factor: float = Field(2.0, gt=1)
    seed: int | None = 0
    fixed: dict[str, Any] = Field(default_factory=dict)
    space: dict[str, dict[str, Any]] = Field(min_length=1)
    register_as: str | None = Field(None, description="registered model name for the best trial's model")
    benchmark_metric: str | None = Field(None, description="metric that decides the champion alias, e.g. val_hmean")

    @field_validator("space")
    @classmethod
    def _check_space(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        for key, dist in value.items():
            _check_distribution(key, dist)
        return value


def _check_distribution(key: str, dist: dict[str, Any]) -> None:
    if len(dist) != 1 or next(iter(dist)) not in KINDS:
        raise ValueError(f"space.{key}: give exactly one of {', '.join(KINDS)}, got {sorted(dist)}")
    kind, arg = next(iter(dist.items()))
    if kind == "choice":
        if not isinstance(arg, (list, dict)) or not arg:
            raise ValueError(f"space.{key}.choice: a non-empty list or {{label: value}} mapping")
        return
    if not (isinstance(arg, list) and len(arg) == 2 and all(isinstance(v, (int, float)) for v in arg)
            and arg[0] < arg[1]):
        raise ValueError(f"space.{key}.{kind}: expected [low, high] with low < high, got {arg!r}")
    if kind == "loguniform" and arg[0] <= 0:
        raise ValueError(f"space.{key}.loguniform: low must be > 0, got {arg[0]}")
    if kind == "int" and not all(isinstance(v, int) for v in arg):
        raise ValueError(f"space.{key}.int: bounds must be integers, got {arg!r}")


def choice_values(dist: dict[str, Any]) -> dict[str, Any] | None:
    """label -> value for a choice whose values Optuna cannot take as they are (lists, mappings), else None."""
    arg = dist.get("choice")
    if isinstance(arg, dict):
        return {str(k): v for k, v in arg.items()}
    if isinstance(arg, list) and any(isinstance(v, (list, dict)) for v in arg):
        return {str(i): v for i, v in enumerate(arg)}
    return None


def tune_space(spec: SweepSpec) -> dict[str, Any]:
    """The Tune search space: one domain per dotted key."""
    from ray import tune

    out = {}
    for key, dist in spec.space.items():
        kind, arg = next(iter(dist.items()))
        if kind == "choice":
            labels = choice_values(dist)
            out[key] = tune.choice(list(labels) if labels is not None else arg)
        elif kind == "loguniform":
            out[key] = tune.loguniform(*arg)
        elif kind == "uniform":
            out[key] = tune.uniform(*arg)
        else:
            out[key] = tune.randint(arg[0], arg[1] + 1)  # randint excludes its upper end
    return out


def decode(spec: SweepSpec, sampled: dict[str, Any]) -> dict[str, Any]:
    """Sampled Tune values -> config values (choice labels replaced by what they stand for)."""
    out = {}
    for key in spec.space:
        labels = choice_values(spec.space[key])
        out[key] = labels[str(sampled[key])] if labels is not None else sampled[key]
    return out


def set_key(params: dict[str, Any], dotted: str, value: Any, where: str) -> None:
    """Set ``a.b.0.c`` in resolved params (every key must exist: a typo fails before anything runs)."""
    node: Any = params
    parts = dotted.split(".")
    for depth, part in enumerate(parts):
        here = ".".join(parts[: depth + 1])
        last = depth == len(parts) - 1
        if isinstance(node, dict):
            if part not in node:
                raise ValueError(f"{where}.{here}: no such key; keys here: {', '.join(sorted(node))}")
            if last:
                node[part] = copy.deepcopy(value)
            node = node[part]
        elif isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise ValueError(f"{where}.{here}: {part!r} is not an index of a list of {len(node)}")
            if last:
                node[int(part)] = copy.deepcopy(value)
            node = node[int(part)]
        else:
            raise ValueError(f"{where}.{here}: {'.'.join(parts[:depth]) or 'it'} is {node!r}, not a mapping or list")


def trial_params(base: dict[str, Any], spec: SweepSpec, values: dict[str, Any], where: str) -> Any:
    """TrainParams of one trial: the stage's resolved params, ``fixed``, then the trial's values."""
    from pipeline.config import format_errors
    from stages.train.params import MOVED_KEYS, TrainParams

    data = copy.deepcopy(base)
    for key, value in {**spec.fixed, **values}.items():
        if key in MOVED_KEYS:  # a space file written for the flat params
            raise ValueError(f"{where}.{key}: no such key; it moved to {MOVED_KEYS[key]}")
        set_key(data, key, value, where)
    # Ray Train reports (all ASHA sees) come with the checkpoints: make them fall on the validations,
    # so every report carries the validation metrics.
    every = (data.get("validation") or {}).get("every")
    if every:
        data["checkpoint"]["every"] = every
    elif spec.metric.startswith("val_"):
        data["checkpoint"]["every"] = data["schedule"]["steps"]
    try:
        return TrainParams.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(format_errors(exc, prefix=""))
        raise ValueError(f"{where}: {problems} (values {values})") from None


def check_space(base: dict[str, Any], spec: SweepSpec, where: str) -> None:
    """Try every bound and choice of every key on the stage's params; raises naming the key."""
    if spec.metric.startswith("val_") and not trial_params(base, spec, {}, where).validation:
        raise ValueError(f"{where}.validation: the sweep metric {spec.metric!r} needs a validation input")
    for key, dist in spec.space.items():
        kind, arg = next(iter(dist.items()))
        labels = choice_values(dist)
        for value in (list(labels.values()) if labels is not None else arg):
            trial_params(base, spec, {key: value}, where)
