"""The model registry: the register stage, champion promotion, models:/ resolution, the `models` CLI.

Every test runs twice: against the default SQLite store and against a real `mlflow server` on 127.0.0.1
that serves the artifacts itself (``mlflow-artifacts:/`` URIs), so a client downloads a model over HTTP
and never sees the server's files.
"""
from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path

import mlflow
import pandas as pd
import pytest
import torch

from models import mlflow_registry as registry
from pipeline.stage import LocalContext
from stages.register.stage import RegisterParams, run as register_run
from tests.commands import main
from tests.pipeline.processes import MlflowServer
from tests.stages.evaluate.evalsets import save_tiny_checkpoint


class ProxiedMlflowServer(MlflowServer):
    """`mlflow server` that stores and serves artifacts itself: runs get ``mlflow-artifacts:/`` URIs."""

    artifact_flag = "--artifacts-destination"


# One store of each kind for the whole session, shared with test_infer (which imports these fixtures: an
# imported fixture is a second definition, so the instances live here, not in pytest's fixture cache).
_STORES: dict[str, str] = {}


@pytest.fixture(scope="session")
def sqlite_store(tmp_path_factory) -> str:
    """The default kind of store: a SQLite file."""
    if "sqlite" not in _STORES:
        _STORES["sqlite"] = f"sqlite:///{tmp_path_factory.mktemp('store-sqlite') / 'mlruns.db'}"
    return _STORES["sqlite"]


@pytest.fixture(scope="session")
def server_store(tmp_path_factory, request) -> str:
    """A live MLflow server serving its own artifacts, started once per session."""
    if "server" not in _STORES:
        server = ProxiedMlflowServer(tmp_path_factory.mktemp("store-server"), sys.executable)
        server.start()
        request.config.add_cleanup(server.stop)  # at the end of the session
        _STORES["server"] = server.uri
    return _STORES["server"]


@pytest.fixture(params=["sqlite", "server"])
def store(request) -> str:
    """Each test runs against both stores (the session keeps one of each)."""
    return request.getfixturevalue(f"{request.param}_store")


def unique(prefix: str = "det") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def fake_pipeline(root: Path, hmean: float | None, seed: int, testset: str = "A",
                  protocol: str = "icdar15") -> dict[str, Path]:
    """Stage folders as the engine lays them out (``<root>/<stage>/<key>/`` + manifest.json): a synth
    dataset, a trained model that consumed it, and an evaluation report of that model (on the test split
    whose content is named by ``testset``, with ``protocol``)."""
    def stage(name: str, key: str, outputs: dict, inputs: dict, datasets: list) -> Path:
        folder = root / name / key
        folder.mkdir(parents=True)
        manifest = {"stage": name, "key": key, "outputs": outputs, "inputs": inputs, "datasets": datasets}
        (folder / "manifest.json").write_text(json.dumps(manifest))
        return folder

    stage("synth", f"s{seed}", {"train": {"path": "train", "digest": f"train-digest-{seed}"},
                                "test": {"path": "test", "digest": f"test-digest-{testset}"}}, {}, ["train", "test"])
    train = stage("finetune", f"t{seed}", {"model": {"path": "model", "digest": "m"}},
                  {"synth": {"stage": "synth", "key": f"s{seed}", "output": "train"}}, [])
    model = save_tiny_checkpoint(train / "model", seed=seed)
    out = {"model": model}
    if hmean is not None:
        evaluate = stage("evaluate", f"e{seed}", {"report": {"path": "report", "digest": "r"}},
                         {"test": {"stage": "synth", "key": f"s{seed}", "output": "test"},
                          "model": {"stage": "finetune", "key": f"t{seed}", "output": "model"}}, [])
        sha = registry_sha(model / "checkpoint.pt")
        (evaluate / "report").mkdir()
        (evaluate / "report" / "metrics.json").write_text(json.dumps(
            {"protocol": protocol, "metrics": {"test.hmean": hmean, "test.precision": 0.9},
             "models": {"model": {"sha256": sha}}}))
        out["eval"] = evaluate / "report"
    return out


def registry_sha(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def register(store: str, tmp_path: Path, name: str, hmean: float | None, seed: int, **evaluation: str) -> dict:
    inputs = fake_pipeline(tmp_path / f"art{seed}", hmean, seed, **evaluation)
    params = RegisterParams(name=name, benchmark_metric="test.hmean", tracking_uri=store)
    out = tmp_path / f"out{seed}"
    out.mkdir()
    result = register_run(params, inputs, out, LocalContext("register"))
    assert result.outputs == {"registration": "registration.json"}
    return json.loads((out / "registration.json").read_text())


def test_champion_moves_only_to_a_better_model_and_the_comparison_is_recorded(store, tmp_path):
    name = unique()
    client = registry.registry_client(store)
    first = register(store, tmp_path, name, 0.5, seed=1)
    assert (first["version"], first["decision"], sorted(first["aliases"])) == (
        "1", "promoted", ["candidate", "champion"])

    better = register(store, tmp_path, name, 0.7, seed=2)
    assert better["decision"] == "promoted" and better["champion_before"] == "1" and better["champion_value"] == 0.5
    assert str(registry.get_alias_version(client, name, "champion").version) == "2"

    worse = register(store, tmp_path, name, 0.6, seed=3)
    assert worse["decision"] == "kept" and worse["aliases"] == ["candidate"]
    assert str(registry.get_alias_version(client, name, "champion").version) == "2"
    assert str(registry.get_alias_version(client, name, "candidate").version) == "3"
    tags = client.get_model_version(name, "3").tags
    assert tags["champion.decision"] == "kept" and tags["champion.compared_with"] == "2"
    assert float(tags["champion.value"]) == 0.6 and float(tags["champion.compared_value"]) == 0.7
    assert "0.6000 <= 0.7000 of v2" in tags["champion.reason"]
    # What the version records: metrics, the upstream datasets' digests, the checkpoint itself.
    assert float(tags["metric.test.hmean"]) == 0.6 and float(tags["metric.test.precision"]) == 0.9
    assert tags["dataset.synth.train"] == "train-digest-3" and tags["dataset.synth.test"] == "test-digest-A"
    assert tags["model.arch"] == "dbnet" and tags["model.step"] == "0" and len(tags["model.sha256"]) == 64
    assert tags.get("git_commit")


def test_champion_is_compared_only_on_the_same_test_set_and_protocol(store, tmp_path):
    name = unique()
    client = registry.registry_client(store)
    register(store, tmp_path, name, 0.5, seed=1, testset="A")
    other_set = register(store, tmp_path, name, 0.9, seed=2, testset="B")
    assert (other_set["decision"], other_set["aliases"]) == ("kept", ["candidate"])
    assert "champion evaluated on a different test set (digest test-digest-A" in other_set["reason"]
    other_protocol = register(store, tmp_path, name, 0.9, seed=3, testset="A", protocol="deteval")
    assert (other_protocol["decision"], other_protocol["aliases"]) == ("kept", ["candidate"])
    assert "different protocol (icdar15, this version deteval)" in other_protocol["reason"]
    assert str(registry.get_alias_version(client, name, "champion").version) == "1"
    tags = client.get_model_version(name, "2").tags
    assert tags["champion.decision"] == "kept" and "different test set" in tags["champion.reason"]
    assert (tags["eval.data.test"], tags["eval.protocol"]) == ("test-digest-B", "icdar15")
    # like with like: the same test set and protocol, a better score, takes the champion
    alike = register(store, tmp_path, name, 0.6, seed=4, testset="A")
    assert (alike["decision"], alike["champion_before"]) == ("promoted", "1")
    assert str(registry.get_alias_version(client, name, "champion").version) == "4"


def test_equal_score_and_unscored_versions_do_not_take_the_champion(store, tmp_path):
    name = unique()
    register(store, tmp_path, name, 0.5, seed=1)
    tie = register(store, tmp_path, name, 0.5, seed=2)
    assert tie["decision"] == "kept"
    unscored = register(store, tmp_path, name, None, seed=3)
    assert unscored["decision"] == "not_compared" and "has no 'test.hmean'" in unscored["reason"]
    client = registry.registry_client(store)
    assert str(registry.get_alias_version(client, name, "champion").version) == "1"
    assert str(registry.get_alias_version(client, name, "candidate").version) == "3"


def test_models_uris_resolve_to_the_registered_checkpoint(store, tmp_path):
    from models.checkpoint import load_checkpoint
    from stages.train.stage import resolve_init

    name = unique()
    register(store, tmp_path, name, 0.5, seed=4)
    register(store, tmp_path, name, 0.4, seed=5)
    expected = {v: torch.load(tmp_path / f"art{s}" / "finetune" / f"t{s}" / "model" / "checkpoint.pt")["state_dict"]
                for v, s in (("1", 4), ("2", 5))}
    mlflow.set_tracking_uri(store)
    for uri, version in ((f"models:/{name}@champion", "1"), (f"models:/{name}@candidate", "2"),
                         (f"models:/{name}/2", "2")):
        state = load_checkpoint(uri)["state_dict"]
        assert all(torch.equal(state[k], expected[version][k]) for k in state), uri
    # A train stage's `init: models:/NAME@champion` resolves in the pipeline's store (set from the stage's run).
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'elsewhere.db'}")
    init = resolve_init(f"models:/{name}@champion", {}, store)
    # A registered model carries the slim checkpoint: the same weights, no optimizer state.
    slim = load_checkpoint(init)
    state = slim["state_dict"]
    assert all(torch.equal(state[k], expected["1"][k]) for k in expected["1"]) and slim["optimizer"] is None
    version = registry.registry_client(store).get_model_version(name, "1")
    assert version.source.startswith("mlflow-artifacts:/" if store.startswith("http") else "file://")


def test_missing_model_version_or_alias_lists_what_the_registry_holds(store, tmp_path):
    name = unique()
    register(store, tmp_path, name, 0.5, seed=6)
    client = registry.registry_client(store)
    for uri, problem in ((f"models:/{name}-nope@champion", "no registered model named"),
                         (f"models:/{name}@gold", "has no alias 'gold'"), (f"models:/{name}/9", "has no version '9'")):
        with pytest.raises(registry.ModelNotFound) as err:
            registry.check_model_uri(uri, client)
        assert problem in str(err.value) and f"{name} (@candidate=v1, @champion=v1)" in str(err.value)


def test_models_cli_list_show_promote_alias(store, tmp_path, capsys):
    name = unique()
    register(store, tmp_path, name, 0.7, seed=7)
    register(store, tmp_path, name, 0.6, seed=8)
    capsys.readouterr()
    assert main(["models", "--tracking-uri", store, "list"]) == 0
    listing = capsys.readouterr().out
    assert f"{name}" in listing and "2 (newest v2)" in listing and "candidate=v2, champion=v1" in listing
    assert main(["models", "--tracking-uri", store, "promote", name, "2"]) == 0
    assert "@champion -> v2 (was v1)" in capsys.readouterr().out
    assert main(["models", "alias", name, "staging", "1", "--tracking-uri", store]) == 0
    assert main(["models", "--tracking-uri", store, "show", name]) == 0
    shown = capsys.readouterr().out
    assert ("v2 @candidate @champion" in shown and "v1 @staging" in shown
            and "champion.reason = promoted by hand" in shown)
    assert main(["models", "--tracking-uri", store, "promote", name, "7"]) == 2
    assert "has no version '7'" in capsys.readouterr().err
    assert main(["models", "--tracking-uri", store, "show", "nothing-" + name]) == 2


def test_register_stage_refuses_bad_inputs_and_runs_without_tracking(tmp_path):
    inputs = fake_pipeline(tmp_path / "art", 0.5, seed=9)
    ctx = LocalContext("register")
    with pytest.raises(RuntimeError, match="no MLflow run to log the model on"):
        register_run(RegisterParams(name="x"), inputs, tmp_path, ctx)
    with pytest.raises(ValueError, match="inputs must be 'model'"):
        register_run(RegisterParams(name="x"), {"eval": inputs["eval"]}, tmp_path, ctx)
    other = fake_pipeline(tmp_path / "other", 0.5, seed=10)
    with pytest.raises(ValueError, match="scored a model with sha256"):
        register_run(RegisterParams(name="x", tracking_uri=f"sqlite:///{tmp_path / 'm.db'}"),
                     {"model": inputs["model"], "eval": other["eval"]}, tmp_path, ctx)


def test_lineage_walks_manifests_back_through_the_artifact_root(tmp_path):
    inputs = fake_pipeline(tmp_path, 0.5, seed=11)
    assert registry.lineage_digests([inputs["model"], inputs["eval"]]) == {
        "dataset.synth.test": "test-digest-A", "dataset.synth.train": "train-digest-11"}
    # A dataset given directly counts itself; a path outside any stage folder adds nothing.
    (tmp_path / "synth" / "s11" / "train").mkdir()
    direct = registry.lineage_digests([tmp_path / "synth" / "s11" / "train", tmp_path])
    assert direct == {"dataset.synth.train": "train-digest-11"}



@pytest.mark.slow
def test_pipeline_trains_from_the_champion_and_registers_its_result(tmp_path, ray_local):
    """synth -> train (init: models:/NAME@champion) -> evaluate -> register, through the engine and SQLite."""
    from tests.pipeline.engine_helpers import Project

    project = Project(tmp_path, {})
    name = unique()
    seeded = fake_pipeline(tmp_path / "seed", 0.0, seed=12)  # the current champion: scored 0.0 on test.hmean
    register_run(RegisterParams(name=name, benchmark_metric="test.hmean", tracking_uri=project.tracking_uri), seeded,
                 tmp_path, LocalContext("register"))
    synth = {"type": "synth", "splits": {"train": 4, "test": 2}, "image_size": [64, 64], "font_size": [12, 20],
             "instances_per_image": [1, 2], "crops": False, "image_format": "png"}
    train = {"type": "train", "resources": {"num_cpus": 0}, "inputs": {"train": "synth.train"},
             "init": f"models:/{name}@champion",
             "data": {"datasets": [{"input": "train", "ratio": 1.0}], "batch_size": 2, "image_size": 64,
                      "loader_workers": 0},
             "optim": {"bf16": False}, "schedule": {"steps": 2},
             "workers": {"cpus_each": 1, "storage_path": str(tmp_path / "ray")}}
    evaluate = {"type": "evaluate", "inputs": {"model": "train.model", "test": "synth.test"}, "image_size": 64,
                "num_render": 0}
    reg = {"type": "register", "inputs": {"model": "train.model", "eval": "evaluate.report"}, "name": name,
           "benchmark_metric": "test.hmean"}
    project = Project(tmp_path, {"synth": synth, "train": train, "evaluate": evaluate, "register": reg})
    report = project.run()
    assert report.count("done") == 4
    registration = project.manifest(report, "register")["extra"]
    assert registration["version"] == "2"
    client = registry.registry_client(project.tracking_uri)
    version = client.get_model_version(name, "2")
    runs = project.child_runs(report.parent_run_id)
    parent = client.get_run(report.parent_run_id)
    # The version is the train stage's logged model: its run is the training run, linked to the evaluation.
    assert version.run_id == runs["train"].info.run_id
    assert version.tags["eval_run_id"] == runs["evaluate"].info.run_id
    assert version.tags["register_run_id"] == runs["register"].info.run_id
    model_id = project.manifest(report, "train")["extra"]["mlflow_models"]["model"]
    assert client.get_logged_model(model_id).source_run_id == runs["train"].info.run_id and model_id in version.source
    assert version.tags["config_digest"] == parent.data.tags["config_digest"]
    assert version.tags["pipeline_run_id"] == report.parent_run_id
    synth_out = project.manifest(report, "synth")["outputs"]
    assert version.tags["dataset.synth.train"] == synth_out["train"]["digest"]
    assert version.tags["dataset.synth.test"] == synth_out["test"]["digest"]
    evaluated = project.manifest(report, "evaluate")["metrics"]
    assert float(version.tags["metric.test.hmean"]) == evaluated["test/test.hmean"]
    assert version.tags["model.step"] == "2"
    assert version.tags["champion.decision"] in ("promoted", "kept") and version.tags["champion.compared_with"] == "1"
    # It loads with MLflow alone and predicts what the project's own inference does.
    from tests.models.test_pyfunc import as_b64, project_polygons, write_images

    images = write_images(tmp_path / "images")
    mlflow.set_tracking_uri(project.tracking_uri)
    got = mlflow.pyfunc.load_model(f"models:/{name}/2").predict(pd.DataFrame({"image": as_b64(images)}))
    trained = tmp_path / "artifacts" / "train" / project.manifest(report, "train")["key"] / "model" / "checkpoint.pt"
    assert got == project_polygons(trained, images, {})

    # Against another store (seeded with the same champion, so the train stage's key is the same) train and
    # evaluate are cache hits whose logged model that store lacks: register logs the model on its own run.
    project.tracking_uri = f"sqlite:///{tmp_path / 'other.db'}"
    (tmp_path / "seed-out").mkdir()
    register_run(RegisterParams(name=name, benchmark_metric="test.hmean", tracking_uri=project.tracking_uri), seeded,
                 tmp_path / "seed-out", LocalContext("register"))
    again = project.run()
    assert [again.outcomes[s].status for s in ("train", "evaluate", "register")] == ["hit", "hit", "done"]
    other = registry.registry_client(project.tracking_uri).get_model_version(name, "2")
    assert other.run_id == project.child_runs(again.parent_run_id)["register"].info.run_id
    mlflow.set_tracking_uri(project.tracking_uri)
    assert mlflow.pyfunc.load_model(f"models:/{name}/2").predict(pd.DataFrame({"image": as_b64(images)})) == got


def _with_baseline(tmp_path: Path, hmean: float, baseline_hmean: float) -> dict[str, Path]:
    """fake_pipeline's model and evaluation, plus a second model the evaluation scored as its baseline."""
    inputs = fake_pipeline(tmp_path / "art", hmean, seed=11)
    baseline = save_tiny_checkpoint(tmp_path / "imported" / "model", seed=12)
    report = inputs["eval"] / "metrics.json"
    data = json.loads(report.read_text())
    data["metrics"].update({"baseline.test.hmean": baseline_hmean, "baseline.test.precision": 0.8})
    data["models"]["baseline"] = {"sha256": registry_sha(baseline / "checkpoint.pt")}
    report.write_text(json.dumps(data))
    return {**inputs, "baseline": baseline}


@pytest.mark.parametrize(("hmean", "baseline_hmean", "chosen"), [(0.5, 0.8, "baseline"), (0.8, 0.5, "model"),
                                                                 (0.6, 0.6, "model")])
def test_register_with_a_baseline_registers_the_better_of_the_two(sqlite_store, tmp_path, hmean, baseline_hmean,
                                                                  chosen):
    name, client = unique(), registry.registry_client(sqlite_store)
    inputs = _with_baseline(tmp_path, hmean, baseline_hmean)
    out = tmp_path / "out"
    out.mkdir()
    register_run(RegisterParams(name=name, benchmark_metric="test.hmean", tracking_uri=sqlite_store), inputs, out,
                 LocalContext("register"))
    registration = json.loads((out / "registration.json").read_text())
    assert registration["chosen"] == chosen
    tags = client.get_model_version(name, registration["version"]).tags
    winner = inputs[chosen] / "checkpoint.pt"
    assert tags["model.sha256"] == registry_sha(winner)
    assert float(tags["metric.test.hmean"]) == max(hmean, baseline_hmean)
    assert float(tags["metric.test.precision"]) == (0.8 if chosen == "baseline" else 0.9)


def test_register_with_a_baseline_needs_the_evaluation_of_both(tmp_path):
    inputs = _with_baseline(tmp_path, 0.5, 0.8)
    params = RegisterParams(name="x", benchmark_metric="test.recall", tracking_uri=f"sqlite:///{tmp_path / 'm.db'}")
    with pytest.raises(ValueError, match="no test.recall or baseline.test.recall"):
        register_run(params, inputs, tmp_path, LocalContext("register"))
    with pytest.raises(ValueError, match="needs an 'eval' input"):
        register_run(params, {"model": inputs["model"], "baseline": inputs["baseline"]}, tmp_path,
                     LocalContext("register"))
