"""The geometry layer: areas, repair rules, candidate pairs and the convex-clipping fast path."""
from __future__ import annotations

import numpy as np
import pytest

from models.metrics.clip import convex_flags
from models.metrics.polygons import build_polygon_set, intersection_areas, overlaps, pair_areas, shoelace_areas

SQUARE = np.array([(0, 0), (2, 0), (2, 2), (0, 2)], float)
BOWTIE = np.array([(0, 0), (2, 2), (2, 0), (0, 2)], float)
PENTAGRAM = np.array([(np.cos(a), np.sin(a)) for a in np.pi / 2 + np.arange(5) * 4 * np.pi / 5]) * 10


def one_image(polys, repair="make_valid"):
    return build_polygon_set([np.asarray(p, float) for p in polys], np.zeros(len(polys), np.int64), repair)


def test_areas_are_raw_shoelace_like_the_official_libraries():
    s = one_image([SQUARE, SQUARE[::-1], BOWTIE])
    assert s.areas.tolist() == [4.0, 4.0, 0.0]  # the bow-tie's lobes cancel, as in Polygon3
    assert shoelace_areas(np.zeros((0, 2)), np.zeros(0, np.int64)).size == 0


def test_repair_rules_on_a_bowtie():
    mv, b0 = one_image([BOWTIE, SQUARE]), one_image([BOWTIE, SQUARE], "buffer0")
    assert not mv.valid[0] and mv.valid[1]
    # make_valid keeps both lobes (even-odd, as GPC); buffer(0) keeps one, as polygon_fast.py sees it
    assert intersection_areas(mv.geoms[:1], mv.geoms[1:]).tolist() == [2.0]
    assert intersection_areas(b0.geoms[:1], b0.geoms[1:]).tolist() == [1.0]
    with pytest.raises(ValueError, match="make_valid, buffer0"):
        one_image([SQUARE], "snap")


def test_convex_flags():
    lshape = np.array([(0, 0), (2, 0), (2, 1), (1, 1), (1, 2), (0, 2)], float)
    line = np.array([(0, 0), (1, 1), (2, 2)], float)
    polys = [SQUARE, SQUARE[::-1], lshape, line, PENTAGRAM]
    flags = convex_flags(np.concatenate(polys), np.array([len(p) for p in polys]))
    assert flags.tolist() == [True, True, False, False, True]  # the pentagram turns one way...
    s = one_image(polys)
    assert s.convex.tolist() == [True, True, False, False, False]  # ...but is invalid: no fast path


def test_fast_path_matches_geos_on_random_pairs():
    rng = np.random.default_rng(3)
    a, b = [], []
    for i in range(400):
        c = rng.uniform(0, 20, 2)
        quad = c + np.array([(0, 0), (12, 0), (12, 5), (0, 5)]) + rng.normal(0, 1, (4, 2))
        k = rng.integers(5, 15)
        ang = np.sort(rng.uniform(0, 2 * np.pi, k))
        star = c + 6 * np.stack([np.cos(ang), np.sin(ang)], 1) * rng.uniform(0.4, 1.0, (k, 1))
        a.append(quad if i % 2 else quad[::-1])
        b.append(star if i % 3 else quad + rng.normal(0, 2, (4, 2)))
    ga, gb = one_image(a), one_image(b)
    idx = np.arange(len(a))
    fast = ga.valid & gb.valid & (ga.convex | gb.convex)
    assert fast.sum() > 300
    np.testing.assert_allclose(pair_areas(ga, gb, idx, idx), intersection_areas(ga.geoms, gb.geoms), rtol=0, atol=1e-9)


def test_axis_aligned_integer_boxes_are_exact():
    ga = one_image([[(0, 0), (10, 0), (10, 10), (0, 10)]])
    gb = one_image([[(3, -2), (13, -2), (13, 7), (3, 7)]])
    assert pair_areas(ga, gb, np.array([0]), np.array([0])).tolist() == [49.0]  # 7 x 7


def test_overlaps_pairs_only_same_image_boxes():
    g = build_polygon_set([SQUARE, SQUARE + 10, SQUARE], np.array([0, 0, 1]))
    d = build_polygon_set([SQUARE + 1, SQUARE + 1], np.array([0, 1]))
    gi, dj, inter = overlaps(g, d, 2)
    assert gi.tolist() == [0, 2] and dj.tolist() == [0, 1] and inter.tolist() == [1.0, 1.0]
    touching = build_polygon_set([SQUARE + (2, 0)], np.array([0]))
    assert overlaps(g, touching, 2)[0].size == 0  # shared edge only: no area, no pair


def test_tree_and_batched_candidate_paths_agree_with_dense(monkeypatch):
    import models.metrics.polygons as P

    rng = np.random.default_rng(5)
    pts = [SQUARE * rng.uniform(1, 5) + rng.uniform(0, 40, 2) for _ in range(120)]
    img = np.repeat(np.arange(3), 40)
    g = build_polygon_set(pts[::2], img[::2])
    d = build_polygon_set([p + rng.normal(0, 1, 2) for p in pts[1::2]], img[1::2])
    dense = overlaps(g, d, 3)
    monkeypatch.setattr(P, "_DENSE_PAIR_LIMIT", 50)  # every image is "huge": STRtree path
    tree = overlaps(g, d, 3)
    monkeypatch.setattr(P, "_DENSE_PAIR_LIMIT", 450)  # one image per dense batch
    batched = overlaps(g, d, 3)
    assert dense[0].size > 20
    for other in (tree, batched):
        for x, y in zip(dense, other):
            np.testing.assert_array_equal(x, y)
