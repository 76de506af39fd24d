"""Helpers for engine tests: write a smoke-stage pipeline into a temp folder and run it for real."""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

import yaml
from mlflow import MlflowClient

from pipeline.runner import RunOptions, run_pipeline
from pipeline.stage import StageDef
from stages.registry import STAGES


class Project:
    """A config, artifact root and SQLite MLflow store in one temp folder."""

    def __init__(self, root: Path, stages: dict, name: str = "enginetest", registry: Mapping[str, StageDef] = STAGES,
                 description: str = ""):
        self.root = root
        self.registry = registry  # the stage types the config's ``type:`` names
        self.config = root / "pipeline.yaml"
        self.tracking_uri = f"sqlite:///{root / 'mlruns.db'}"
        self.config.write_text(yaml.safe_dump({"name": name, "description": description,
                                               "artifact_root": str(root / "artifacts"), "stages": stages}))

    def run(self, *overrides: str, **options):
        return run_pipeline(RunOptions(str(self.config), list(overrides), tracking_uri=self.tracking_uri, **options),
                            self.registry)

    def manifest(self, report, stage: str) -> dict:
        return report.outcomes[stage].manifest

    def complete_dirs(self, stage: str) -> list[Path]:
        return sorted(p.parent for p in (self.root / "artifacts" / stage).glob("*/_COMPLETE"))

    def client(self) -> MlflowClient:
        return MlflowClient(self.tracking_uri)

    def child_runs(self, parent_run_id: str):
        client = self.client()
        runs = client.search_runs(client.get_run(parent_run_id).info.experiment_id,
                                  f"tags.mlflow.parentRunId = '{parent_run_id}'")
        return {r.data.tags["stage"]: r for r in runs}
