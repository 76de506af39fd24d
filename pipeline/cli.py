"""Command line: ``python -m pipeline <command>`` and ``python pipeline/run.py``.

The engine's own commands are run, plan, stages and gc; every other command (sweep, models, infer, ...)
and the stage types come in ``Plugins`` from the entry point, so this module imports no stage.

Exit codes: 0 success, 1 a stage failed, 2 bad config or arguments.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import TYPE_CHECKING

from pipeline.plugins import Plugins

if TYPE_CHECKING:  # for the annotation only: run_console imports it when a run starts
    from pipeline.console import Console

# No phoning home from a training cluster, and no slow pip dry run per logged model.
for _name, _value in (("MLFLOW_DISABLE_TELEMETRY", "true"), ("RAY_USAGE_STATS_ENABLED", "0"),
                      ("MLFLOW_SKIP_PIP_REQUIREMENTS_CHECK", "true")):
    os.environ.setdefault(_name, _value)

ENGINE_COMMANDS = {
    "run": "run a pipeline config (same as python pipeline/run.py)",
    "plan": "print the plan and cache status of a config (run --dry-run)",
    "stages": "print every stage type's params (the config reference)",
    "gc": "remove abandoned staging folders and outputs no config needs: "
          "[--config C ...] [--older-than DAYS] [--dry-run]",
}


def usage(plugins: Plugins) -> str:
    """The command list: the engine's commands, then each plugged-in command with its summary."""
    rows = [*ENGINE_COMMANDS.items(), *((c.name, c.summary) for c in plugins.commands.values())]
    width = max(len(name) for name, _ in rows)
    lines = [f"  {name:<{width}}  {summary}" for name, summary in rows]
    return "usage: python -m pipeline <command> [args]\n\ncommands:\n" + "\n".join(lines) + "\n"


def run_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pipeline/run.py", description="Run a scene-text pipeline config.")
    parser.add_argument("--config", required=True, help="YAML recipe, e.g. configs/quickstart.yaml")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override any config key, e.g. --set stages.finetune.lr=0.001 (repeatable)")
    parser.add_argument("--only", nargs="+", default=[], metavar="STAGE",
                        help="run these stages and what they need that is not cached")
    parser.add_argument("--until", metavar="STAGE", help="stop after this stage (its descendants do not run)")
    parser.add_argument("--force", nargs="+", default=[], metavar="STAGE", help="re-run these stages even when cached")
    parser.add_argument("--dry-run", action="store_true", help="print the plan and cache hits, run nothing")
    parser.add_argument("--tracking-uri",
                        help="MLflow tracking URI (default: MLFLOW_TRACKING_URI or the local SQLite store)")
    return parser


def main_run(argv: list[str], plugins: Plugins) -> int:
    """Parse, build, run, close; the stage types are ``plugins.stages``."""
    from pipeline.config import ConfigError
    from pipeline.executor import PipelineFailed
    from pipeline.interrupts import Interrupted
    from pipeline.runner import RunOptions, run_pipeline, shutdown_ray

    args = run_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s", datefmt="%H:%M:%S")
    options = RunOptions(args.config, args.overrides, args.only, args.until, args.force, args.dry_run,
                         args.tracking_uri)
    console = None if args.dry_run else run_console(args.config)
    try:
        run_pipeline(options, plugins.stages, console)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except PipelineFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except (Interrupted, KeyboardInterrupt) as exc:
        code = exc.exit_code if isinstance(exc, Interrupted) else 130
        print(f"\n{str(exc) or 'interrupted'}: the stages in flight were stopped; run the same command again to resume",
              file=sys.stderr)
        return code
    finally:
        shutdown_ray()
        if console is not None:
            console.close()
    return 0


def run_console(config: str) -> "Console":
    """The console of one run, with its log file in ``<project home>/logs/`` (created when the run starts)."""
    import time
    from pathlib import Path

    from pipeline.console import Console
    from pipeline.paths import logs_dir

    path = logs_dir() / f"{Path(config).stem}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
    return Console(path)


def main(argv: list[str] | None, plugins: Plugins) -> int:
    """``python -m pipeline <command> ...``: an engine command, else a command of ``plugins``; exit 2 with
    the usage for an unknown one."""
    clash = sorted(set(plugins.commands) & set(ENGINE_COMMANDS))
    if clash:
        raise ValueError(f"plugged-in commands {clash} would hide the engine's own")
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(usage(plugins))
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command == "run":
        return main_run(rest, plugins)
    if command == "plan":
        return main_run([*rest, "--dry-run"], plugins)
    if command == "stages":
        from pipeline.reference import stage_reference

        print(stage_reference(plugins.stages))
        return 0
    if command == "gc":
        from pipeline.gc import main_gc

        return main_gc(rest, plugins.stages)
    if command in plugins.commands:
        return plugins.commands[command].main(rest, plugins)
    print(f"unknown command {command!r}\n\n{usage(plugins)}", file=sys.stderr)
    return 2
