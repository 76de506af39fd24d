"""The unlabeled input in each accepted form: dataset folder, image folder, archive, manifests."""
from __future__ import annotations

import tarfile
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from stages.pseudo_label.sources import resolve_unlabeled

from .helpers import make_dataset


@pytest.fixture()
def dataset(tmp_path) -> Path:
    return make_dataset(tmp_path / "ds")


def _keys(found) -> list[str]:
    return [e.key for e in found.entries]


def test_dataset_folder_lists_its_coco_images(dataset, tmp_path):
    found = resolve_unlabeled(dataset, tmp_path / "scratch")
    assert found.kind == "coco" and _keys(found) == ["img_1.png", "img_2.png", "img_3.png"]
    assert found.entries[0].path == dataset / "images" / "img_1.png"
    assert resolve_unlabeled(dataset / "annotations.json", tmp_path / "s").kind == "coco"


def test_plain_folders_are_searched_recursively(dataset, tmp_path):
    (dataset / "images" / "sub").mkdir()
    (dataset / "images" / "img_1.png").rename(dataset / "images" / "sub" / "deep.png")
    (dataset / "images" / "notes.txt").write_text("not an image")
    found = resolve_unlabeled(dataset / "images", tmp_path / "scratch")
    assert found.kind == "folder" and _keys(found) == ["img_2.png", "img_3.png", "sub/deep.png"]
    (dataset / "annotations.json").unlink()
    assert resolve_unlabeled(dataset, tmp_path / "scratch").kind == "images_folder"


@pytest.mark.parametrize("kind", ["zip", "tar.gz"])
def test_archives_are_unpacked_into_scratch(dataset, tmp_path, kind):
    archive = tmp_path / f"unlabeled.{kind}"
    if kind == "zip":
        with zipfile.ZipFile(archive, "w") as zf:
            for p in sorted((dataset / "images").iterdir()):
                zf.write(p, f"test_images/{p.name}")
    else:
        with tarfile.open(archive, "w:gz") as tf:
            tf.add(dataset / "images", arcname="test_images")
    found = resolve_unlabeled(archive, tmp_path / "scratch")
    assert found.kind == "archive"
    assert _keys(found) == [f"{archive.name}/test_images/img_{k}.png" for k in (1, 2, 3)]
    assert all(e.path.is_file() and (tmp_path / "scratch") in e.path.parents for e in found.entries)
    # a download output folder holding only the archive is unpacked the same way
    holder = tmp_path / "download"
    holder.mkdir()
    archive.rename(holder / archive.name)
    assert len(resolve_unlabeled(holder, tmp_path / "scratch2").entries) == 3


def test_manifests_parquet_and_text_lists(dataset, tmp_path):
    pq.write_table(pa.table({"file_name": ["img_3.png", "img_1.png"], "width": [1, 2]}), dataset / "manifest.parquet")
    found = resolve_unlabeled(dataset / "manifest.parquet", tmp_path)
    assert found.kind == "manifest" and _keys(found) == ["img_3.png", "img_1.png"]
    assert found.entries[0].path == dataset / "images" / "img_3.png"
    listing = dataset / "images" / "list.txt"
    listing.write_text("# unlabeled\nimg_2.png\n\nimg_2.png\nmissing.png\n")
    found = resolve_unlabeled(listing, tmp_path)
    assert found.kind == "list" and _keys(found) == ["img_2.png", "missing.png"]  # missing files: the shards count them


def test_bad_inputs_raise_naming_the_input(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="holds no image files"):
        resolve_unlabeled(tmp_path / "empty", tmp_path / "scratch")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        resolve_unlabeled(tmp_path / "nowhere", tmp_path / "scratch")
    pq.write_table(pa.table({"name": ["a.png"]}), tmp_path / "m.parquet")
    with pytest.raises(ValueError, match="no image path column"):
        resolve_unlabeled(tmp_path / "m.parquet", tmp_path / "scratch")
    (tmp_path / "up.txt").write_text("../outside.png\n")
    with pytest.raises(ValueError, match="leaves the image folder"):
        resolve_unlabeled(tmp_path / "up.txt", tmp_path / "scratch")
