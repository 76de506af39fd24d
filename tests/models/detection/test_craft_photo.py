"""The imported public CRAFT finds the words of a real photograph through the detection predictor.

demo_text_det.jpg (460 x 276) is a blue plaque on a brick wall. The word regions below were read off
the photo by eye (enlarged 2x, pixel coordinates of the original): x0, y0, x1, y1.
"""
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

import models
from models.detection import TASK
from models.detection.craft_import import craft_from_easyocr
from stages.dataset.images import read_rgb

easyocr_en_models = pytest.importorskip("easyocr_en_models")
PHOTO = Path("/work/shared/data/real_photos/demo_text_det.jpg")
if not PHOTO.exists():  # the shared photos live beside the repository
    PHOTO = Path(__file__).resolve().parents[4] / "shared/data/real_photos/demo_text_det.jpg"

WORDS = {"Octavia": (165, 78, 246, 99), "Hill": (253, 77, 295, 98), "Social": (166, 106, 215, 121),
         "Reformer": (219, 105, 294, 121), "Army": (184, 178, 225, 189), "People": (240, 204, 283, 227)}


@pytest.fixture(scope="module")
def detector():
    state = torch.load(os.path.join(easyocr_en_models.model_dir(), "craft_mlt_25k.pth"), map_location="cpu",
                       weights_only=True)
    config, state = craft_from_easyocr(state, "craft_mlt_25k.pth")
    model = models.build_model(config, init_weights=False)
    model.load_state_dict(state)
    return TASK.predictor(model.eval(), config, torch.device("cpu"))


def _iou(poly, box, shape):
    a, b = np.zeros(shape, np.uint8), np.zeros(shape, np.uint8)
    cv2.fillPoly(a, [np.round(poly).astype(np.int32)], 1)
    x0, y0, x1, y1 = box
    b[y0:y1 + 1, x0:x1 + 1] = 1
    return (a & b).sum() / (a | b).sum()


def _check_words(found, shape):
    assert len(found) >= 20  # the plaque holds 21 words and numbers
    for word, box in WORDS.items():
        best = max(_iou(poly, box, shape) for poly, _ in found)
        assert best >= 0.5, (word, best)
    assert all(score >= 0.7 for _, score in found)  # the default text_threshold


@pytest.mark.skipif(not PHOTO.exists(), reason="the shared real photos are not here")
@pytest.mark.parametrize("mode", ["quad", "poly"])
def test_finds_the_plaques_words_at_native_size(detector, mode):
    rgb = read_rgb(PHOTO)
    (found,) = detector.detect([rgb], max(rgb.shape[:2]), {"mode": mode})
    _check_words(found, rgb.shape[:2])


@pytest.mark.skipif(not PHOTO.exists(), reason="the shared real photos are not here")
def test_finds_the_same_words_magnified(detector):
    rgb = read_rgb(PHOTO)
    (found,) = detector.detect([rgb], 2 * max(rgb.shape[:2]), {"mode": "quad"})  # boxes back in original pixels
    _check_words(found, rgb.shape[:2])
