"""The recognition task end to end at toy size: a tiny CRNN overfits four rendered words (slow: 5-25 s of CPU)
and its checkpoint loads as the task's Recognizer (crops and files, greedy and beam); an untrained one's
checkpoint saved as an MLflow pyfunc model gives ``{"text", "score"}`` per image, the project's own readings."""
from __future__ import annotations

import base64

import cv2
import mlflow.pyfunc
import pandas as pd
import pytest

import models
from models import pyfunc
from models.checkpoint import load_predictor
from models.recognition.predictor import Recognizer
from models.tasks import get_task, task_of
from tests.models.recognition.synthetic import WORDS, overfit, render


@pytest.fixture(scope="module")
def untrained(tmp_path_factory):
    """A seeded, untrained tiny CRNN's checkpoint: any text, but a real decode path."""
    import torch

    torch.manual_seed(5)
    config = models.tiny_config("crnn")
    return models.save_checkpoint(tmp_path_factory.mktemp("crnn0") / "model", config, models.build_model(config))


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A tiny CRNN trained until it reads WORDS, saved as a checkpoint (a few seconds of CPU)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)  # the package conftest's one-thread rule, for this module-scoped fixture too
    try:
        config = models.tiny_config("crnn")
        model, steps = overfit(config)
    finally:
        torch.set_num_threads(before)
    path = models.save_checkpoint(tmp_path_factory.mktemp("crnn") / "model", config, model, step=steps)
    return path


def test_the_recognition_task_is_registered_with_its_three_architectures():
    task = get_task("recognition")
    assert all(task_of({"arch": a}) is task for a in ("crnn", "attention", "binet"))
    assert list(task.architectures) == ["crnn", "attention", "binet"]
    assert task.default_metric == "word_acc"
    assert task.metric("word_acc")(["Hello!", "a"], ["hello", "b"]) == 0.5
    assert task.metric("word_acc_exact")(["Hello!", "a"], ["hello", "a"]) == 0.5


@pytest.mark.slow
def test_the_recognizer_reads_back_the_words_it_overfit(checkpoint):
    recognizer = load_predictor(checkpoint)
    assert isinstance(recognizer, Recognizer) and recognizer.step > 0
    crops = [render(word) for word in WORDS]
    readings = recognizer.recognize(crops)
    assert [text for text, _ in readings] == list(WORDS)
    assert all(0.5 < score <= 1.0 for _, score in readings)
    assert [text for text, _ in recognizer.recognize(crops, {"beam_width": 4})] == list(WORDS)
    # batching never changes a reading (scores up to float rounding): alone, in batches of one, or in one batch
    for got in (recognizer.recognize(crops[2:3]), recognizer.recognize(crops, batch_size=1)[2:3]):
        assert got[0][0] == "moon" and got[0][1] == pytest.approx(readings[2][1], abs=1e-6)


@pytest.mark.slow
def test_predict_reads_crop_files_in_order(checkpoint, tmp_path):
    files = []
    for k, word in enumerate(reversed(WORDS)):
        files.append(tmp_path / f"{k}.png")
        cv2.imwrite(str(files[-1]), cv2.cvtColor(render(word), cv2.COLOR_RGB2BGR))
    seen = []
    readings = load_predictor(checkpoint).predict(files, batch_size=3, progress=lambda done, total: seen.append(done))
    assert [text for text, _ in readings] == list(reversed(WORDS)) and seen == [3, 4]


def test_a_bad_decode_option_is_named(untrained):
    with pytest.raises(ValueError, match=r"unknown crnn decode option\(s\) \['beam'\]; valid: beam_width, score"):
        load_predictor(untrained).recognize([render("cat")], {"beam": 2})


def test_pyfunc_model_of_a_crnn_checkpoint_returns_text_and_score(untrained, tmp_path):
    info = pyfunc.save(untrained, tmp_path / "pyfunc", settings={"beam_width": 2})
    assert (info["task"], info["arch"], info["backbone"]) == ("recognition", "crnn", "vgg")
    assert info["settings"] == {"beam_width": 2, "score": "mean"}
    model = mlflow.pyfunc.load_model(str(tmp_path / "pyfunc"))
    images = [base64.b64encode(cv2.imencode(".png", cv2.cvtColor(render(w), cv2.COLOR_RGB2BGR))[1].tobytes())
              .decode("ascii") for w in WORDS]
    got = model.predict(pd.DataFrame({"image": images}))
    expected = load_predictor(untrained).recognize([render(w) for w in WORDS], {"beam_width": 2})
    assert got == [{"text": text, "score": score} for text, score in expected]
    assert all(isinstance(row["text"], str) and 0.0 < row["score"] <= 1.0 for row in got)
