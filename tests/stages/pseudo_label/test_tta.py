"""Test-time views: flipped and rescaled predictions land on the original image's coordinates."""
from __future__ import annotations

import numpy as np
import pytest

from models.detection.predictor import unflip_polygon
from stages.pseudo_label.fusion import fuse, iou_matrix
from stages.pseudo_label.tta import View, detect, make_views

from .helpers import box

# The stand-in model marks exactly the white pixels: no shrink to undo, so post-process without growing.
POST = {"mode": "poly", "thresh": 0.5, "box_thresh": 0.5, "unclip_ratio": 1e-6, "min_size": 1}


@pytest.fixture(scope="module")
def bright():
    import torch

    from models.tasks import get_task

    from .helpers import bright_model

    return get_task("detection").predictor(bright_model(), {"arch": "dbnet"}, torch.device("cpu"), uri="bright")


def _image() -> np.ndarray:
    """150 x 90, one white word at the left: columns 13..69, rows 20..39 (asymmetric on purpose)."""
    img = np.zeros((90, 150, 3), np.uint8)
    img[20:40, 13:70] = 255
    return img


def test_unflip_maps_mirrored_pixels_back():
    poly = np.array([(80, 20), (136, 20), (136, 39), (80, 39)], np.float64)  # the word as seen on the flipped image
    back = unflip_polygon(poly, width=150)
    np.testing.assert_array_equal(back, [(69, 39), (13, 39), (13, 20), (69, 20)])


def test_flipped_prediction_maps_back_onto_the_original_coordinates(bright):
    views = make_views([1.0], flip=True)
    assert views == [View(1.0, False), View(1.0, True)]
    (sources,) = detect([bright], [_image()], views, image_size=150, post=POST)  # 150 px: no resampling
    (plain,), (mirrored,) = sources  # one detection per view
    assert plain.score == pytest.approx(1.0) and mirrored.score == pytest.approx(1.0)
    word = box(13, 20, 69, 39)  # pixel centres of the white block
    np.testing.assert_allclose(plain.polygon.min(axis=0), word.min(axis=0), atol=0.6)
    np.testing.assert_allclose(plain.polygon.max(axis=0), word.max(axis=0), atol=0.6)
    np.testing.assert_allclose(mirrored.polygon.min(axis=0), plain.polygon.min(axis=0), atol=0.6)
    np.testing.assert_allclose(mirrored.polygon.max(axis=0), plain.polygon.max(axis=0), atol=0.6)
    # without mapping back the flipped view's word would sit on the right half, nowhere near the original
    assert iou_matrix([mirrored.polygon], [unflip_polygon(mirrored.polygon, 150)])[0, 0] == 0.0
    (inst,) = fuse(sources)
    assert inst.votes == 2 and iou_matrix([inst.polygon], [word])[0, 0] > 0.95


def test_scaled_views_and_models_order_sources_model_major(bright):
    views = make_views([0.5, 1.5], flip=True)
    images = [_image(), np.ascontiguousarray(_image()[::-1])]  # the second upside down: word at rows 50..69
    out = detect([bright, bright], images, views, image_size=160, post=POST)
    assert len(out) == 2 and all(len(srcs) == 2 * 4 for srcs in out)
    for srcs, word in zip(out, (box(13, 20, 69, 39), box(13, 50, 69, 69))):
        for dets in srcs:
            assert len(dets) == 1
            assert iou_matrix([dets[0].polygon], [word])[0, 0] > 0.85  # half scale: 2 px quantisation


def test_views_need_a_scale():
    with pytest.raises(ValueError, match="at least one scale"):
        make_views([], flip=True)
