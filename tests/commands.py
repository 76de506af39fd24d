"""The project's command line as ``python -m pipeline`` wires it (the engine's CLI with ``stages.registry.PLUGINS``)."""
from __future__ import annotations

from pipeline import cli
from stages.registry import PLUGINS


def main(argv: list[str]) -> int:
    """``python -m pipeline <argv>``, in-process; returns the exit code."""
    return cli.main(argv, PLUGINS)
