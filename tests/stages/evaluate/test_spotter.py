"""The two-stage spotter: words cut out of scenes (straight, rotated, vertical both ways, curved) read back."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from models.metrics import evaluate_e2e
from models.metrics.types import DetPoly
from models.tasks import get_task
from stages.evaluate.rectify import band_polygon, rectified_crop
from stages.evaluate.spotter import Spotter
from tests.stages.evaluate.evalsets import bright_model
from tests.stages.evaluate.spotwords import LAYOUTS, WORDS, LookupRecognizer, scene

# The stand-in detector's map is the pasted words' paper; a small growth keeps its boxes on them, and a
# larger least size drops the paper inside letters (o, e, d).
OPTIONS = {"mode": "poly", "thresh": 0.3, "box_thresh": 0.5, "unclip_ratio": 0.2, "min_size": 8}


def bright_detector():
    return get_task("detection").predictor(bright_model(), {"arch": "dbnet"}, torch.device("cpu"), uri="bright")


def test_rectified_crops_of_ground_truth_words_read_back_give_e2e_hmean_one():
    scenes = [scene(layout) for layout in LAYOUTS]
    spotter = Spotter(None, LookupRecognizer(WORDS))
    spots = spotter.read([img for img, _ in scenes], [[DetPoly(g.points) for g in gts] for _, gts in scenes])
    assert [[s.text for s in image] for image in spots] == [["hello", "rotated", "down"], ["upward", "curving"]]
    gts = {k: gts for k, (_, gts) in enumerate(scenes)}
    preds = {k: [s.as_det() for s in image] for k, image in enumerate(spots)}
    assert evaluate_e2e(gts, preds).hmean == 1.0
    assert evaluate_e2e(gts, preds, word_spotting=True).hmean == 1.0


def test_a_vertical_word_is_read_only_one_way_without_the_half_turn():
    """The half-turn reading is what makes one of the two vertical words readable: as cut, one is upside down."""
    image, gts = scene(LAYOUTS[0])
    crop = rectified_crop(image, gts[2].points)  # "down", turned clockwise
    turned = np.ascontiguousarray(crop[::-1, ::-1])
    reader = LookupRecognizer(WORDS)
    assert [text for text, _ in reader.recognize([crop, turned])].count("down") == 1


def test_the_spotter_on_a_batch_equals_it_image_by_image():
    # straight, rotated and vertical words: the stand-in detector's outline of a curved word has slanted
    # ends that the lookup reader, comparing whole crops, does not forgive (real recognizers do)
    layouts = [LAYOUTS[0], LAYOUTS[1][:1]]
    images = [scene(layout)[0] for layout in layouts]
    reader = LookupRecognizer(WORDS)
    spotter = Spotter(bright_detector(), reader, image_size=320, options=OPTIONS)
    together = spotter.spot(images, batch_size=2)
    assert reader.calls == [6]  # 4 words, 2 of them vertical (read both ways): one recognizer pass
    alone = [spotter.spot([image])[0] for image in images]
    assert [[(s.polygon.tolist(), s.det_score, s.text, s.rec_score) for s in image] for image in together] == \
        [[(s.polygon.tolist(), s.det_score, s.text, s.rec_score) for s in image] for image in alone]
    gts = {k: scene(layout)[1] for k, layout in enumerate(layouts)}
    preds = {k: [s.as_det() for s in image] for k, image in enumerate(together)}
    assert evaluate_e2e(gts, preds).hmean == 1.0


def test_a_curved_contour_becomes_a_band_and_a_straight_one_its_rectangle():
    _, gts = scene(LAYOUTS[1])
    curved = gts[1].points  # 18 points, Total-Text layout, bent along an arc
    band = band_polygon(np.roll(curved, 5, axis=0))  # any start vertex: a detector's contour has no order
    assert len(band) == 2 * 9 and band[:9, 1].mean() < band[9:, 1].mean()  # top chain above the bottom one
    assert np.all(np.diff(band[:9, 0]) > 0)  # ... running left to right
    straight = np.array([[0, 0], [50, 0], [100, 1], [100, 20], [50, 21], [0, 20]], float)
    assert len(band_polygon(straight)) == 4


def test_bad_batch_sizes_are_refused():
    with pytest.raises(ValueError, match="rec_batch_size must be >= 1"):
        Spotter(None, None, rec_batch_size=0)
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        Spotter(None, None).spot([], batch_size=0)
