"""The stage graph: built from the config, validated before anything runs, ordered with graphlib.

Every stage's cache key is known before running: it hashes the stage name, the stage type's code
version, its resolved params and its inputs' keys, so keys chain down the graph and changing one
stage's params changes the keys of exactly that stage and its descendants.
"""
from __future__ import annotations

import graphlib
import hashlib
import importlib
import inspect
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Mapping

from pipeline.config import ConfigError, PipelineConfig, StageSpec, canonical_json
from pipeline.stage import StageDef


@dataclass(frozen=True)
class InputRef:
    """An upstream output a stage consumes."""

    stage: str
    output: str


@dataclass
class Node:
    name: str
    spec: StageSpec
    stage_def: StageDef
    inputs: dict[str, InputRef]
    key: str = ""


@dataclass
class Graph:
    nodes: dict[str, Node]
    order: list[str] = field(default_factory=list)

    def parents(self, name: str) -> set[str]:
        return {ref.stage for ref in self.nodes[name].inputs.values()}

    def ancestors(self, name: str) -> set[str]:
        seen: set[str] = set()
        stack = list(self.parents(name))
        while stack:
            current = stack.pop()
            if current not in seen:
                seen.add(current)
                stack.extend(self.parents(current))
        return seen

    def descendants(self, name: str) -> set[str]:
        children = {n: set() for n in self.nodes}
        for node in self.nodes.values():
            for ref in node.inputs.values():
                children[ref.stage].add(node.name)
        seen: set[str] = set()
        stack = list(children[name])
        while stack:
            current = stack.pop()
            if current not in seen:
                seen.add(current)
                stack.extend(children[current])
        return seen


def build_graph(config: PipelineConfig, registry: Mapping[str, StageDef] | None = None) -> Graph:
    """Validate stage types, input references and acyclicity; compute order and cache keys."""
    if registry is None:
        from stages import STAGES as registry
    problems: list[str] = []
    nodes: dict[str, Node] = {}
    for name, spec in config.stages.items():
        stage_def = registry.get(spec.type)
        if stage_def is None:
            problems.append(f"stages.{name}.type: unknown stage type {spec.type!r}; valid types: {', '.join(sorted(registry))}")
            continue
        nodes[name] = Node(name, spec, stage_def, _parse_inputs(name, spec, config, registry, problems))
    if problems:
        raise ConfigError(config.name, problems)
    graph = Graph(nodes)
    sorter = graphlib.TopologicalSorter({n: sorted(graph.parents(n)) for n in sorted(nodes)})
    try:
        graph.order = list(sorter.static_order())
    except graphlib.CycleError as exc:
        cycle = " -> ".join(exc.args[1])
        raise ConfigError(config.name, [f"stages: cycle {cycle}"]) from None
    for name in graph.order:
        node = nodes[name]
        node.key = stage_key(node, {p: nodes[p].key for p in graph.parents(name)})
    return graph


def _parse_inputs(name: str, spec: StageSpec, config: PipelineConfig, registry: Mapping[str, StageDef], problems: list[str]) -> dict[str, InputRef]:
    refs: dict[str, InputRef] = {}
    for input_name, text in spec.inputs.items():
        where = f"stages.{name}.inputs.{input_name}"
        upstream, _, output = text.partition(".")
        if upstream not in config.stages:
            problems.append(f"{where}: unknown stage {upstream!r}; stages: {', '.join(sorted(config.stages))}")
            continue
        if upstream == name:
            problems.append(f"{where}: a stage cannot consume its own output")
            continue
        up_spec = config.stages[upstream]
        declared = _declared_outputs(registry.get(up_spec.type), up_spec)
        if not output:
            if declared is not None and len(declared) != 1:
                problems.append(f"{where}: stage {upstream!r} has outputs {declared}; name one as '{upstream}.<output>'")
                continue
            output = declared[0] if declared else ""
        elif declared is not None and output not in declared:
            problems.append(f"{where}: stage {upstream!r} has no output {output!r}; its outputs: {', '.join(declared)}")
            continue
        refs[input_name] = InputRef(upstream, output)
    return refs


def _declared_outputs(stage_def: StageDef | None, spec: StageSpec) -> list[str] | None:
    if stage_def is None or stage_def.outputs is None or spec.params is None:
        return None
    return list(stage_def.outputs(spec.params))


def stage_key(node: Node, parent_keys: dict[str, str]) -> str:
    """sha256 over (stage name, type, code version, params, input wiring and upstream keys)."""
    payload = {
        "stage": node.name,
        "type": node.spec.type,
        "version": node.stage_def.version,
        "code": code_digest(node.stage_def),
        "params": node.spec.params.model_dump(mode="json"),
        "inputs": {n: [ref.stage, ref.output, parent_keys[ref.stage]] for n, ref in sorted(node.inputs.items())},
    }
    return hashlib.sha256(canonical_json(payload).encode()).hexdigest()[:32]


def code_digest(stage_def: StageDef) -> str:
    """Digest of the source of the package that defines the stage function.

    Any edit of a stage's code changes its key, so a stale cache can never hide a code change;
    ``version`` stays for changes outside Python (e.g. a data file the stage reads).
    """
    module = importlib.import_module(stage_def.fn.__module__)
    package = module.__name__.split(".")
    top = importlib.import_module(".".join(package[:2])) if len(package) > 1 else module
    return _source_digest(inspect.getfile(top))


@lru_cache(maxsize=None)
def _source_digest(path: str) -> str:
    source = Path(path)
    files = sorted(source.parent.rglob("*.py")) if source.name == "__init__.py" else [source]
    digest = hashlib.sha256()
    for file in files:
        digest.update(str(file.relative_to(source.parent)).encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def select(graph: Graph, only: list[str] | None = None, until: str | None = None) -> list[str]:
    """Stages to consider, in order.

    only: those stages plus their ancestors (cached ancestors are hits, the rest run);
    until: everything except the strict descendants of that stage (the run stops after it).
    """
    for name in [*(only or []), *([until] if until else [])]:
        if name not in graph.nodes:
            raise ConfigError("command line", [f"{name!r} is not a stage; stages: {', '.join(graph.order)}"])
    chosen = set(graph.nodes)
    if only:
        chosen = set(only).union(*(graph.ancestors(n) for n in only))
    if until:
        chosen -= graph.descendants(until)
    return [n for n in graph.order if n in chosen]
