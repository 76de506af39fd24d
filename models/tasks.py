"""The task registry: one plain dict from task name to ``models.task.Task``, and architecture lookup.

Architecture names are unique across tasks, so a model config's ``arch`` says which task it belongs to.
"""
from __future__ import annotations

from typing import Any

from models import detection, recognition, spotting
from models.task import Architecture, Task

TASKS: dict[str, Task] = {task.name: task for task in (detection.TASK, recognition.TASK, spotting.TASK)}


def get_task(name: str) -> Task:
    """The task called ``name``; an unknown name lists the valid ones."""
    if name not in TASKS:
        raise KeyError(f"unknown task {name!r}; valid tasks: {', '.join(sorted(TASKS))}")
    return TASKS[name]


def architectures() -> dict[str, Architecture]:
    """Every registered architecture, by name."""
    return {name: arch for task in TASKS.values() for name, arch in task.architectures.items()}


def get_architecture(name: str) -> Architecture:
    """The architecture called ``name``; an unknown name lists the valid ones."""
    found = architectures()
    if name not in found:
        raise ValueError(f"unknown model arch {name!r}; valid: {', '.join(sorted(found))}")
    return found[name]


def architecture_of(config: Any) -> Architecture:
    """The architecture a model config (a dict or a parsed config) names with its ``arch`` key."""
    name = config.get("arch") if isinstance(config, dict) else getattr(config, "arch", None)
    if not name:
        raise ValueError("model config: missing 'arch'")
    return get_architecture(str(name))


def task_of(config: Any) -> Task:
    """The task of the architecture a model config names."""
    return TASKS[architecture_of(config).task]
