"""Cache keys: everything that determines a stage's output, hashed.

key = sha256 of the stage's name and type, its ``StageDef.version``, the digest of its code (every
project module its function and params import, transitively: ``pipeline.imports``), its params with
references resolved to content (``pipeline.references``), the key of each input's upstream stage and,
for a stage that writes into the MLflow store, that store's URI (credentials removed).

Stages declare which params are references in their pydantic params, with a plain marker the keying
code reads (the kinds are listed in ``pipeline.references``)::

    init: str | None = Field(None, json_schema_extra={"reference": "checkpoint"})
    model: dict | None = Field(None, json_schema_extra={"reference": "weights", "reference_at": "backbone.init"})

``at`` names where inside a mapping value the reference sits. A list of strings is a list of references.
"""
from __future__ import annotations

import hashlib
import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from pipeline.config import canonical_json
from pipeline.environment import environment_changes, library_versions
from pipeline.imports import PROJECT_PACKAGES, closure_digest
from pipeline.paths import PROJECT_DIR
from pipeline.references import ReferenceResolver, UnresolvedReference
from pipeline.stage import StageDef, StageParams

if TYPE_CHECKING:
    from pipeline.graph import Graph, Node

log = logging.getLogger("pipeline")

REFERENCE = "reference"
REFERENCE_AT = "reference_at"


def code_digest(stage_def: StageDef, root: Path | None = None) -> str:
    """Digest of every project module the stage's function and params import, transitively.

    Computed once per process and project root; ``root`` (default: this checkout) lets a test digest a
    copy of the project.
    """
    modules = tuple(sorted({stage_def.fn.__module__, stage_def.params.__module__}))
    digest = closure_digest(Path(root) if root is not None else PROJECT_DIR, modules)
    outside = [m for m in modules if m.split(".")[0] not in PROJECT_PACKAGES]
    if outside:
        # A stage defined outside the project packages (a notebook, a test): its own file at least.
        sources = b"".join(_module_source(m, stage_def) for m in outside)
        digest = hashlib.sha256(digest.encode() + sources).hexdigest()[:16]
    return digest


def _module_source(name: str, stage_def: StageDef) -> bytes:
    file = getattr(sys.modules.get(name), "__file__", None)
    if file:
        return Path(file).read_bytes()
    return stage_def.fn.__code__.co_code  # no file (an interactive session): the function's bytecode


def compute_keys(graph: Graph, resolver: ReferenceResolver | None = None, code_root: Path | None = None) -> list[str]:
    """Set every node's key, in graph order; returns the problems (unresolvable references, by key path).

    Without a resolver references are keyed as written: enough to validate a graph, not to run it.
    """
    problems: list[str] = []
    for name in graph.order:
        node = graph.nodes[name]
        params = keyed_params(node, resolver, problems)
        node.key = stage_key(node, {p: graph.nodes[p].key for p in graph.parents(name)}, params,
                             code_digest(node.stage_def, code_root), resolver)
    return problems


def stage_key(node: Node, parent_keys: dict[str, str], params: dict[str, Any], code: str,
              resolver: ReferenceResolver | None = None) -> str:
    """sha256 over (stage name, type, version, code, keyed params, input wiring and upstream keys[, store])."""
    payload = {
        "stage": node.name,
        "type": node.spec.type,
        "version": node.stage_def.version,
        "code": code,
        "params": params,
        "inputs": {n: [ref.stage, ref.output, parent_keys[ref.stage]] for n, ref in sorted(node.inputs.items())},
    }
    if node.stage_def.keys_tracking_store:
        payload["tracking_store"] = resolver.tracking_store() if resolver is not None else None
    return hashlib.sha256(canonical_json(payload).encode()).hexdigest()[:32]


@dataclass
class _Resolution:
    """What resolving one stage's references found: problems (by key path) and pins (location in the
    params -> the exact URI the key was computed from)."""

    where: str
    inputs: set[str]
    resolver: ReferenceResolver
    problems: list[str]
    pins: dict[str, str] = field(default_factory=dict)


def keyed_params(node: Node, resolver: ReferenceResolver | None, problems: list[str]) -> dict[str, Any]:
    """The stage's params as plain data, each reference replaced by what it resolves to. A moving
    reference (``models:/name@alias``) is also pinned on the node (``node.pins``): the stage then runs
    on the version its key was computed from, even if the alias moves before it starts."""
    data = node.spec.params.model_dump(mode="json")
    if resolver is not None:
        found = _Resolution(f"stages.{node.name}", set(node.inputs), resolver, problems)
        _resolve_model(node.spec.params, data, found.where, found)
        node.pins = found.pins
    return data


def pinned_params(node: Node) -> StageParams:
    """The params a stage runs with: as configured, with every moving reference pinned (see ``keyed_params``)."""
    if not node.pins:
        return node.spec.params
    data = node.spec.params.model_dump(mode="json")
    for location, uri in node.pins.items():
        *path, leaf = location.split(".")
        holder = data
        for part in path:
            holder = holder[int(part)] if isinstance(holder, list) else holder[part]
        if isinstance(holder, list):
            holder[int(leaf)] = uri
        else:
            holder[leaf] = uri
    return type(node.spec.params).model_validate(data)


def _resolve_model(model: BaseModel, data: dict[str, Any], where: str, found: _Resolution) -> None:
    for name, field_info in type(model).model_fields.items():
        value = getattr(model, name)
        extra = field_info.json_schema_extra if isinstance(field_info.json_schema_extra, dict) else {}
        if extra.get(REFERENCE) and value is not None:
            data[name] = _resolve_value(value, data[name], extra, f"{where}.{name}", found)
        elif isinstance(value, BaseModel):
            _resolve_model(value, data[name], f"{where}.{name}", found)
        elif isinstance(value, (list, tuple)):
            for i, item in enumerate(value):
                if isinstance(item, BaseModel):
                    _resolve_model(item, data[name][i], f"{where}.{name}.{i}", found)


def _resolve_value(value: Any, dumped: Any, extra: dict, where: str, found: _Resolution) -> Any:
    kind, at = extra[REFERENCE], extra.get(REFERENCE_AT)
    if at:
        # A reference inside a mapping (e.g. model.backbone.init): replace just that leaf.
        parent, _, leaf = at.rpartition(".")
        holder = dumped
        for part in parent.split(".") if parent else []:
            holder = holder.get(part) if isinstance(holder, dict) else None
        if isinstance(holder, dict) and isinstance(holder.get(leaf), str):
            holder[leaf] = _resolve_one(kind, holder[leaf], f"{where}.{at}", found)
        return dumped
    if isinstance(value, BaseModel):
        return _resolve_one(kind, dumped, where, found)  # a structured reference (e.g. a package file)
    if isinstance(value, (list, tuple)):
        return [_resolve_one(kind, item, f"{where}.{i}", found) for i, item in enumerate(value)]
    return _resolve_one(kind, value, where, found)


def _resolve_one(kind: str, value: Any, where: str, found: _Resolution) -> Any:
    if kind == "checkpoint" and isinstance(value, str) and value in found.inputs:
        return {"input": value}  # the upstream stage's key covers it
    try:
        resolved = found.resolver.resolve(kind, value)
    except UnresolvedReference as exc:
        found.problems.append(f"{where}: {exc}")
        return value
    if "version" in resolved and "model" in resolved:
        rest = f"/{resolved['path']}" if resolved.get("path") else ""
        pinned = f"models:/{resolved['model']}/{resolved['version']}{rest}"
        if pinned != value:
            found.pins[where[len(found.where) + 1:]] = pinned
    return {"resolved": resolved}


def still_cached(node: Node, manifest: dict[str, Any], tracking_uri: str | None) -> bool:
    """Whether a complete output of ``node`` still counts as a hit: its stage's ``still_valid`` hook says so.

    A hit produced under other library versions is kept (they are not in the key) and logged.
    """
    changes = environment_changes(manifest.get("environment"), library_versions())
    if changes:
        log.warning("stage %s: cache hit produced under other versions: %s", node.name, ", ".join(changes))
    hook = node.stage_def.still_valid
    return hook is None or bool(hook(manifest, tracking_uri))
