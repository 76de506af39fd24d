"""CRNN: output shapes for both backbones, the grey input, EasyOCR-compatible layer shapes, the CTC loss."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

import models
from models.detection.predictor import normalise
from models.recognition.crnn import CRNN, EASYOCR_PREFIXES
from tests.models.recognition.synthetic import WORDS, batch


@pytest.mark.parametrize("backbone", ["vgg", "resnet"])
@pytest.mark.parametrize("height,width", [(32, 100), (64, 128)])
def test_one_output_column_per_4_pixels_of_width(backbone, height, width):
    config = {**models.tiny_config("crnn"), "backbone": {"name": backbone, "channels": 32, "blocks": [1, 1, 1, 1]}}
    model = models.build_model(config).eval()
    with torch.no_grad():
        logits = model(torch.randn(2, 3, height, width))["logits"]
    assert logits.shape == (2, width // 4 - 1, 37)  # lower36 + the blank


def test_gray_input_is_easyocrs_grey_scale_from_normalised_rgb():
    rgb = np.random.default_rng(0).integers(0, 256, (1, 8, 12, 3), dtype=np.uint8)
    model = CRNN(num_classes=5, channels=32, hidden=8, gray=True)
    got = model.to_gray(normalise(torch.from_numpy(rgb)))[0, 0].numpy()
    grey = rgb[0] @ np.array([0.299, 0.587, 0.114])  # cv2's RGB -> grey weights
    np.testing.assert_allclose(got, (grey / 255.0 - 0.5) / 0.5, atol=1e-5)
    assert abs(cv2.cvtColor(rgb[0], cv2.COLOR_RGB2GRAY).astype(float) - grey).max() <= 1.0


def easyocr_english_g2_shapes() -> dict[str, tuple[int, ...]]:
    """Parameter shapes of EasyOCR's english_g2 recognizer (VGG extractor on 1 grey channel, output 256,
    two BiLSTM blocks of 256, 97 classes), written out from its model definition."""
    shapes: dict[str, tuple[int, ...]] = {}
    convs = {0: (32, 1, 3), 3: (64, 32, 3), 6: (128, 64, 3), 8: (128, 128, 3), 11: (256, 128, 3), 14: (256, 256, 3),
             18: (256, 256, 2)}
    for index, (cout, cin, k) in convs.items():
        shapes[f"FeatureExtraction.ConvNet.{index}.weight"] = (cout, cin, k, k)
        if index not in (11, 14):  # the batch-normed convs have no bias
            shapes[f"FeatureExtraction.ConvNet.{index}.bias"] = (cout,)
    for index in (12, 15):
        for name in ("weight", "bias", "running_mean", "running_var"):
            shapes[f"FeatureExtraction.ConvNet.{index}.{name}"] = (256,)
        shapes[f"FeatureExtraction.ConvNet.{index}.num_batches_tracked"] = ()
    for block in (0, 1):
        for suffix in ("", "_reverse"):
            shapes[f"SequenceModeling.{block}.rnn.weight_ih_l0{suffix}"] = (1024, 256)
            shapes[f"SequenceModeling.{block}.rnn.weight_hh_l0{suffix}"] = (1024, 256)
            shapes[f"SequenceModeling.{block}.rnn.bias_ih_l0{suffix}"] = (1024,)
            shapes[f"SequenceModeling.{block}.rnn.bias_hh_l0{suffix}"] = (1024,)
        shapes[f"SequenceModeling.{block}.linear.weight"] = (256, 512)
        shapes[f"SequenceModeling.{block}.linear.bias"] = (256,)
    shapes["Prediction.weight"], shapes["Prediction.bias"] = (97, 256), (97,)
    return shapes


def test_vgg_crnn_has_the_layers_of_easyocrs_english_g2_recognizer():
    config = {"arch": "crnn", "backbone": {"name": "vgg", "channels": 256}, "hidden": 256, "lstm_layers": 2,
              "gray": True, "charset": {"kind": "printable94"}, "height": 64}
    ours = {k: tuple(v.shape) for k, v in CRNN(97, channels=256, hidden=256, layers=2, gray=True).state_dict().items()}
    renamed = {}
    for key, shape in easyocr_english_g2_shapes().items():
        prefix = next(p for p in EASYOCR_PREFIXES if key.startswith(p))
        renamed[EASYOCR_PREFIXES[prefix] + key[len(prefix):]] = shape
    assert ours == renamed
    assert models.build_model(config)(torch.zeros(1, 3, 64, 100))["logits"].shape == (1, 24, 95)


def test_ctc_loss_decreases_on_a_fixed_tiny_set():
    torch.manual_seed(0)
    config = models.tiny_config("crnn")
    model, loss = models.build_model(config), models.build_loss(config)
    images, targets = batch(WORDS, config)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(30):
        parts = loss(model(images), targets)
        optimizer.zero_grad()
        parts["total"].backward()
        optimizer.step()
        losses.append(parts["total"].item())
    assert sorted(parts) == ["ctc", "total"] and parts["total"].dtype == torch.float32
    assert np.mean(losses[-10:]) < 0.2 * np.mean(losses[:5])


def test_a_label_too_long_for_the_columns_gives_zero_loss_not_infinity():
    config = {**models.tiny_config("crnn"), "width": 16}  # 3 columns
    model, loss = models.build_model(config), models.build_loss(config)
    images, targets = batch(["abcdef"], config)
    total = loss(model(images[..., :16]), targets)["total"]
    total.backward()
    assert total.item() == 0.0
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
