"""Command line: ``python -m pipeline <command>`` and ``python pipeline/run.py``.

Exit codes: 0 success, 1 a stage failed, 2 bad config or arguments.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys

# No phoning home from a training cluster, and no slow pip dry run per logged model.
for _name, _value in (("MLFLOW_DISABLE_TELEMETRY", "true"), ("RAY_USAGE_STATS_ENABLED", "0"),
                      ("MLFLOW_SKIP_PIP_REQUIREMENTS_CHECK", "true")):
    os.environ.setdefault(_name, _value)

USAGE = """usage: python -m pipeline <command> [args]

commands:
  run        run a pipeline config (same as python pipeline/run.py)
  plan       print the plan and cache status of a config (run --dry-run)
  eval-det   evaluate detection results against ground truth
  eval-rec   evaluate recognition results against ground truth
  stages     print every stage type's params (the config reference)
  models     the MLflow model registry: list | show NAME | promote NAME VERSION | alias NAME ALIAS VERSION
  infer      detect text in images with a registered or local model
  sweep      tune one training stage's params with Ray Tune (Optuna + ASHA)
  gc         remove abandoned staging folders and outputs no config needs: [--config C ...] [--older-than DAYS] [--dry-run]
"""


def run_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pipeline/run.py", description="Run a scene-text pipeline config.")
    parser.add_argument("--config", required=True, help="YAML recipe, e.g. configs/quickstart.yaml")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override any config key, e.g. --set stages.finetune.lr=0.001 (repeatable)")
    parser.add_argument("--only", nargs="+", default=[], metavar="STAGE", help="run these stages and what they need that is not cached")
    parser.add_argument("--until", metavar="STAGE", help="stop after this stage (its descendants do not run)")
    parser.add_argument("--force", nargs="+", default=[], metavar="STAGE", help="re-run these stages even when cached")
    parser.add_argument("--dry-run", action="store_true", help="print the plan and cache hits, run nothing")
    parser.add_argument("--tracking-uri", help="MLflow tracking URI (default: MLFLOW_TRACKING_URI or the local SQLite store)")
    return parser


def main_run(argv: list[str]) -> int:
    """Parse, build, run, close."""
    from pipeline.config import ConfigError
    from pipeline.executor import PipelineFailed
    from pipeline.interrupts import Interrupted
    from pipeline.runner import RunOptions, run_pipeline

    args = run_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s", datefmt="%H:%M:%S")
    options = RunOptions(args.config, args.overrides, args.only, args.until, args.force, args.dry_run, args.tracking_uri)
    console = None if args.dry_run else run_console(args.config)
    try:
        run_pipeline(options, console)
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
        _shutdown_ray()
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


def _shutdown_ray() -> None:
    if "ray" in sys.modules:
        import ray

        if ray.is_initialized():
            ray.shutdown()


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command == "run":
        return main_run(rest)
    if command == "plan":
        return main_run([*rest, "--dry-run"])
    if command == "stages":
        from pipeline.reference import stage_reference

        print(stage_reference())
        return 0
    if command == "eval-det":
        from stages.evaluate.cli import main_eval_det

        return main_eval_det(rest)
    if command == "eval-rec":
        from stages.evaluate.cli import main_eval_rec

        return main_eval_rec(rest)
    if command == "models":
        from pipeline.registry import main_models

        return main_models(rest)
    if command == "infer":
        from pipeline.infer import main_infer

        return main_infer(rest)
    if command == "sweep":
        from pipeline.sweep import main_sweep

        return main_sweep(rest)
    if command == "gc":
        from pipeline.gc import main_gc

        return main_gc(rest)
    print(f"unknown command {command!r}\n\n{USAGE}", file=sys.stderr)
    return 2
