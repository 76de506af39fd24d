"""The transform library: polygons stay exact under every geometric transform, options behave,
chains are reproducible, bad specs fail clearly."""
from __future__ import annotations

import numpy as np
import pytest

from stages.augment.variants import BUILTIN_VARIANTS, resolve_variants
from stages.dataset.transforms.chain import GEOMETRIC, TRANSFORMS, build_chain, drop_empty
from stages.dataset.transforms.geometry import densify, polygon_area, rasterize

W, H = 320, 240
QUAD = np.array([[40, 50], [150, 62], [145, 100], [35, 90]], float)
# a curved word in 2N order (top side left to right, bottom side back), as Total-Text writes them
CURVED = np.array([[180, 150], [200, 138], [230, 132], [260, 138], [280, 150],
                   [270, 178], [255, 168], [230, 164], [205, 168], [190, 180]], float)
TRIANGLE = np.array([[100, 180], [140, 200], [90, 222]], float)
POLYS = [QUAD, CURVED, TRIANGLE]


def _mask_image() -> np.ndarray:
    mask = rasterize(POLYS, (W, H))
    return np.dstack([mask] * 3)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


GEOMETRIC_CASES = [
    ("rotate", {"degrees": [27, 27]}),
    ("rotate", {"degrees": [-50, -50], "expand": False}),
    ("perspective", {"strength": [0.15, 0.15]}),
    ("scale", {"factor": [0.6, 0.6], "aspect": [1.5, 1.5]}),
    ("scale", {"factor": [1.7, 1.7]}),
    ("resize", {"size": [200, 300], "keep_ratio": True}),
    ("crop", {"scale": [0.8, 0.8], "cut": "keep"}),
    ("elastic", {"amplitude": [0.03, 0.03], "wavelength": [0.3, 0.3]}),
    ("curve", {"amplitude": [0.1, 0.1], "wavelength": [0.7, 0.7]}),
    ("curve", {"amplitude": [0.1, 0.1], "axis": "y"}),
]


@pytest.mark.parametrize("name,kwargs", GEOMETRIC_CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(GEOMETRIC_CASES)])
def test_polygons_follow_the_pixels(name, kwargs):
    image = _mask_image()
    for seed in range(3):
        out, polys, ignore = TRANSFORMS[name](**kwargs)(image, POLYS, [False] * 3, np.random.default_rng(seed))
        assert len(polys) == len(ignore) == 3
        warped = out[:, :, 0] > 127
        drawn = rasterize(polys, (out.shape[1], out.shape[0])) > 0
        # measured 0.977-1.0; the rest is the staircase of a binary mask resampled once
        assert _iou(warped, drawn) > 0.95, (name, seed)
        for poly in polys:
            if len(poly):  # every kept polygon lies in the output frame
                assert poly.min() >= -1e-6 and poly[:, 0].max() <= out.shape[1] + 1e-6
                assert poly[:, 1].max() <= out.shape[0] + 1e-6


@pytest.mark.parametrize("name", ["elastic", "curve"])
def test_smooth_warps_keep_the_2n_layout(name):
    out, polys, _ = TRANSFORMS[name]()(_mask_image(), [CURVED, QUAD], [False, False], np.random.default_rng(0))
    for poly in polys:
        assert len(poly) % 2 == 0 and len(poly) > 4  # densified, still top side then bottom side


def test_rotation_with_expansion_keeps_every_corner():
    image = np.full((H, W, 3), 255, np.uint8)
    frame = np.array([[0, 0], [W, 0], [W, H], [0, H]], float)
    for angle in (10, 45, 90, 133, -70):
        out, polys, ignore = TRANSFORMS["rotate"](degrees=[angle, angle], fill=0)(image, [frame], [False],
                                                                                   np.random.default_rng(0))
        oh, ow = out.shape[:2]
        corners = polys[0]
        assert not ignore[0] and len(corners) == 4
        assert corners.min() >= -1e-9 and (corners[:, 0] <= ow + 1e-9).all() and (corners[:, 1] <= oh + 1e-9).all()
        assert (ow, oh) == tuple(int(np.ceil(v - 1e-9)) for v in corners.max(axis=0))  # no spare rows
        # nothing cropped: the white area is the whole source image (within the anti-aliased rim)
        white = (out[:, :, 0] > 127).sum()
        assert abs(white - W * H) < 0.01 * W * H
        assert polygon_area(corners) == pytest.approx(W * H, rel=1e-9)


def test_crop_marks_cut_words_ignore_or_keeps_them():
    whole = np.array([[4, 4], [W - 4, 4], [W - 4, H - 4], [4, H - 4]], float)  # any half-size crop cuts it
    image = np.zeros((H, W, 3), np.uint8)
    for cut, expect_ignore in (("ignore", True), ("keep", False)):
        crop = TRANSFORMS["crop"](scale=[0.5, 0.5], cut=cut, avoid_cuts=False)
        out, polys, ignore = crop(image, [whole], [False], np.random.default_rng(1))
        assert out.shape == (120, 160, 3)
        assert ignore == [expect_ignore]
        assert polys[0].min() >= 0 and polys[0][:, 0].max() <= 160 and polys[0][:, 1].max() <= 120
        assert polygon_area(polys[0]) > 0.5 * 160 * 120  # clipped to the part in view


def test_crop_drops_words_left_outside_and_avoids_cuts():
    left = np.array([[2, 2], [30, 2], [30, 20], [2, 20]], float)
    right = np.array([[W - 30, H - 20], [W - 2, H - 20], [W - 2, H - 2], [W - 30, H - 2]], float)
    image = np.zeros((H, W, 3), np.uint8)
    crop = TRANSFORMS["crop"](scale=[0.4, 0.4], avoid_cuts=True, attempts=50)
    for seed in range(5):
        out, polys, ignore = crop(image, [left, right], [False, False], np.random.default_rng(seed))
        # a 128x96 window cannot hold both corners: at least one word is gone, none is cut
        assert sum(len(p) == 0 for p in polys) >= 1
        kept, flags = drop_empty(polys, ignore)
        assert all(not f for f in flags)
        assert all(polygon_area(p) == pytest.approx(28 * 18) for p in kept)


def test_pixel_transforms_leave_polygons_and_size_alone():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    for name, cls in TRANSFORMS.items():
        if name in GEOMETRIC:
            continue
        out, polys, ignore = cls()(image, POLYS, [False, True, False], np.random.default_rng(3))
        assert out.shape == image.shape and out.dtype == np.uint8, name
        assert all(np.array_equal(a, b) for a, b in zip(polys, POLYS)) and ignore == [False, True, False], name
        assert not np.array_equal(out, image), name


def test_pixel_transforms_do_what_they_say():
    rng = np.random.default_rng(0)
    grey = np.full((64, 64, 3), 100, np.uint8)
    bright, _, _ = TRANSFORMS["brightness"](delta=[0.1, 0.1])(grey, [], [], rng)
    assert int(bright[0, 0, 0]) == 126  # 100 + 25.5, rounded
    noisy, _, _ = TRANSFORMS["gaussian_noise"](sigma=[8, 8])(grey, [], [], rng)
    assert noisy.astype(float).std() == pytest.approx(8.0, rel=0.05)
    blurred, _, _ = TRANSFORMS["motion_blur"](length=[9, 9])(grey, [], [], rng)
    assert np.abs(blurred.astype(int) - 100).max() <= 1  # a normalised kernel keeps flat areas flat
    colour = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    g, _, _ = TRANSFORMS["grayscale"]()(colour, [], [], rng)
    assert np.array_equal(g[:, :, 0], g[:, :, 1]) and np.array_equal(g[:, :, 1], g[:, :, 2])
    dark, _, _ = TRANSFORMS["gamma"](gamma=[2.0, 2.0])(grey, [], [], rng)
    assert int(dark[0, 0, 0]) == round(255 * (100 / 255) ** 2)


def _full_chain():
    return build_chain([{"name": n} for n in TRANSFORMS])


def test_chains_are_reproducible_per_seed():
    image = _mask_image()
    a = _full_chain()(image, POLYS, [False] * 3, np.random.default_rng(5))
    b = _full_chain()(image, POLYS, [False] * 3, np.random.default_rng(5))
    c = _full_chain()(image, POLYS, [False] * 3, np.random.default_rng(6))
    assert np.array_equal(a[0], b[0]) and all(np.array_equal(p, q) for p, q in zip(a[1], b[1])) and a[2] == b[2]
    assert a[0].shape != c[0].shape or not np.array_equal(a[0], c[0])


def test_probability_zero_is_a_no_op():
    image = _mask_image()
    out, polys, _ = build_chain([{"name": "rotate", "degrees": 30, "p": 0.0}])(image, POLYS, [False] * 3,
                                                                              np.random.default_rng(0))
    assert out is image and all(np.array_equal(p, q) for p, q in zip(polys, POLYS))


def test_bad_specs_fail_naming_the_problem():
    with pytest.raises(ValueError, match=r"unknown transform 'rotat'; valid names: brightness, color_shift"):
        build_chain([{"name": "rotat"}])
    with pytest.raises(ValueError, match=r"\[1\] transform 'rotate': .*unexpected keyword argument 'angle'"):
        build_chain([{"name": "jpeg"}, {"name": "rotate", "angle": 3}])
    with pytest.raises(ValueError, match="p must be in"):
        build_chain([{"name": "jpeg", "p": 2}])
    with pytest.raises(ValueError, match="quality must lie within"):
        build_chain([{"name": "jpeg", "quality": [0, 300]}])
    with pytest.raises(ValueError, match="low 5.0 is above high 1.0"):
        build_chain([{"name": "gaussian_blur", "sigma": [5, 1]}])
    with pytest.raises(ValueError, match="'name' key"):
        build_chain([{"degrees": 3}])


def test_mismatched_lists_are_rejected():
    with pytest.raises(ValueError, match="2 polygons but 1 ignore flags"):
        TRANSFORMS["rotate"]()(_mask_image(), [QUAD, QUAD], [False], np.random.default_rng(0))


def test_densify_keeps_vertices_and_layout():
    dense = densify(CURVED, 4.0)
    assert len(dense) % 2 == 0 and len(dense) > len(CURVED)
    n, m = len(CURVED) // 2, len(dense) // 2
    assert np.array_equal(dense[0], CURVED[0]) and np.array_equal(dense[m - 1], CURVED[n - 1])
    assert np.array_equal(dense[m], CURVED[n]) and np.array_equal(dense[-1], CURVED[-1])
    assert polygon_area(dense) == pytest.approx(polygon_area(CURVED))


def test_variants_resolve_by_name_override_and_alias():
    assert set(resolve_variants(["art_light", "art_noise", "art_sig"])) == set(BUILTIN_VARIANTS)
    custom = resolve_variants({"art_light": [{"name": "jpeg"}], "mine": "art_sig", "art_noise": None})
    assert custom["art_light"] == [{"name": "jpeg"}]
    assert custom["mine"] == BUILTIN_VARIANTS["art_sig"] and custom["art_noise"] == BUILTIN_VARIANTS["art_noise"]
    with pytest.raises(ValueError, match="unknown built-in 'art_heavy'; built-ins: art_light, art_noise, art_sig"):
        resolve_variants(["art_heavy"])
    with pytest.raises(ValueError, match="variant 'x': .*unknown transform 'blurr'"):
        resolve_variants({"x": [{"name": "blurr"}]})
