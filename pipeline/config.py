"""Pipeline configuration: YAML files validated into typed objects before anything runs.

A config file holds the engine settings and a ``stages:`` mapping. Each stage entry has the engine
keys (``type``, ``inputs``, ``resources``, ``retries``) and, beside them at the same level, the stage's
own params, validated by that stage type's pydantic model. ``enabled: false`` leaves a stage (and every
stage needing it) out of the run: see ``pipeline.switches``. So an error reads
``stages.finetune.optim.lr: Input should be a valid number`` and ``--set stages.finetune.optim.lr=0.01`` works.

``extends: base.yaml`` (relative to the file) deep-merges the base under the file: mappings merge
key by key, anything else (lists included) is replaced.
"""
from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any, Mapping

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pipeline.stage import StageDef, StageParams
from pipeline.switches import drop_disabled

ENGINE_KEYS = ("type", "inputs", "resources", "retries")


class ConfigError(ValueError):
    """Invalid configuration; ``problems`` are "key.path: message" strings."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        super().__init__(f"invalid config {source}:\n  " + "\n  ".join(problems))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Resources(_Strict):
    """What one stage's Ray task asks the scheduler for."""

    num_cpus: float = Field(1, ge=0)
    num_gpus: float = Field(0, ge=0)
    memory: int | None = Field(None, ge=0, description="bytes; None = no reservation")


class StageSpec(_Strict):
    """One node of the DAG: a stage type, its inputs and resources, and its validated params.

    inputs maps the stage's input names to upstream outputs, written ``stage`` (its only output)
    or ``stage.output``.
    """

    type: str
    inputs: dict[str, str] = Field(default_factory=dict)
    resources: Resources = Field(default_factory=Resources)
    retries: int = Field(0, ge=0, le=20)
    params: Any = None  # the stage type's StageParams instance, filled by load

    @field_validator("inputs")
    @classmethod
    def _check_refs(cls, value: dict[str, str]) -> dict[str, str]:
        for name, ref in value.items():
            if not ref or ref.count(".") > 1 or ref.startswith(".") or ref.endswith("."):
                raise ValueError(f"input {name!r}: {ref!r} is not 'stage' or 'stage.output'")
        return value


class RayConfig(_Strict):
    """How to reach Ray. address None: join the cluster named by RAY_ADDRESS, else start a local one."""

    address: str | None = None
    num_cpus: int | None = Field(None, ge=1, description="local Ray only")
    num_gpus: int | None = Field(None, ge=0, description="local Ray only")


class PipelineConfig(_Strict):
    """A whole recipe. Relative paths resolve against the project home (see pipeline.paths)."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    artifact_root: str = "artifacts"
    tracking_uri: str | None = None
    experiment: str | None = None
    ray: RayConfig = Field(default_factory=RayConfig)
    stages: dict[str, StageSpec]
    disabled: dict[str, str] = Field(default_factory=dict,
                                     description="stages left out of the run (pipeline.switches) and why")

    @field_validator("stages")
    @classmethod
    def _check_names(cls, value: dict[str, StageSpec]) -> dict[str, StageSpec]:
        for name in value:
            if not name.replace("_", "").replace("-", "").isalnum():
                raise ValueError(f"stage name {name!r}: use letters, digits, '_' and '-' only")
        if not value:
            raise ValueError("a pipeline needs at least one stage")
        return value

    def digest(self) -> str:
        """sha256 of the canonical resolved config (what the parent run is tagged with)."""
        return hashlib.sha256(canonical_json(self.to_dict()).encode()).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        """The resolved config as plain data, stage params flattened back beside the engine keys."""
        data = self.model_dump(exclude={"stages"})
        data["stages"] = {}
        for name, spec in self.stages.items():
            entry = spec.model_dump(exclude={"params"})
            entry.update(spec.params.model_dump(mode="json") if spec.params is not None else {})
            data["stages"][name] = entry
        return data


def canonical_json(data: Any) -> str:
    """Deterministic JSON: sorted keys, no whitespace; what keys and digests hash."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)


def load_config(path: str | Path, stages: Mapping[str, StageDef], overrides: list[str] = ()) -> PipelineConfig:
    """Read, merge (``extends``), override (``a.b=c``) and validate a config file; ``stages`` is the stage
    registry whose params models validate each stage's section."""
    path = Path(path)
    raw = _read_with_base(path, seen=())
    for override in overrides:
        _apply_override(raw, override, str(path))
    return validate_config(raw, str(path), stages)


def validate_config(raw: dict[str, Any], source: str, stages: Mapping[str, StageDef]) -> PipelineConfig:
    """Validate plain data into a PipelineConfig; every problem found is reported with its key path."""
    if not isinstance(raw, dict):
        raise ConfigError(source, ["<top>: the config must be a mapping"])
    raw = copy.deepcopy(raw)
    stages_raw = raw.get("stages")
    problems: list[str] = []
    params_by_stage: dict[str, StageParams] = {}
    if isinstance(stages_raw, dict):
        try:
            raw["disabled"] = drop_disabled(stages_raw)
        except ValueError as exc:
            raise ConfigError(source, [str(exc)]) from None
        for name, entry in stages_raw.items():
            if not isinstance(entry, dict):
                problems.append(f"stages.{name}: expected a mapping, got {type(entry).__name__}")
                continue
            params, errs = _validate_params(name, entry, stages)
            problems += errs
            if params is not None:
                params_by_stage[name] = params
            stages_raw[name] = {k: v for k, v in entry.items() if k in ENGINE_KEYS}
    try:
        config = PipelineConfig.model_validate(raw)
    except ValidationError as exc:
        problems = format_errors(exc, prefix="") + problems
        raise ConfigError(source, problems) from None
    if problems:
        raise ConfigError(source, problems)
    for name, spec in config.stages.items():
        spec.params = params_by_stage[name]
    return config


def _validate_params(name: str, entry: dict, stages: Mapping[str, StageDef]) -> tuple[StageParams | None, list[str]]:
    stage_type = entry.get("type")
    if stage_type is None:
        return None, []  # PipelineConfig reports the missing type
    if stage_type not in stages:
        valid = ", ".join(sorted(stages))
        return None, [f"stages.{name}.type: unknown stage type {stage_type!r}; valid types: {valid}"]
    params = {k: v for k, v in entry.items() if k not in ENGINE_KEYS}
    try:
        return stages[stage_type].params.model_validate(params), []
    except ValidationError as exc:
        return None, format_errors(exc, prefix=f"stages.{name}.")


def format_errors(exc: ValidationError, prefix: str) -> list[str]:
    """One ``<prefix><dotted key>: <message> (got <value>)`` line per validation error."""
    out = []
    for err in exc.errors():
        loc = ".".join(str(part) for part in err["loc"])
        msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        shows_input = err["type"] != "missing" and not isinstance(err.get("input"), dict)
        out.append(f"{prefix}{loc}: {msg}" + (f" (got {err['input']!r})" if shows_input else ""))
    return out


def _read_with_base(path: Path, seen: tuple[Path, ...]) -> dict[str, Any]:
    resolved = path.resolve()
    if resolved in seen:
        chain = " -> ".join(str(p) for p in (*seen, resolved))
        raise ConfigError(str(path), [f"extends: cycle {chain}"])
    if not path.is_file():
        raise ConfigError(str(path), ["<file>: no such config file"])
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(str(path), [f"<yaml>: {exc}"]) from None
    if not isinstance(data, dict):
        raise ConfigError(str(path), ["<top>: the config must be a mapping"])
    base_name = data.pop("extends", None)
    if base_name is None:
        return data
    base = _read_with_base(path.parent / base_name, (*seen, resolved))
    return deep_merge(base, data)


def deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """Mappings merge recursively; any other value in ``top`` replaces the base's."""
    out = copy.deepcopy(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _apply_override(raw: dict[str, Any], override: str, source: str) -> None:
    """Apply ``a.b.c=value``; the value is parsed as YAML (``3`` int, ``[1,2]`` list, ``null``)."""
    if "=" not in override:
        raise ConfigError(source, [f"--set {override!r}: expected key.path=value"])
    dotted, text = override.split("=", 1)
    parts = dotted.strip().split(".")
    if not all(parts):
        raise ConfigError(source, [f"--set {override!r}: empty key in {dotted!r}"])
    node = raw
    for depth, part in enumerate(parts[:-1]):
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            where = ".".join(parts[: depth + 1])
            raise ConfigError(source, [f"--set {override!r}: {where} is not a mapping"])
        node = child
    try:
        node[parts[-1]] = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(source, [f"--set {override!r}: bad value: {exc}"]) from None
