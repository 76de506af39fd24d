"""The inference CLI: a registered model over generated images, checked against the evaluate stage.

The model is a tiny DBNet trained in-process for a few dozen steps on black images with white boxes
(enough for it to find them), registered in the store (SQLite, and a live `mlflow server` that serves the
artifacts itself), then run by ``python -m pipeline infer --model models:/NAME@ALIAS``.
"""
from __future__ import annotations

import io
import json
import uuid
from pathlib import Path

import cv2
import pytest

from models import mlflow_registry as registry
from models.metrics import evaluate_icdar15
from pipeline.stage import LocalContext
from stages.evaluate.formats import load_predictions
from stages.evaluate.infer import Progress
from stages.evaluate.inference import load_testset
from stages.evaluate.stage import EvaluateParams, run as evaluate_run
from tests.commands import main
from tests.models.test_mlflow_registry import server_store, sqlite_store, store  # noqa: F401  (both stores)
from tests.stages.evaluate.evalsets import make_testset

SIZE = 128


@pytest.fixture(autouse=True)
def one_torch_thread():
    """One intra-op thread: on 2 shared cores, torch's thread pool spinning against other processes
    makes these tiny convolutions up to 40x slower."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="session")
def trained(tmp_path_factory):
    """(test set folder, model folder): a tiny DBNet fitted to the test set's white boxes."""
    import torch

    import models
    from models.build import target_maker, validate_config
    from models.detection.predictor import normalise
    from stages.train.data import MixedDataset, collate, read_samples
    from stages.train.sampler import SampleRef

    root = tmp_path_factory.mktemp("infer")
    testset = make_testset(root / "testset")
    previous = torch.get_num_threads()
    torch.set_num_threads(1)  # see one_torch_thread (this fixture is set up before it)
    torch.manual_seed(0)
    cfg = validate_config(models.tiny_config("dbnet")).model_dump()
    model, loss_fn = models.build_model(cfg), models.build_loss(cfg)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    dataset = MixedDataset([read_samples(testset)], [], SIZE, target_maker(cfg), 0)
    batch = collate([dataset[SampleRef(0, i, i)] for i in range(3)])  # images (3, 128, 128, 3), maps (3, 128, 128)
    for _ in range(90):
        targets = {k: v for k, v in batch.items() if k not in ("image", "dataset")}
        losses = loss_fn(model(normalise(batch["image"])), targets)
        optimizer.zero_grad()
        losses["total"].backward()
        optimizer.step()
    torch.set_num_threads(previous)
    models.save_checkpoint(root / "model", cfg, model, step=90)
    return testset, root / "model"


def register_model(store: str, model: Path) -> str:
    """Log the checkpoint on a run of the store and register it; returns the registered name."""
    from mlflow import MlflowClient

    name = f"infer-{uuid.uuid4().hex[:8]}"
    client = MlflowClient(store)
    experiment = client.get_experiment_by_name("infer-test")
    location = (Path(store.removeprefix("sqlite:///")).parent / "art").as_uri() if store.startswith("sqlite") else None
    experiment_id = experiment.experiment_id if experiment else client.create_experiment("infer-test", location)
    run_id = client.create_run(experiment_id).info.run_id
    client.log_artifact(run_id, str(model / "checkpoint.pt"), "model")
    source = f"{client.get_run(run_id).info.artifact_uri}/model"
    registry.register_version(registry.registry_client(store), name, source, run_id, {}, None)
    return name


def test_infer_cli_on_a_registered_model_reevaluates_to_the_evaluate_stage(store, trained, tmp_path, capsys):
    testset, model = trained
    name = register_model(store, model)
    images = tmp_path / "images"
    images.mkdir()
    for file in (testset / "images").iterdir():
        (images / file.name).write_bytes(file.read_bytes())
    (images / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")  # unreadable: reported and skipped
    out = tmp_path / "out"
    argv = ["infer", "--model", f"models:/{name}@candidate", "--tracking-uri", store, "--images", str(images),
            "--out", str(out), "--batch-size", "2", "--image-size", str(SIZE)]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "skipped" in captured.err and "broken.png" in captured.err
    assert "3 images" in captured.out and "1 skipped" in captured.out

    summary = json.loads((out / "summary.json").read_text())
    assert summary["images"] == 3 and summary["skipped"][0]["path"].endswith("broken.png")
    assert summary["checkpoint_sha256"] == registry_sha(model / "checkpoint.pt")
    for k in (1, 2, 3):
        record = json.loads((out / "json" / f"img_{k}.json").read_text())
        assert record["file_name"] == f"img_{k}.png" and len(record["polygons"]) == len(record["scores"])
        assert all(len(p) >= 6 and len(p) % 2 == 0 for p in record["polygons"])
        assert (out / "res" / f"res_img_{k}.txt").is_file()
        drawn = cv2.imread(str(out / "vis" / f"img_{k}.jpg"))
        assert drawn is not None and drawn.shape[:2] == (record["height"], record["width"])
    assert summary["detections"] >= 3  # the fitted model finds the boxes

    # The ICDAR files re-evaluate to exactly what the evaluate stage reports for the same model and settings.
    truth = load_testset("t", testset)
    from_res = evaluate_icdar15(truth.gts, load_predictions(out / "res", gt_ids=truth.gts))
    from_json = evaluate_icdar15(truth.gts, load_predictions(out / "predictions.json", gt_ids=truth.gts))
    stage = evaluate_run(EvaluateParams(image_size=SIZE, num_render=0), {"model": model, "t": testset},
                         tmp_path / "eval", LocalContext("evaluate"))
    assert from_res.hmean == from_json.hmean == stage.metrics["test/t.hmean"]
    assert (from_res.precision, from_res.recall) == (stage.metrics["test/t.precision"], stage.metrics["test/t.recall"])
    assert from_res.hmean > 0.5


def registry_sha(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_infer_with_a_missing_model_or_alias_lists_the_registry(store, trained, tmp_path, capsys):
    testset, model = trained
    name = register_model(store, model)
    for uri, problem in ((f"models:/{name}@champion", "has no alias 'champion'"),
                         (f"models:/nothing-{name}@candidate", "no registered model named")):
        code = main(["infer", "--model", uri, "--tracking-uri", store, "--images", str(testset / "images"),
                     "--out", str(tmp_path / "out")])
        err = capsys.readouterr().err
        assert code == 2 and problem in err and f"{name} (@candidate=v1)" in err


def test_infer_from_a_local_checkpoint_over_a_glob_logs_progress_lines(trained, tmp_path, capsys):
    testset, model = trained
    out = tmp_path / "out"
    code = main(["infer", "--model", str(model), "--images", str(testset / "images" / "img_[12].png"),
                 "--out", str(out), "--image-size", str(SIZE), "--batch-size", "1", "--no-vis"])
    assert code == 0
    err = capsys.readouterr().err
    assert "infer: 1/2 images" in err and "infer: 2/2 images" in err and "\r" not in err  # not a tty: plain lines
    assert sorted(p.name for p in (out / "res").iterdir()) == ["res_img_1.txt", "res_img_2.txt"]
    assert not any((out / "vis").iterdir())


def test_bad_image_arguments_fail_with_a_message(tmp_path, capsys):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "x.png").write_bytes(b"")
    (tmp_path / "b" / "x.jpg").write_bytes(b"")
    assert main(["infer", "--model", "m.pt", "--images", str(tmp_path / "*" / "x.*"),
                 "--out", str(tmp_path / "o")]) == 2
    assert "same name stem 'x'" in capsys.readouterr().err
    assert main(["infer", "--model", "m.pt", "--images", str(tmp_path / "nothing*"), "--out", str(tmp_path / "o")]) == 2
    assert "matches no file" in capsys.readouterr().err
    missing = str(tmp_path / "none.pt")
    assert main(["infer", "--model", missing, "--images", str(tmp_path / "a"), "--out", str(tmp_path / "o")]) == 2
    assert "cannot load model" in capsys.readouterr().err


def test_progress_draws_a_bar_on_a_terminal():
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Terminal()
    progress = Progress(4, stream, width=8)
    progress.update(2)
    progress.update(4)
    progress.close()
    text = stream.getvalue()
    assert "\r[####....] 2/4 images" in text and "\r[########] 4/4 images" in text and text.endswith("\n")


def test_infer_names_the_frame_of_an_exif_rotated_photo(trained, tmp_path):
    from PIL import Image

    testset, model = trained
    with Image.open(testset / "images" / "img_1.png") as image:
        stored = image.convert("RGB")
    exif = Image.Exif()
    exif[0x0112] = 6  # shown rotated by 90 degrees
    photo = tmp_path / "photos" / "phone.jpg"
    photo.parent.mkdir()
    stored.crop((0, 0, stored.width, stored.height // 2)).save(photo, exif=exif.tobytes(), quality=95)
    width, height = stored.width, stored.height // 2
    for frame, size in (("exif_applied", (height, width)), ("stored", (width, height))):
        out = tmp_path / frame
        args = [] if frame == "exif_applied" else ["--frame", "stored"]
        assert main(["infer", "--model", str(model), "--images", str(photo), "--out", str(out),
                     "--image-size", str(SIZE), *args]) == 0
        record = json.loads((out / "json" / "phone.json").read_text())
        assert (record["frame"], record["width"], record["height"]) == (frame, *size)
        assert cv2.imread(str(out / "vis" / "phone.jpg")).shape[:2] == (size[1], size[0])
        for poly in record["polygons"]:
            assert max(poly[0::2]) <= size[0] and max(poly[1::2]) <= size[1]
