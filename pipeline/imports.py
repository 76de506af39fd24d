"""Which project modules a module pulls in, read from its import statements (never by importing it).

A stage's cache key must change when any project code it runs changes. Runtime ``sys.modules`` cannot
tell: the train stage imports ``models.*`` inside functions, after the key is computed. So the source is
parsed with ``ast`` and every import statement is followed, at any depth (module level, inside functions,
under ``if TYPE_CHECKING``), transitively:

- ``import a.b.c`` pulls ``a.b.c``; ``from a.b import c`` pulls ``a.b`` and, when ``c`` is a module,
  ``a.b.c``; relative imports resolve against the importing module's package;
- importing ``a.b.c`` runs ``a/__init__.py`` and ``a/b/__init__.py`` first, so parent packages count too
  (the stage registry is ``stages/registry.py``, which no stage imports: ``stages/__init__.py`` imports
  nothing, so a stage does not depend on every other);
- a string constant that is exactly a project module's dotted name (``"models.build"``) counts as an
  import: that is how the lazy export table of ``models/__init__.py`` names its modules.

Imports computed from strings at run time (``importlib.import_module(f"models.{name}")``) are not seen.
"""
from __future__ import annotations

import ast
import hashlib
from functools import lru_cache
from pathlib import Path

PROJECT_PACKAGES = ("pipeline", "stages", "models")


def module_file(root: Path, name: str) -> Path | None:
    """The source file of project module ``name`` under ``root``, or None when there is none."""
    parts = name.split(".")
    if parts[0] not in PROJECT_PACKAGES:
        return None
    base = root.joinpath(*parts)
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def project_closure(root: Path, modules: tuple[str, ...]) -> dict[str, Path]:
    """Every project module that importing ``modules`` may run, with its file: name -> path."""
    found: dict[str, Path] = {}
    stack = [m for m in modules if module_file(root, m) is not None]
    while stack:
        name = stack.pop()
        if name in found:
            continue
        path = module_file(root, name)
        if path is None:
            continue
        found[name] = path
        stack.extend(m for m in _direct_imports(root, name, path) if m not in found)
    return found


def closure_digest(root: Path, modules: tuple[str, ...]) -> str:
    """sha256 over the names and bytes of every module in ``project_closure`` (sorted by name)."""
    return _closure_digest(root.resolve(), tuple(sorted(modules)))


@lru_cache(maxsize=None)
def _closure_digest(root: Path, modules: tuple[str, ...]) -> str:
    digest = hashlib.sha256()
    for name, path in sorted(project_closure(root, modules).items()):
        digest.update(name.encode() + b"\0")
        digest.update(_file_bytes(path))
        digest.update(b"\0")
    return digest.hexdigest()[:16]


@lru_cache(maxsize=None)
def _file_bytes(path: Path) -> bytes:
    return path.read_bytes()


@lru_cache(maxsize=None)
def _direct_imports(root: Path, name: str, path: Path) -> tuple[str, ...]:
    """Project modules ``name`` imports itself (any depth in its source), plus its parent packages."""
    try:
        tree = ast.parse(_file_bytes(path), filename=str(path))
    except SyntaxError as exc:
        raise SyntaxError(f"{path}: cannot read its imports: {exc}") from None
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set(_parents(name))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                out.update(_with_parents(alias.name))
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(package, node.module, node.level)
            if base is None:
                continue
            out.update(_with_parents(base))
            for alias in node.names:
                if module_file(root, f"{base}.{alias.name}") is not None:
                    out.add(f"{base}.{alias.name}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and "." in node.value:
            if node.value.split(".")[0] in PROJECT_PACKAGES and module_file(root, node.value) is not None:
                out.add(node.value)
    return tuple(sorted(m for m in out if m.split(".")[0] in PROJECT_PACKAGES))


def _absolute(package: str, module: str | None, level: int) -> str | None:
    if level == 0:
        return module
    parts = package.split(".") if package else []
    if level - 1 > len(parts):
        return None  # a relative import above the top package: Python refuses it too
    base = parts[: len(parts) - (level - 1)]
    return ".".join(base + ([module] if module else [])) or None


def _parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def _with_parents(name: str) -> list[str]:
    return [*_parents(name), name]
