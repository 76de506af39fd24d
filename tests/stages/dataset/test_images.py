"""The one image reader: stored pixel frame whatever the EXIF tag, bytes and path forms, header probe,
and the copy whose orientation tag no longer asks for a rotation."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from stages.dataset.images import (
    UnreadableImage,
    decode_image,
    exif_orientation,
    image_size,
    read_image,
    read_rgb,
    without_orientation,
)
from tests.stages.dataset.exif_images import BOX, STORED_SIZE, write_exif_image

HW = (STORED_SIZE[1], STORED_SIZE[0])


@pytest.mark.parametrize("fmt, name", [("JPEG", "a.jpg"), ("PNG", "a.png")])
def test_readers_give_the_stored_frame(tmp_path, fmt, name):
    path = write_exif_image(tmp_path / name, 6, fmt)
    assert cv2.imread(str(path)).shape[:2] == HW[::-1]  # OpenCV's default flags apply the tag
    assert read_image(path).shape == (*HW, 3)
    assert read_image(path, gray=True).shape == HW
    assert decode_image(path.read_bytes()).shape == (*HW, 3)
    assert read_rgb(path)[BOX[1] + 5, BOX[0] + 5].max() < 60  # the box is where the annotation says
    assert read_image(path, frame="exif_applied").shape == (*HW[::-1], 3)
    assert image_size(path) == STORED_SIZE
    assert image_size(path, "exif_applied") == STORED_SIZE[::-1]


def test_orientation_tag_is_found_and_neutralised_losslessly_in_a_jpeg(tmp_path):
    data = write_exif_image(tmp_path / "a.jpg", 8).read_bytes()
    assert exif_orientation(data) == 8
    fixed = without_orientation(data)
    assert exif_orientation(fixed) == 1 and len(fixed) == len(data)
    assert sum(a != b for a, b in zip(data, fixed)) == 1  # only the tag's value byte changed
    assert cv2.imdecode(np.frombuffer(fixed, np.uint8), cv2.IMREAD_COLOR).shape == (*HW, 3)


def test_a_png_is_reencoded_without_the_tag(tmp_path):
    data = write_exif_image(tmp_path / "a.png", 6, "PNG").read_bytes()
    assert exif_orientation(data) == 6
    fixed = without_orientation(data)
    assert exif_orientation(fixed) == 1
    np.testing.assert_array_equal(decode_image(fixed), decode_image(data))  # PNG: lossless


def test_no_tag_means_orientation_1(tmp_path):
    cv2.imwrite(str(tmp_path / "a.jpg"), np.zeros((4, 6, 3), np.uint8))
    assert exif_orientation((tmp_path / "a.jpg").read_bytes()) == 1
    assert exif_orientation(b"") == 1 and exif_orientation(b"\xff\xd8\xff\xe1\x00") == 1


def test_bad_images_raise_naming_the_file(tmp_path):
    (tmp_path / "bad.png").write_bytes(b"\x89PNG not an image")
    (tmp_path / "empty.jpg").write_bytes(b"")
    for name in ("bad.png", "empty.jpg"):
        with pytest.raises(UnreadableImage, match=name):
            read_image(tmp_path / name)
    with pytest.raises(UnreadableImage, match="bad.png"):
        image_size(tmp_path / "bad.png")
    with pytest.raises(FileNotFoundError):
        read_image(tmp_path / "gone.jpg")
    assert decode_image(b"") is None and decode_image(b"junk") is None
    with pytest.raises(ValueError, match="frame"):
        decode_image(b"junk", frame="upright")
