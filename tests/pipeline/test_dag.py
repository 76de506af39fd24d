"""Graph validation, ordering, selection and cache keys (no Ray needed)."""
from __future__ import annotations

import pytest

from pipeline.config import ConfigError, validate_config
from pipeline.dag import build_graph, select
from stages.registry import STAGES


def graph_of(stages, overrides=None):
    return build_graph(validate_config({"name": "t", "stages": stages}, "test", STAGES), STAGES)


DIAMOND = {
    "a": {"type": "smoke"},
    "b": {"type": "smoke", "inputs": {"up": "a"}},
    "c": {"type": "smoke", "inputs": {"up": "a.data"}},
    "d": {"type": "smoke", "inputs": {"l": "b", "r": "c"}},
    "e": {"type": "smoke"},
}


def test_order_respects_dependencies():
    graph = graph_of(DIAMOND)
    order = graph.order
    assert order.index("a") < order.index("b") < order.index("d")
    assert order.index("c") < order.index("d")
    assert graph.ancestors("d") == {"a", "b", "c"}
    assert graph.descendants("a") == {"b", "c", "d"}


def errors(stages):
    with pytest.raises(ConfigError) as info:
        graph_of(stages)
    return info.value.problems


def test_unknown_input_stage():
    assert errors({"a": {"type": "smoke", "inputs": {"x": "nosuch"}}}) == [
        "stages.a.inputs.x: unknown stage 'nosuch'; stages: a"]


def test_unknown_output_name():
    problems = errors({"a": {"type": "smoke"}, "b": {"type": "smoke", "inputs": {"x": "a.images"}}})
    assert problems == ["stages.b.inputs.x: stage 'a' has no output 'images'; its outputs: data"]


def test_cycle_is_reported():
    problems = errors({"a": {"type": "smoke", "inputs": {"x": "b"}}, "b": {"type": "smoke", "inputs": {"x": "a"}}})
    assert len(problems) == 1 and problems[0].startswith("stages: cycle")
    assert "a" in problems[0] and "b" in problems[0]


def test_self_input_and_malformed_reference():
    assert "cannot consume its own output" in errors({"a": {"type": "smoke", "inputs": {"x": "a"}}})[0]
    with pytest.raises(ConfigError, match=r"stages.a.inputs: .*is not 'stage' or 'stage.output'"):
        graph_of({"a": {"type": "smoke", "inputs": {"x": "b.c.d"}}})


def test_param_change_changes_keys_of_descendants_only():
    before = graph_of(DIAMOND)
    changed = {**DIAMOND, "b": {**DIAMOND["b"], "message": "changed"}}
    after = graph_of(changed)
    differs = {n for n in DIAMOND if before.nodes[n].key != after.nodes[n].key}
    assert differs == {"b", "d"}


def test_keys_are_stable_and_depend_on_stage_name():
    assert graph_of(DIAMOND).nodes["d"].key == graph_of(DIAMOND).nodes["d"].key
    graph = graph_of(DIAMOND)
    assert graph.nodes["a"].key != graph.nodes["e"].key  # same type and params, other name


def test_select_only_and_until():
    graph = graph_of(DIAMOND)
    assert select(graph, only=["b"]) == [n for n in graph.order if n in {"a", "b"}]
    assert set(select(graph, until="b")) == {"a", "b", "c", "e"}
    assert set(select(graph)) == set(DIAMOND)
    with pytest.raises(ConfigError, match="'zz' is not a stage"):
        select(graph, only=["zz"])
