"""Cache keys cover everything that decides a stage's output: the code it imports (at any depth), what
reference params point at (registry aliases, MLflow runs, local files and folders, $VARs), and for the
register stage the registry it writes to. Real files, real MLflow (SQLite in tmp_path), no Ray."""
from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest
import yaml
from mlflow import MlflowClient

from pipeline.config import ConfigError, validate_config
from pipeline.dag import build_graph
from pipeline.keys import pinned_params
from pipeline.runner import RunOptions, prepare, run_pipeline
from stages.registry import STAGES

ROOT = Path(__file__).resolve().parents[2]
OLD = 1_600_000_000  # a file time well in the past: digests of such files may be cached

SYNTH = {"type": "synth", "splits": {"train": 4, "test": 2}, "image_size": [64, 64], "crops": False}
TRAIN = {"type": "train", "inputs": {"train": "synth.train"}, "data": {"datasets": [{"input": "train", "ratio": 1.0}]},
         "schedule": {"steps": 2}}
EVALUATE = {"type": "evaluate", "inputs": {"model": "train.model", "test": "synth.test"}}
CODE_STAGES = {"synth": SYNTH, "train": TRAIN, "evaluate": EVALUATE, "other": {"type": "smoke"}}


def write_config(folder: Path, stages: dict, name: str = "keys") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}-{uuid.uuid4().hex[:6]}.yaml"
    path.write_text(yaml.safe_dump({"name": name, "artifact_root": str(folder / "artifacts"), "stages": stages}))
    return path


def keys_of(config: Path, uri: str) -> dict[str, str]:
    """The keys a run of ``config`` against ``uri`` would use (what --dry-run prints)."""
    graph = prepare(RunOptions(str(config), tracking_uri=uri), STAGES).graph
    return {name: node.key for name, node in graph.nodes.items()}


def changed(before: dict[str, str], after: dict[str, str]) -> set[str]:
    return {n for n in before if before[n] != after[n]}


def copy_project(dest: Path) -> Path:
    for package in ("pipeline", "stages", "models"):
        shutil.copytree(ROOT / package, dest / package, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """A project home of its own: the digest cache lands in tmp_path, not in the checkout."""
    monkeypatch.setenv("SCENETEXT_HOME", str(tmp_path))
    return tmp_path


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> str:
    """One SQLite MLflow store for the module (creating one costs seconds)."""
    uri = f"sqlite:///{tmp_path_factory.mktemp('keys-store') / 'mlruns.db'}"
    MlflowClient(uri).search_experiments()  # creates the tables
    return uri


# --- code ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("edited, expected", [
    ("models/detection/dbnet.py", {"train", "evaluate"}),  # imported inside functions of the train stage
    ("stages/synth/fonts.py", {"synth", "train", "evaluate"}),  # synth's code; train and evaluate downstream
    ("models/metrics/icdar15.py", {"train", "evaluate"}),  # train validates with evaluate's metrics
])
def test_editing_an_imported_module_changes_that_stage_and_its_descendants_only(tmp_path, edited, expected):
    config = validate_config({"name": "code", "stages": CODE_STAGES}, "test", STAGES)
    before = copy_project(tmp_path / "before")
    after = copy_project(tmp_path / "after")
    with open(after / edited, "a") as fh:
        fh.write("\n# an edit that changes no behaviour still changes the code\n")
    keys_before = {n: node.key for n, node in build_graph(config, STAGES, code_root=before).nodes.items()}
    keys_after = {n: node.key for n, node in build_graph(config, STAGES, code_root=after).nodes.items()}
    assert changed(keys_before, keys_after) == expected


def test_an_untouched_copy_of_the_project_keys_like_the_checkout(tmp_path):
    config = validate_config({"name": "code", "stages": CODE_STAGES}, "test", STAGES)
    copy = {n: node.key
            for n, node in build_graph(config, STAGES, code_root=copy_project(tmp_path / "p")).nodes.items()}
    assert copy == {n: node.key for n, node in build_graph(config, STAGES).nodes.items()}


# --- models:/ and runs:/ ---------------------------------------------------------------------------
def experiment_id(client: MlflowClient) -> str:
    """The tests' experiment, its artifacts beside the store's database (never in the working dir)."""
    found = client.get_experiment_by_name("keys")
    if found is not None:
        return found.experiment_id
    folder = Path(client.tracking_uri.removeprefix("sqlite:///")).parent / "mlartifacts"
    return client.create_experiment("keys", artifact_location=folder.as_uri())


def add_version(client: MlflowClient, name: str, sha: str) -> str:
    run = client.create_run(experiment_id(client))
    try:
        client.create_registered_model(name)
    except Exception:
        pass  # already there
    return client.create_model_version(name, source=f"file:///nowhere/{sha}", run_id=run.info.run_id,
                                       tags={"model.sha256": sha}).version


def test_a_stage_runs_on_the_version_its_key_was_computed_from(home, store):
    client = MlflowClient(store, store)
    name = f"det-{uuid.uuid4().hex[:8]}"
    first, second = add_version(client, name, "a" * 64), add_version(client, name, "b" * 64)
    client.set_registered_model_alias(name, "champion", first)
    config = write_config(home, {"synth": SYNTH, "train": {**TRAIN, "init": f"models:/{name}@champion"}})
    graph = prepare(RunOptions(str(config), tracking_uri=store), STAGES).graph
    client.set_registered_model_alias(name, "champion", second)  # moves after planning, before the stage runs
    assert pinned_params(graph.nodes["train"]).init == f"models:/{name}/{first}"
    assert graph.nodes["train"].spec.params.init == f"models:/{name}@champion"  # the config stays as written


def test_moving_the_champion_alias_changes_the_key_of_a_stage_starting_from_it(home, store):
    client = MlflowClient(store, store)
    name = f"det-{uuid.uuid4().hex[:8]}"
    first, second = add_version(client, name, "a" * 64), add_version(client, name, "b" * 64)
    client.set_registered_model_alias(name, "champion", first)
    train = {**TRAIN, "init": f"models:/{name}@champion"}
    config = write_config(home, {"synth": SYNTH, "train": train, "evaluate": EVALUATE})
    on_first = keys_of(config, store)
    client.set_registered_model_alias(name, "champion", second)
    on_second = keys_of(config, store)
    assert changed(on_first, on_second) == {"train", "evaluate"}
    # Keyed by what the alias names, not by how it is written.
    pinned = write_config(home, {"synth": SYNTH, "train": {**TRAIN, "init": f"models:/{name}/{second}"},
                                 "evaluate": EVALUATE})
    assert keys_of(pinned, store) == on_second


def test_a_runs_uri_is_keyed_by_the_artifact_content(home, store, monkeypatch):
    monkeypatch.chdir(home)  # whatever MLflow writes by default lands in tmp_path
    client = MlflowClient(store)
    run_id = client.create_run(experiment_id(client)).info.run_id
    weights = home / "ckpt" / "checkpoint.pt"
    weights.parent.mkdir()
    weights.write_bytes(b"first")
    client.log_artifact(run_id, str(weights), "model")
    config = write_config(home, {"synth": SYNTH, "train": {**TRAIN, "init": f"runs:/{run_id}/model"}})
    first = keys_of(config, store)
    weights.write_bytes(b"other")
    client.log_artifact(run_id, str(weights), "model")  # the same artifact path, new bytes
    assert changed(first, keys_of(config, store)) == {"train"}


# --- local paths ---------------------------------------------------------------------------------
def dataset_folder(folder: Path, files: int = 5) -> Path:
    for i in range(files):
        path = folder / "sub" / f"img_{i}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"image {i}")
        os.utime(path, (OLD, OLD))
    return folder


DOWNSTREAM = {"after": {"type": "smoke", "inputs": {"up": "data"}}, "other": {"type": "smoke"}}


def test_changing_one_file_of_a_download_path_changes_its_key_and_its_descendants(home, store):
    data = dataset_folder(home / "dataset")
    config = write_config(home, {"data": {"type": "download", "name": "ds", "path": str(data)}, **DOWNSTREAM})
    before = keys_of(config, store)
    (data / "sub" / "img_3.txt").write_text("IMAGE 3")  # same size, other bytes
    os.utime(data / "sub" / "img_3.txt", (OLD + 10, OLD + 10))
    assert changed(before, keys_of(config, store)) == {"data", "after"}


def test_an_unchanged_folder_is_answered_by_the_digest_cache(tmp_path):
    from pipeline.digests import DigestCache
    from pipeline.references import ReferenceResolver

    data = dataset_folder(tmp_path / "dataset", files=20)
    config = validate_config({"name": "c", "stages": {"data": {"type": "download", "name": "ds", "path": str(data)}}},
                             "test", STAGES)
    cold = DigestCache(tmp_path / "digests.sqlite")
    key = build_graph(config, STAGES, resolver=ReferenceResolver(None, cold)).nodes["data"].key
    assert (cold.hashed, cold.reused) == (20, 0)
    warm = DigestCache(tmp_path / "digests.sqlite")  # a later run: a new process, the same cache file
    assert build_graph(config, STAGES, resolver=ReferenceResolver(None, warm)).nodes["data"].key == key
    assert (warm.hashed, warm.reused) == (0, 20)
    (data / "sub" / "img_0.txt").write_text("new")
    os.utime(data / "sub" / "img_0.txt", (OLD + 10, OLD + 10))
    after = DigestCache(tmp_path / "digests.sqlite")
    assert build_graph(config, STAGES, resolver=ReferenceResolver(None, after)).nodes["data"].key != key
    assert (after.hashed, after.reused) == (1, 19)


def test_a_var_in_a_path_param_is_keyed_by_its_expanded_value(home, store, monkeypatch):
    first, second = dataset_folder(home / "one"), dataset_folder(home / "two", files=3)
    config = write_config(home, {"data": {"type": "download", "name": "ds", "path": "$KEYS_DATA"}, **DOWNSTREAM})
    monkeypatch.setenv("KEYS_DATA", str(first))
    on_first = keys_of(config, store)
    monkeypatch.setenv("KEYS_DATA", str(second))
    assert changed(on_first, keys_of(config, store)) == {"data", "after"}
    spelled_out = write_config(home, {"data": {"type": "download", "name": "ds", "path": str(first)}, **DOWNSTREAM})
    assert keys_of(spelled_out, store) == on_first


def test_synth_folders_are_keyed_by_content(home, store):
    fonts = dataset_folder(home / "fonts")
    config = write_config(home, {"synth": {**SYNTH, "font_dir": str(fonts)}})
    before = keys_of(config, store)
    (fonts / "sub" / "extra.ttf").write_bytes(b"font")
    assert changed(before, keys_of(config, store)) == {"synth"}


# --- unresolvable references --------------------------------------------------------------------
def test_unresolvable_references_are_config_errors_naming_their_key_path(home, store, monkeypatch):
    monkeypatch.delenv("KEYS_UNSET", raising=False)
    stages = {"synth": {**SYNTH, "background_dir": str(home / "missing")},
              "train": {**TRAIN, "init": "models:/no-such-model@champion"},
              "data": {"type": "download", "name": "ds", "path": "$KEYS_UNSET/data"}}
    with pytest.raises(ConfigError) as info:
        prepare(RunOptions(str(write_config(home, stages)), dry_run=True, tracking_uri=store), STAGES)
    problems = sorted(info.value.problems)
    assert [p.split(":")[0] for p in problems] == [
        "stages.data.path", "stages.synth.background_dir", "stages.train.init"]
    assert problems[0] == ("stages.data.path: '$KEYS_UNSET/data': environment variable not set "
                           "(expanded to '$KEYS_UNSET/data')")
    assert problems[1] == (f"stages.synth.background_dir: '{home / 'missing'}': "
                           f"no file or folder at {home / 'missing'}")
    assert problems[2].startswith("stages.train.init: models:/no-such-model@champion: "
                                  "no registered model named 'no-such-model'")


# --- the register stage's registry ---------------------------------------------------------------
def plan_action(config: Path, uri: str, stage: str, capsys) -> str:
    run_pipeline(RunOptions(str(config), dry_run=True, tracking_uri=uri), STAGES)
    out = capsys.readouterr().out
    fields = next(line.split() for line in out.splitlines() if line.split()[1:2] == [stage])
    return "cache hit" if fields[4] == "cache" else fields[4]  # columns: #, stage, type, key, action, inputs


def test_register_reruns_when_its_registry_no_longer_holds_the_version(home, store, tmp_path_factory, capsys):
    from pipeline.artifacts import ArtifactStore

    stages = {"synth": SYNTH, "train": TRAIN,
              "register": {"type": "register", "inputs": {"model": "train.model"}, "name": "keys-det"}}
    config = write_config(home, stages)
    inv = prepare(RunOptions(str(config), tracking_uri=store), STAGES)
    # The register stage's output as a run against ``store`` leaves it: version N, made by the stage's run.
    client = MlflowClient(store, store)
    version = add_version(client, "keys-det", "c" * 64)
    run_id = client.get_model_version("keys-det", version).run_id
    artifacts = ArtifactStore(inv.store.root)
    staging = artifacts.begin("register", inv.graph.nodes["register"].key)
    (staging.local_dir / "registration.json").write_text("{}")
    artifacts.commit(staging, {"stage": "register", "key": inv.graph.nodes["register"].key, "run_id": run_id,
                               "extra": {"name": "keys-det", "version": version}, "outputs": {}})
    assert plan_action(config, store, "register", capsys) == "cache hit"

    empty = f"sqlite:///{tmp_path_factory.mktemp('empty-store') / 'mlruns.db'}"
    assert plan_action(config, empty, "register", capsys) == "run"  # another registry: another key

    client.delete_model_version("keys-det", version)  # the same registry, wiped of that version
    assert plan_action(config, store, "register", capsys) == "run"


def test_local_backbone_weights_are_keyed_by_content_and_a_url_as_written(home, store):
    weights = home / "resnet.pth"
    weights.write_bytes(b"weights v1")
    model = {"arch": "dbnet", "backbone": {"name": "tiny", "init": str(weights)}}
    config = write_config(home, {"synth": SYNTH, "train": {**TRAIN, "model": model}})
    before = keys_of(config, store)
    weights.write_bytes(b"weights v2")
    assert changed(before, keys_of(config, store)) == {"train"}
    # A URL is keyed as written (nothing is fetched to key it): another URL, another key.
    remote = [write_config(home, {"synth": SYNTH, "train": {**TRAIN, "model": {
        "arch": "dbnet", "backbone": {"name": "tiny", "init": f"https://example.invalid/{name}.pth"}}}})
        for name in ("a", "b")]
    assert changed(keys_of(remote[0], store), keys_of(remote[1], store)) == {"train"}


# --- environment -----------------------------------------------------------------------------------
def test_a_hit_made_under_other_library_versions_stays_a_hit_and_is_reported(home, caplog):
    from pipeline.environment import library_versions
    from pipeline.executor import make_plan

    inv = prepare(RunOptions(str(write_config(home, {"a": {"type": "smoke"}})), tracking_uri=None), STAGES)
    staging = inv.store.begin("a", inv.graph.nodes["a"].key)
    older = {**library_versions(), "torch": "0.0.1"}
    inv.store.commit(staging, {"stage": "a", "key": inv.graph.nodes["a"].key, "outputs": {}, "environment": older})
    with caplog.at_level("WARNING", logger="pipeline"):
        plan = make_plan(inv.graph, inv.store, inv.names, [], inv.tracking_uri)
    assert [step.action for step in plan] == ["cache hit"]
    assert caplog.messages == [
        f"stage a: cache hit produced under other versions: torch 0.0.1 -> {library_versions()['torch']}"]
