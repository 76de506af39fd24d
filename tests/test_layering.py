"""The package layering of DESIGN.md, checked on the import statements of every project module.

Layers, bottom to top (an import only ever points down):
- engine: ``pipeline/`` (all but its two entry points) imports only ``pipeline``;
- shared layers: ``stages/dataset`` (the dataset contract) imports only itself and the engine;
  ``models/`` imports itself, the dataset contract and the engine;
- stage types: ``stages/<type>/`` import their own package, the shared layers and the engine, never
  another stage type;
- entry points (``pipeline/run.py``, ``pipeline/__main__.py``) and the registry ``stages/registry.py``
  wire everything together.
Imports inside functions count: a lazy import is still a dependency.
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("pipeline", "stages", "models")
ENTRY_POINTS = {"pipeline.run", "pipeline.__main__", "stages.registry"}
SHARED_DATA = "stages.dataset"


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _resolve(name: str) -> str | None:
    """The project module an import of ``name`` loads (the longest known prefix)."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in MODULES:
            return candidate
        parts.pop()
    return None


def imports_of(module: str) -> set[str]:
    """Project modules that ``module``'s import statements name, at any depth in its source."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parents = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*parents, *([node.module] if node.module else [])])
            names = [f"{base}.{alias.name}" for alias in node.names] + [base]
            names = [n for n in names if _resolve(n) is not None]
            # `from a import b` names a.b when that is a module, else the package a itself
            names = [n for n in names if n in MODULES] or names[-1:]
        for name in names:
            target = _resolve(name)
            if target is not None and target != module:
                out.add(target)
    return out


GRAPH = {module: imports_of(module) for module in MODULES}


def _stage_type(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "stages" or len(parts) < 2 or module.startswith(SHARED_DATA):
        return None
    return parts[1]


def _allowed(module: str, target: str) -> bool:
    if module in ENTRY_POINTS:
        return True
    top = target.split(".")[0]
    if module.startswith("pipeline"):
        return top == "pipeline"
    if module.startswith(SHARED_DATA):
        return top == "pipeline" or target.startswith(SHARED_DATA)
    if module.startswith("models"):
        return top in ("pipeline", "models") or target.startswith(SHARED_DATA)
    stage = _stage_type(module)
    if target == "stages.registry":
        return False  # the registry imports every stage type: a stage importing it imports them all
    return _stage_type(target) in (None, stage)


def test_every_import_points_down_the_layers() -> None:
    wrong = sorted(f"{module} -> {target}" for module, targets in GRAPH.items() for target in targets
                   if not _allowed(module, target))
    assert wrong == []


def test_no_import_cycles() -> None:
    cycles = []
    state: dict[str, int] = {}  # 1 on the stack, 2 done

    def visit(module: str, stack: list[str]) -> None:
        state[module] = 1
        for target in sorted(GRAPH[module]):
            if state.get(target) == 1:
                cycles.append(" -> ".join([*stack[stack.index(target):], target]))
            elif target not in state:
                visit(target, [*stack, target])
        state[module] = 2

    for module in sorted(GRAPH):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_the_checker_sees_a_lazy_cross_stage_import(tmp_path) -> None:
    """The rule reads imports inside functions (the kind that slipped through before)."""
    assert "stages.evaluate.stage" in MODULES
    assert not _allowed("stages.train.validate", "stages.evaluate.report")
    assert not _allowed("pipeline.runner", "stages.train.stage")
    assert _allowed("stages.train.stage", "stages.dataset.images")
    assert _allowed("stages.train.stage", "models.build")
    assert not _allowed("models.build", "stages.train.stage")


def test_importing_the_dataset_contract_loads_no_stage_type() -> None:
    """``stages/__init__.py`` imports nothing: models import ``stages.dataset``, and that must not pull in
    every stage type (and torch) through the package's ``__init__``."""
    assert GRAPH["stages"] == set()
    assert GRAPH["stages.dataset"] == set()
