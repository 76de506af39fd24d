"""Where a run keeps its files when the config does not say: always absolute paths.

``ray job submit`` runs the entrypoint in a temporary copy of the working dir, so a default that
is relative (or that points into that copy) would vanish with it. The project home is
SCENETEXT_HOME when set, else the project folder, unless that folder is a Ray runtime-env copy,
in which case it is ~/scenetext on the node that runs the driver.
"""
from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
# Always defined for paths in configs: the checkout's folder, so a recipe can name data it ships
# (``$SCENETEXT_PROJECT_DIR/configs/data/...``) wherever the project home is.
PROJECT_VAR = "SCENETEXT_PROJECT_DIR"
_VAR = re.compile(r"\$(\w+)|\$\{(\w+)\}")


def project_home() -> Path:
    """The folder that relative artifact roots and the default MLflow store resolve against."""
    env = os.environ.get("SCENETEXT_HOME")
    if env:
        return Path(env).expanduser().resolve()
    if "runtime_resources" in PROJECT_DIR.parts:
        return Path.home() / "scenetext"
    return PROJECT_DIR


def expand_vars(value: str) -> str:
    """``$NAME`` and ``${NAME}`` replaced from the environment, ``$SCENETEXT_PROJECT_DIR`` defaulting to
    this checkout's folder; an unset variable is left as written (callers report it)."""
    def one(match: re.Match) -> str:
        name = match.group(1) or match.group(2)
        default = str(PROJECT_DIR) if name == PROJECT_VAR else match.group(0)
        return os.environ.get(name, default)

    return _VAR.sub(one, value)


def resolve_root(root: str) -> str:
    """An artifact root as an absolute local path, or a URI left as it is."""
    if "://" in root:
        return root
    path = Path(root).expanduser()
    return str(path if path.is_absolute() else project_home() / path)


def default_tracking_uri() -> str:
    """SQLite store in the project home; MLFLOW_TRACKING_URI wins when set."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{project_home() / 'mlruns.db'}"


def sqlite_file(tracking_uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` tracking URI (absolute), or None for any other store."""
    if not tracking_uri.startswith("sqlite:///"):
        return None
    # sqlite:////abs/db is absolute; sqlite:///rel.db is relative to the working dir, as MLflow reads it
    return Path(tracking_uri.removeprefix("sqlite:///").split("?", 1)[0]).resolve()


def default_artifact_location(experiment: str, tracking_uri: str | None = None) -> str:
    """Where MLflow keeps a new experiment's artifacts with the SQLite store (never relative).

    Beside the database file (``<db folder>/mlartifacts/<experiment>``), so a store given by URI
    keeps its artifacts with it; the project home when there is no database file to sit beside."""
    db = sqlite_file(tracking_uri) if tracking_uri else None
    base = db.parent if db is not None else project_home()
    return (base / "mlartifacts" / experiment).as_uri()


def logs_dir() -> Path:
    """Where each command-line run writes its log file (everything its console does not show)."""
    return project_home() / "logs"


def sweeps_dir() -> Path:
    """Where ``python -m pipeline sweep`` writes each sweep's folder when ``--out`` is not given."""
    return project_home() / "sweeps"


def git_commit() -> str | None:
    """The project's git commit, when it is a git checkout."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None
