"""``python -m pipeline <command>``: the engine's command line with this project's stage types and commands
plugged in (see pipeline/cli.py)."""
import sys

from pipeline.cli import main
from stages.registry import PLUGINS

sys.exit(main(None, PLUGINS))
