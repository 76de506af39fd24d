"""Registered models load anywhere: ``mlflow.pyfunc.load_model("models:/NAME@champion")`` in a fresh process and
``mlflow models serve`` over HTTP give the polygons of the project's own inference (the evaluate stage's
predictor reading the image files); the register stage registers the train stage's logged model (the version's
run is the training run, tagged with the evaluation run), or logs one itself when there is none.
"""
from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import cv2
import mlflow
import numpy as np
import pandas as pd
import pytest

from models import mlflow_registry as registry, pyfunc
from pipeline.stage import LocalContext
from stages.register.stage import RegisterParams, run as register_run
from tests.conftest import ROOT
from tests.pipeline.processes import free_port
from tests.stages.evaluate.evalsets import save_tiny_checkpoint

# The random tiny DBNet of seed 3 gives probabilities of 0.58-0.63 on these images: binarised at 0.62 they
# make several polygons per image.
SETTINGS = {"image_size": 128, "thresh": 0.62, "box_thresh": 0.0}


def write_images(folder: Path) -> list[Path]:
    """Two PNG files with dark words on light backgrounds, of different sizes."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for k, (h, w) in enumerate(((96, 128), (120, 90))):
        image = np.full((h, w, 3), (200 + 20 * k, 210, 190), np.uint8)
        cv2.putText(image, "SCENE", (5, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (20, 30, 40), 2)
        cv2.putText(image, "text", (10, 80), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (40, 20, 20), 2)
        paths.append(folder / f"img{k}.png")
        cv2.imwrite(str(paths[-1]), image)
    return paths


def as_b64(paths: list[Path]) -> list[str]:
    return [base64.b64encode(p.read_bytes()).decode("ascii") for p in paths]


def project_polygons(checkpoint: Path, paths: list[Path], settings: dict) -> list[dict]:
    """The project's own inference, as the evaluate stage runs it: its predictor over the image files."""
    from models.checkpoint import load_predictor
    from models.detection.predictor import ImageFile
    from models.detection.serving import DEFAULTS

    full = {**DEFAULTS, **settings}
    options = {k: v for k, v in full.items() if k != "image_size"}
    found = load_predictor(checkpoint).predict([ImageFile(p.stem, p) for p in paths], image_size=full["image_size"],
                                               batch_size=1, options=options)
    return [{"polygons": [np.asarray(poly).reshape(-1, 2).tolist() for poly, _ in found[p.stem]],
             "scores": [float(s) for _, s in found[p.stem]]} for p in paths]


def stage_folder(root: Path, stage: str, key: str, output: str, path: str, run_id: str, extra: dict) -> Path:
    """``<root>/<stage>/<key>/<path>`` with the manifest the engine writes beside it."""
    folder = root / stage / key
    (folder / path).mkdir(parents=True)
    manifest = {"stage": stage, "key": key, "outputs": {output: {"path": path, "digest": f"{key}-digest"}},
                "inputs": {}, "datasets": [], "run_id": run_id, "extra": extra}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder / path


def new_run(client, name: str, artifacts: Path) -> str:
    experiment = client.get_experiment_by_name("pyfunc-tests")
    experiment_id = experiment.experiment_id if experiment else client.create_experiment(
        "pyfunc-tests", artifact_location=artifacts.as_uri())
    return client.create_run(experiment_id, run_name=name).info.run_id


def trained_and_evaluated(root: Path, store: str, logged: bool) -> tuple[dict[str, Path], str, str]:
    """A train output (with its logged MLflow model when ``logged``) and an evaluate report of it, laid out as
    the engine does; (inputs, train run id, evaluate run id)."""
    from pipeline.artifacts import file_sha256

    client = registry.registry_client(store)
    train_run, eval_run = (new_run(client, stage, root / "mlartifacts") for stage in ("train", "evaluate"))
    model = root / "scratch"
    save_tiny_checkpoint(model, seed=3)
    extra = {}
    if logged:
        extra["mlflow_models"] = {"model": pyfunc.log_on_run(store, train_run, model / "checkpoint.pt",
                                                             settings=SETTINGS)}
    folder = stage_folder(root, "finetune", "t1", "model", "model", train_run, extra)
    (model / "checkpoint.pt").rename(folder / "checkpoint.pt")
    report = stage_folder(root, "evaluate", "e1", "report", "report", eval_run, {})
    (report / "metrics.json").write_text(json.dumps({"protocol": "icdar15", "metrics": {"test.hmean": 0.5},
                                                     "models": {"model": {"sha256": file_sha256(
                                                         folder / "checkpoint.pt")}}}))
    return {"model": folder, "eval": report}, train_run, eval_run


@pytest.fixture(scope="module")
def registered(tmp_path_factory) -> dict:
    """A train stage's logged model registered by the register stage (called directly) in a SQLite store."""
    tmp = tmp_path_factory.mktemp("pyfunc")
    store = f"sqlite:///{tmp / 'mlruns.db'}"
    inputs, train_run, eval_run = trained_and_evaluated(tmp / "artifacts", store, logged=True)
    name = f"det-{uuid.uuid4().hex[:8]}"
    out = tmp / "out"
    out.mkdir()
    register_run(RegisterParams(name=name, benchmark_metric="test.hmean", tracking_uri=store), inputs, out,
                 LocalContext("register"))
    images = write_images(tmp / "images")
    return {"store": store, "name": name, "train_run": train_run, "eval_run": eval_run, "images": images,
            "checkpoint": inputs["model"] / "checkpoint.pt", "registration": json.loads((out / OUT).read_text())}


OUT = "registration.json"


def fresh_env(store: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "MLFLOW_TRACKING_URI": store}


def test_registered_version_is_the_training_runs_logged_model_linked_to_its_evaluation(registered):
    client = registry.registry_client(registered["store"])
    version = client.get_model_version(registered["name"], "1")
    assert version.run_id == registered["train_run"]
    assert version.tags["eval_run_id"] == registered["eval_run"]
    assert registered["eval_run"] in version.description and registered["train_run"] in version.description
    logged = client.get_logged_model(registered["registration"]["model_id"])
    assert logged.source_run_id == registered["train_run"] and logged.model_id in version.source
    assert json.loads(logged.tags["mlflow.modelVersions"]) == [{"name": registered["name"], "version": "1"}]
    assert (logged.params["arch"], logged.params["backbone"], logged.params["step"]) == ("dbnet", "tiny", "0")
    assert logged.params["settings.image_size"] == "128" and logged.params["settings.thresh"] == "0.62"
    assert version.tags["model.arch"] == "dbnet" and len(version.tags["model.sha256"]) == 64


def test_pyfunc_load_model_in_a_fresh_process_predicts_the_projects_polygons(registered):
    uri = f"models:/{registered['name']}@champion"
    script = ("import json, sys, mlflow, pandas as pd\n"
              f"model = mlflow.pyfunc.load_model({uri!r})\n"
              "images = json.load(sys.stdin)\n"
              "print('RESULT' + json.dumps(model.predict(pd.DataFrame({'image': images}))))\n")
    done = subprocess.run([sys.executable, "-c", script], input=json.dumps(as_b64(registered["images"])),
                          capture_output=True, text=True, env=fresh_env(registered["store"]), cwd="/", timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    got = json.loads(done.stdout.split("RESULT", 1)[1])
    expected = project_polygons(registered["checkpoint"], registered["images"], SETTINGS)
    assert got == expected
    assert all(len(image["polygons"]) >= 2 for image in got)  # a real comparison, not of empty lists


def test_project_loader_reads_the_registered_pyfunc_model(registered):
    import torch

    from models.checkpoint import load, load_checkpoint

    mlflow.set_tracking_uri(registered["store"])
    module = load(f"models:/{registered['name']}@champion")
    trained = load_checkpoint(registered["checkpoint"])["state_dict"]
    assert all(torch.equal(module.state_dict()[k], trained[k]) for k in trained)


def wait_ping(server: subprocess.Popen, url: str, log: Path, timeout_s: float) -> None:
    """Until ``url`` answers; fails at once, with the server's output, when the server exits first."""
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"mlflow models serve exited with {server.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"{url} did not answer within {timeout_s}s:\n{log.read_text()[-3000:]}")


@pytest.mark.slow
def test_mlflow_models_serve_answers_with_the_projects_polygons(registered, tmp_path):
    port = free_port()
    cmd = [sys.executable, "-m", "mlflow", "models", "serve", "-m", f"models:/{registered['name']}@champion",
           "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port), "-w", "1"]
    # The server execs `uvicorn` by name: the environment's bin folder must be on PATH (an activated venv).
    env = {**fresh_env(registered["store"]),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        server = subprocess.Popen(cmd, env=env, cwd="/", stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_ping(server, f"http://127.0.0.1:{port}/ping", log, timeout_s=180)
        body = json.dumps({"dataframe_records": [{"image": b64} for b64 in as_b64(registered["images"])]})
        request = urllib.request.Request(f"http://127.0.0.1:{port}/invocations", data=body.encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=120) as response:
            got = json.loads(response.read())["predictions"]
    finally:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=30)
    assert got == project_polygons(registered["checkpoint"], registered["images"], SETTINGS)
    assert all(len(image["polygons"]) >= 2 for image in got)


def test_without_a_logged_model_the_register_run_logs_a_loadable_one(tmp_path):
    store = f"sqlite:///{tmp_path / 'mlruns.db'}"
    inputs, train_run, eval_run = trained_and_evaluated(tmp_path / "artifacts", store, logged=False)
    name = f"det-{uuid.uuid4().hex[:8]}"
    register_run(RegisterParams(name=name, tracking_uri=store), inputs, tmp_path, LocalContext("register"))
    client = registry.registry_client(store)
    version = client.get_model_version(name, "1")
    registration = json.loads((tmp_path / OUT).read_text())
    assert version.run_id not in (train_run, eval_run) and client.get_run(version.run_id).info.run_name == "register"
    assert version.tags["eval_run_id"] == eval_run and registration["model_id"] in version.source
    mlflow.set_tracking_uri(store)
    images = write_images(tmp_path / "images")
    got = mlflow.pyfunc.load_model(f"models:/{name}/1").predict(pd.DataFrame({"image": as_b64(images)}))
    # The register run saved it with the task's default settings.
    assert got == project_polygons(inputs["model"] / "checkpoint.pt", images, {})


def test_bad_input_names_the_row(registered):
    mlflow.set_tracking_uri(registered["store"])
    model = mlflow.pyfunc.load_model(f"models:/{registered['name']}@champion")
    good = as_b64(registered["images"][:1])[0]
    with pytest.raises(ValueError, match="row 1: 'image' is not valid base64"):
        model.predict(pd.DataFrame({"image": [good, "not base64!"]}))
    with pytest.raises(ValueError, match="row 0: 'image' does not decode to an image"):
        model.predict(pd.DataFrame({"image": [base64.b64encode(b"plain text").decode()]}))


def test_unknown_inference_setting_lists_the_valid_ones(tmp_path):
    save_tiny_checkpoint(tmp_path)
    with pytest.raises(KeyError, match="unknown inference setting.*'size'.*valid: box_thresh, image_size"):
        pyfunc.save(tmp_path / "checkpoint.pt", tmp_path / "m", {"size": 64})


def test_register_output_stays_valid_only_while_the_registry_holds_that_model(registered):
    from stages.register.stage import still_registered

    reg = registered["registration"]
    manifest = {"run_id": "the-register-run", "extra": {"name": registered["name"], "version": reg["version"],
                                                        "model_id": reg["model_id"],
                                                        "source_run_id": registered["train_run"]}}
    assert still_registered(manifest, registered["store"]) is True
    other_model = {**manifest, "extra": {**manifest["extra"], "model_id": "m-0123456789abcdef"}}
    assert still_registered(other_model, registered["store"]) is False
    other_run = {**manifest, "extra": {**manifest["extra"], "source_run_id": registered["eval_run"]}}
    assert still_registered(other_run, registered["store"]) is False
