"""The stage graph's data: nodes (a stage, its spec, inputs and key) and the edges between them.

Its own module so that ``pipeline.keys`` (which keys the nodes) and ``pipeline.dag`` (which builds the
graph and calls the keys) import it without importing each other.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.config import StageSpec
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
    pins: dict[str, str] = field(default_factory=dict)  # moving references fixed for this run (pipeline.keys)


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
