"""Entrypoint: ``python pipeline/run.py --config configs/quickstart.yaml`` (also under ``ray job submit``)."""
from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.cli import main_run  # noqa: E402
from stages.registry import PLUGINS  # noqa: E402  (the one place that wires the stage types in)

if __name__ == "__main__":
    sys.exit(main_run(sys.argv[1:], PLUGINS))
