"""Polygon validation rules, each with its tally, and image reading."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest
from shapely.geometry import Polygon

from stages.convert.validate import polygon_area, read_image, validate_instance, validate_record
from stages.dataset.records import ImageRecord, Skipped, TextInstance

BOX = [(10.0, 10.0), (50.0, 10.0), (50.0, 30.0), (10.0, 30.0)]


def _check(polygon, width=100, height=100):
    counts = Counter()
    inst = validate_instance(TextInstance(polygon, "w", language="Latin", weight=0.5), width, height, counts)
    return inst, counts


def test_valid_polygon_is_kept_as_is():
    inst, counts = _check(BOX)
    assert inst.polygon == BOX and inst.text == "w" and inst.language == "Latin" and inst.weight == 0.5
    assert counts == Counter()


@pytest.mark.parametrize("polygon, reason", [
    ([(0, 0), (5, 5)], "too_few_points"),
    ([], "too_few_points"),
    ([(0, 0), (float("nan"), 5), (5, 0)], "non_finite"),
    ([(0, 0), (5, 5), (10, 10), (20, 20)], "zero_area"),
    ([(3, 3), (3, 3), (3, 3)], "zero_area"),
    ([(200, 200), (300, 200), (300, 250), (200, 250)], "outside_image"),
    ([(-50, 10), (-10, 10), (-10, 30), (-50, 30)], "outside_image"),
])
def test_dropped_with_reason(polygon, reason):
    inst, counts = _check(polygon)
    assert inst is None and counts == Counter({reason: 1})


def test_bow_tie_quad_is_reordered_into_its_hull():
    bow_tie = [(10, 10), (50, 30), (50, 10), (10, 30)]  # two corners swapped
    inst, counts = _check(bow_tie)
    assert counts == Counter({"self_intersecting_repaired": 1})
    assert inst.polygon == BOX  # clockwise on screen, starting at the original first corner


def test_self_intersecting_polygon_keeps_its_largest_part():
    # A figure eight: a 40 x 20 lobe and a 10 x 10 lobe meeting at (50, 20).
    eight = [(10, 10), (50, 30), (60, 15), (60, 25), (50, 10), (10, 30)]
    assert not Polygon(eight).is_valid
    inst, counts = _check(eight)
    assert counts == Counter({"self_intersecting_repaired": 1})
    assert Polygon(inst.polygon).is_valid
    assert polygon_area(inst.polygon) == pytest.approx(max(p.area for p in _lobes(eight)))


def _lobes(polygon):
    from shapely import make_valid

    return [g for g in make_valid(Polygon(polygon)).geoms if g.geom_type == "Polygon"]


def test_repair_with_nothing_left_drops():
    # Its points span a triangle, but the ring only runs back and forth along lines: no area to keep.
    spikes = [(0, 0), (10, 0), (20, 0), (10, 0), (0, 0), (10, 10)]
    assert _check(spikes) == (None, Counter({"self_intersecting_dropped": 1}))
    collinear = [(0, 0), (10, 0), (10, 0), (0, 0), (5, 0)]  # no area at all: zero_area is checked first
    assert _check(collinear) == (None, Counter({"zero_area": 1}))


def test_clip_to_image_bounds_keeps_vertex_count():
    curved = [(-5, 10), (30, 5), (105, 10), (105, 40), (30, 35), (-5, 40)]
    inst, counts = _check(curved)
    assert counts == Counter({"clipped": 1})
    assert inst.polygon == [(0, 10), (30, 5), (100, 10), (100, 40), (30, 35), (0, 40)]


def test_unknown_image_size_skips_the_bounds_rule():
    inst, counts = _check([(200, 200), (300, 200), (300, 250), (200, 250)], width=0, height=0)
    assert inst is not None and counts == Counter()


def test_validate_record_counts_per_reason_and_keeps_the_rest():
    rec = ImageRecord(Path("img.jpg"), 100, 100, [
        TextInstance(BOX, "keep"),
        TextInstance([(0, 0), (1, 1)], "short"),
        TextInstance([(90, 90), (120, 90), (120, 95), (90, 95)], "edge"),
        TextInstance([(1, 1), (2, 2), (3, 3)], "flat", ignore=True),
    ], source="gt.txt:1")
    counts = Counter()
    clean = validate_record(rec, counts)
    assert [i.text for i in clean.instances] == ["keep", "edge"]
    assert clean.instances[1].polygon[1] == (100, 90)
    assert counts == Counter({"too_few_points": 1, "clipped": 1, "zero_area": 1})
    assert rec.instances[2].polygon[1] == (120, 90), "the input record is not modified"
    assert clean.source == "gt.txt:1" and clean.image_path == Path("img.jpg")


def test_read_image(tmp_path):
    cv2.imwrite(str(tmp_path / "ok.png"), np.full((12, 34, 3), 7, np.uint8))
    data, image = read_image(tmp_path / "ok.png", "gt:1")
    assert image.shape == (12, 34, 3) and data[:4] == b"\x89PNG"
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff not really a jpeg")
    (tmp_path / "empty.png").write_bytes(b"")
    for name, reason in [("broken.jpg", "unreadable_image"), ("empty.png", "unreadable_image"),
                         ("missing.jpg", "missing_image")]:
        skipped = read_image(tmp_path / name, "gt:2")
        assert isinstance(skipped, Skipped) and skipped.reason == reason and skipped.source == "gt:2"
        assert name in skipped.detail
