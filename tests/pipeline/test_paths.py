"""Default locations: every path the project writes is absolute, beside what the user named, and ignored by git."""
from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

from pipeline import paths
from tests.pipeline.engine_helpers import Project


def _files(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*")} if folder.exists() else set()


def test_sqlite_store_keeps_artifacts_beside_the_database(tmp_path, ray_local):
    project_artifacts = paths.PROJECT_DIR / "mlartifacts"
    before = _files(project_artifacts)
    (tmp_path / "store").mkdir()
    project = Project(tmp_path / "store", {"s": {"type": "smoke"}}, name="beside-db")
    report = project.run()
    run = project.client().get_run(report.parent_run_id)
    assert run.info.artifact_uri.startswith((tmp_path / "store" / "mlartifacts" / "beside-db").as_uri() + "/")
    assert (tmp_path / "store" / "mlartifacts" / "beside-db").is_dir()
    assert _files(project_artifacts) == before, "the run wrote into the project's mlartifacts/"


def test_default_artifact_location_follows_the_sqlite_file():
    assert paths.default_artifact_location("e", "sqlite:////tmp/x/mlruns.db") == "file:///tmp/x/mlartifacts/e"
    # no SQLite file to sit beside (a server, an in-memory db): the project home
    home = paths.project_home() / "mlartifacts" / "e"
    assert paths.default_artifact_location("e", "http://127.0.0.1:5000") == home.as_uri()
    assert paths.default_artifact_location("e", "sqlite://") == home.as_uri()


def test_every_default_output_folder_is_ignored_by_git(monkeypatch):
    """`ray job submit --working-dir .` uploads what git does not ignore: no default output may be in it."""
    from stages.train.stage import storage_path

    monkeypatch.delenv("SCENETEXT_HOME", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    from pipeline.config import PipelineConfig

    written = [
        Path(paths.resolve_root(PipelineConfig.model_fields["artifact_root"].default)) / "s" / "k" / "manifest.json",
        paths.sqlite_file(paths.default_tracking_uri()),
        Path(paths.default_artifact_location("e").removeprefix("file://")) / "run" / "artifacts" / "config.yaml",
        storage_path(None) / "finetune-k" / "checkpoint_000000" / "checkpoint.pt",
        paths.sweeps_dir() / "quickstart-finetune-1" / "best_config.yaml",
        paths.logs_dir() / "quickstart-20261129-120000-1.log",
        paths.project_home() / ".scenetext" / "digests.sqlite",
        paths.PROJECT_DIR / "bench-results" / "engine.json",  # `make bench`
        paths.PROJECT_DIR / "mlruns" / "0" / "meta.yaml",  # MLflow's own default when a tool runs without ours
        paths.PROJECT_DIR / "mlflow.db",
    ]
    for path in written:
        rel = path.relative_to(paths.PROJECT_DIR)
        done = subprocess.run(["git", "check-ignore", "-q", "--no-index", str(rel)], cwd=paths.PROJECT_DIR)
        assert done.returncode == 0, f"{rel} is not ignored by .gitignore"


def test_python_version_agrees_between_pyproject_and_readme():
    # hashlib.file_digest (artifact digests) needs 3.11
    pyproject = tomllib.loads((paths.PROJECT_DIR / "pyproject.toml").read_text())
    assert pyproject["project"]["requires-python"] == ">=3.11"
    readme = (paths.PROJECT_DIR / "README.md").read_text()
    assert re.findall(r"`python3` \((3\.\d+)\+\)", readme) == ["3.11"]


def test_project_dir_variable_names_the_checkout_unless_set(monkeypatch):
    from pipeline.paths import PROJECT_DIR, expand_vars
    from pipeline.references import expand_path

    monkeypatch.delenv("SCENETEXT_PROJECT_DIR", raising=False)
    monkeypatch.setenv("SCENETEXT_HOME", "/elsewhere")
    assert expand_path("$SCENETEXT_PROJECT_DIR/configs") == PROJECT_DIR / "configs"
    assert expand_vars("${SCENETEXT_PROJECT_DIR}/x") == f"{PROJECT_DIR}/x"
    monkeypatch.setenv("SCENETEXT_PROJECT_DIR", "/mirror")
    assert expand_vars("$SCENETEXT_PROJECT_DIR/x") == "/mirror/x"
    assert expand_vars("$NOT_SET_ANYWHERE_42/x") == "$NOT_SET_ANYWHERE_42/x"
