"""CRAFT decoding recovers known words from synthetic score maps (Gaussian characters joined by affinity)."""
import math

import cv2
import numpy as np
import pytest

from models.detection.craft_config import CraftConfig
from models.detection.craft_postprocess import postprocess
from models.detection.craft_spec import decode


def _gaussian(shape, centre, sx, sy, angle):
    """A rotated 2D Gaussian bump with peak 1 (sx, sy: its standard deviations along / across the word)."""
    ys, xs = np.mgrid[0:shape[0], 0:shape[1]].astype(np.float32)
    c, s = math.cos(angle), math.sin(angle)
    dx, dy = xs - centre[0], ys - centre[1]
    a, b = c * dx + s * dy, -s * dx + c * dy
    return np.exp(-0.5 * ((a / sx) ** 2 + (b / sy) ** 2))


def _word(region, affinity, start, n_chars, char_w, height, angle, bend=0.0):
    """Draw a word of ``n_chars`` characters from ``start`` along ``angle`` (radians); ``bend`` lifts the
    characters on a parabola (a curved word). Returns the characters' centres."""
    direction = np.array([math.cos(angle), math.sin(angle)])
    normal = np.array([-direction[1], direction[0]])
    centres = []
    for i in range(n_chars):
        t = (i - (n_chars - 1) / 2) / max(1, (n_chars - 1) / 2)
        centres.append(np.array(start) + (i + 0.5) * char_w * direction - bend * (1 - t * t) * normal)
    for c in centres:
        np.maximum(region, _gaussian(region.shape, c, char_w / 3.2, height / 3.2, angle), out=region)
    for c0, c1 in zip(centres[:-1], centres[1:]):
        np.maximum(affinity, _gaussian(affinity.shape, (c0 + c1) / 2, char_w / 3.2, height / 3.2, angle), out=affinity)
    return centres


def _expected_quad(start, n_chars, char_w, height, angle):
    d = np.array([math.cos(angle), math.sin(angle)])
    n = np.array([-d[1], d[0]])
    p0 = np.array(start, float) - n * height / 2
    length = n_chars * char_w
    return np.array([p0, p0 + length * d, p0 + length * d + height * n, p0 + height * n])


def _iou(a, b, shape):
    ma, mb = np.zeros(shape, np.uint8), np.zeros(shape, np.uint8)
    cv2.fillPoly(ma, [np.round(a).astype(np.int32)], 1)
    cv2.fillPoly(mb, [np.round(b).astype(np.int32)], 1)
    return (ma & mb).sum() / max(1, (ma | mb).sum())


WORDS = [  # start (left end of the centre line), characters, char width, height, angle (degrees)
    ((20, 30), 6, 12, 14, 0),
    ((30, 90), 4, 14, 16, 20),
    ((120, 150), 5, 10, 12, -30),
]


def _maps(shape=(200, 240)):
    region, affinity = np.zeros(shape, np.float32), np.zeros(shape, np.float32)
    for start, n, w, h, deg in WORDS:
        _word(region, affinity, start, n, w, h, math.radians(deg))
    return region, affinity


def test_quad_mode_recovers_each_word_box():
    region, affinity = _maps()
    found = postprocess(region, affinity, mode="quad")
    assert len(found) == len(WORDS)
    for start, n, w, h, deg in WORDS:
        expected = _expected_quad(start, n, w, h, math.radians(deg))
        poly = max((poly for poly, _ in found), key=lambda p: _iou(p, expected, region.shape))
        # The size-dependent dilation grows rotated words by a few pixels: still well above the
        # benchmarks' 0.5 IoU match, with the word's orientation.
        assert _iou(poly, expected, region.shape) > 0.6, start
        top = poly[1] - poly[0]
        assert math.degrees(math.atan2(top[1], top[0])) == pytest.approx(deg, abs=3)
    for poly, score in found:
        assert poly.shape == (4, 2) and score == pytest.approx(1.0, abs=0.01)


def test_words_without_affinity_fall_apart_into_characters():
    region, affinity = _maps()
    found = postprocess(region, np.zeros_like(affinity), mode="quad")
    assert len(found) == sum(n for _, n, _, _, _ in WORDS)


def test_poly_mode_follows_a_curved_word():
    region, affinity = np.zeros((120, 200), np.float32), np.zeros((120, 200), np.float32)
    centres = _word(region, affinity, (20, 70), 10, 16, 16, 0.0, bend=20.0)
    (poly, _), = postprocess(region, affinity, mode="poly")
    assert len(poly) > 4
    mask = np.zeros(region.shape, np.uint8)
    cv2.fillPoly(mask, [np.round(poly).astype(np.int32)], 1)
    assert all(mask[int(round(c[1])), int(round(c[0]))] for c in centres)  # every character inside
    # A curved word's polygon hugs it: far less area than its straight box.
    (box, _), = postprocess(region, affinity, mode="quad")
    assert cv2.contourArea(poly.astype(np.float32)) < 0.8 * cv2.contourArea(box.astype(np.float32))


def test_thresholds_and_box_thresh_drop_weak_words():
    region, affinity = _maps()
    weak = region * 0.6  # peak 0.6: under the default text_threshold 0.7
    assert postprocess(weak, affinity) == []
    assert len(postprocess(weak, affinity, text_threshold=0.5)) == len(WORDS)
    assert postprocess(region, affinity, box_thresh=1.01) == []


def test_boxes_are_scaled_to_the_original_image_and_clipped():
    region, affinity = _maps()
    at_map = postprocess(region, affinity)
    # maps at half of an input that was the original shrunk by 0.8: 0.4 map pixels per original pixel
    scaled = postprocess(region, affinity, scale=(0.4, 0.4), out_shape=(500, 600))
    for (a, _), (b, _) in zip(at_map, scaled):
        np.testing.assert_allclose(b, a / 0.4, atol=1e-3)
    clipped = postprocess(region, affinity, scale=(0.4, 0.4), out_shape=(100, 100))
    assert all(p[:, 0].max() <= 99 and p[:, 1].max() <= 99 for p, _ in clipped)


def test_spec_decode_takes_options_over_the_checkpoint_and_ignores_dbnet_keys():
    region, affinity = _maps()
    outputs = {"region": region[None] * 0.6, "affinity": affinity[None]}
    cfg = CraftConfig(arch="craft")
    dbnet_keys = {"thresh": 0.3, "unclip_ratio": 1.5, "min_size": 3.0}
    assert decode(outputs, cfg, {"mode": "quad", "box_thresh": 0.5, **dbnet_keys}, (200, 240), (1.0, 1.0)) == []
    found = decode(outputs, cfg, {"mode": "quad", "text_threshold": 0.5, **dbnet_keys}, (200, 240), (1.0, 1.0))
    assert len(found) == len(WORDS)
    lenient = CraftConfig(arch="craft", decode={"text_threshold": 0.5})
    assert len(decode(outputs, lenient, {"mode": "quad"}, (200, 240), (1.0, 1.0))) == len(WORDS)
    with pytest.raises(KeyError, match=r"craft decode: unknown option\(s\) \['text_thresh'\]"):
        decode(outputs, cfg, {"text_thresh": 0.5}, (200, 240), (1.0, 1.0))
