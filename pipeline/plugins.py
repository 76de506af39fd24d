"""What the entry points plug into the engine: the stage types and the commands beyond the engine's own.

The engine never imports a stage package. ``stages/registry.py`` builds one ``Plugins`` (every stage type
and the commands that belong to stage types or models) and the entry points (``pipeline/run.py``,
``python -m pipeline``) hand it to the command line, which passes ``plugins.stages`` on to config
validation, the graph and the executor.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

from pipeline.stage import StageDef


@dataclass(frozen=True)
class Command:
    """A ``python -m pipeline <name>`` command that is not the engine's own.

    main: ``(argv, plugins) -> exit code``; it receives the whole registry so that a command which runs
    pipelines (a sweep runs the upstream stages) can hand it on to the engine.
    """

    name: str
    summary: str
    main: Callable[[list[str], "Plugins"], int]


@dataclass(frozen=True)
class Plugins:
    """The stage registry and the plugged-in commands, each a plain dict keyed by name."""

    stages: Mapping[str, StageDef]
    commands: Mapping[str, Command] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # A key that disagrees with the entry's own name would make a config's ``type:`` and the
        # manifest's ``type`` name different things.
        for kind, table in (("stage type", self.stages), ("command", self.commands)):
            for key, entry in table.items():
                if key != entry.name:
                    raise ValueError(f"{kind} registered as {key!r} is named {entry.name!r}")

    def stage(self, name: str) -> StageDef:
        """The StageDef of a type name; an unknown name raises KeyError listing the valid ones."""
        try:
            return self.stages[name]
        except KeyError:
            raise KeyError(f"unknown stage type {name!r}; valid types: {', '.join(sorted(self.stages))}") from None
