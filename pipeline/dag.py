"""The stage graph: built from the config, validated before anything runs, ordered with graphlib.

Every stage's cache key is known before running (``pipeline.keys``): it hashes the stage name, its code,
its params with references resolved to content and its inputs' keys, so keys chain down the graph and
changing one stage changes the keys of exactly that stage and its descendants.
"""
from __future__ import annotations

import graphlib
from pathlib import Path
from typing import Mapping

from pipeline.config import ConfigError, PipelineConfig, StageSpec
from pipeline.graph import Graph, InputRef, Node
from pipeline.keys import code_digest, compute_keys
from pipeline.references import ReferenceResolver
from pipeline.stage import StageDef

__all__ = ["Graph", "InputRef", "Node", "build_graph", "code_digest", "select"]


def build_graph(config: PipelineConfig, stages: Mapping[str, StageDef],
                resolver: ReferenceResolver | None = None, code_root: Path | None = None) -> Graph:
    """Validate stage types, input references and acyclicity; compute order and cache keys.

    With a ``resolver`` (what a run uses) reference params are keyed by what they point at and one that
    does not resolve is a ConfigError naming its key path; without one they are keyed as written (enough
    to validate a graph). ``code_root``: digest the code of a project copy instead of this checkout.
    """
    problems: list[str] = []
    nodes: dict[str, Node] = {}
    for name, spec in config.stages.items():
        stage_def = stages.get(spec.type)
        if stage_def is None:
            problems.append(f"stages.{name}.type: unknown stage type {spec.type!r}; "
                            f"valid types: {', '.join(sorted(stages))}")
            continue
        nodes[name] = Node(name, spec, stage_def, _parse_inputs(name, spec, config, stages, problems))
    if problems:
        raise ConfigError(config.name, problems)
    graph = Graph(nodes)
    sorter = graphlib.TopologicalSorter({n: sorted(graph.parents(n)) for n in sorted(nodes)})
    try:
        graph.order = list(sorter.static_order())
    except graphlib.CycleError as exc:
        cycle = " -> ".join(exc.args[1])
        raise ConfigError(config.name, [f"stages: cycle {cycle}"]) from None
    problems = compute_keys(graph, resolver, code_root)
    if problems:
        raise ConfigError(config.name, problems)
    return graph


def _parse_inputs(name: str, spec: StageSpec, config: PipelineConfig, stages: Mapping[str, StageDef],
                  problems: list[str]) -> dict[str, InputRef]:
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
        declared = _declared_outputs(stages.get(up_spec.type), up_spec)
        if not output:
            if declared is not None and len(declared) != 1:
                problems.append(f"{where}: stage {upstream!r} has outputs {declared}; "
                                f"name one as '{upstream}.<output>'")
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
