"""The data pipeline: COCO reading, weights and don't-care flags into the target maps, seeded augmentation."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from models.build import target_maker
from models.detection.predictor import normalise
from stages.dataset.layout import detection_files
from stages.dataset.records import TextInstance
from stages.train.data import MixedDataset, collate, make_loader, read_samples
from stages.train.params import DEFAULT_AUGMENT
from stages.train.sampler import MixedBatchSampler, SampleRef
from tests.stages.train.conftest import rect, write_boxes_dataset

TARGETS = target_maker({"arch": "dbnet", "targets": {"shrink_ratio": 0.4, "thresh_min": 0.3, "thresh_max": 0.7,
                                                  "min_text_size": 4}})


@pytest.fixture
def weighted(tmp_path):
    """One 64x48 image: a full-weight word, a half-weight word (a pseudo-label) and a don't-care word."""
    return write_boxes_dataset(tmp_path / "weighted", [
        TextInstance(rect(4, 4, 40, 16), "full"),
        TextInstance(rect(4, 24, 40, 36), "half", weight=0.5),
        TextInstance(rect(46, 4, 60, 40), "###", ignore=True),
    ])


def test_read_samples_keeps_weights_and_ignore(weighted):
    (sample,) = read_samples(weighted)
    assert sample.weights == [1.0, 0.5, 1.0]
    assert sample.ignore == [False, False, True]
    assert sample.polygons[1].tolist() == [[4, 24], [40, 24], [40, 36], [4, 36]]
    assert sample.image_path == weighted / "images" / "img_1.png"


def test_dataset_given_as_folder_or_annotation_file(weighted, tmp_path):
    assert detection_files(weighted) == detection_files(weighted / "annotations.json")
    with pytest.raises(FileNotFoundError, match="annotations.json"):
        detection_files(tmp_path)


def test_instance_weights_reach_the_target_maps(weighted):
    # No augmentation, crop size = image width: the 64x48 image is kept as is and padded to 64x64.
    ds = MixedDataset([read_samples(weighted)], [], 64, TARGETS, seed=0)
    item = ds[SampleRef(0, 0, 0)]
    mask, gt, tmask = item["mask"], item["gt"], item["thresh_mask"]
    assert item["image"].shape == (64, 64, 3) and mask.shape == (64, 64)
    assert mask[10, 20] == 1.0 and gt[10, 20] == 1.0  # inside the full-weight word
    assert mask[30, 20] == 0.5 and gt[30, 20] == 1.0  # the pseudo-label counts half
    assert mask[20, 53] == 0.0 and gt[20, 53] == 0.0  # don't care: out of the loss
    assert tmask[30, 20] == 0.5 and tmask[10, 20] == 1.0
    assert mask[60, 30] == 1.0 and gt[60, 30] == 0.0  # padding is background


def test_weights_follow_their_words_through_geometric_augmentation(weighted):
    chain = [{"name": "rotate", "degrees": [90, 90], "expand": True}]  # the image turns on its side
    ds = MixedDataset([read_samples(weighted)], chain, 64, TARGETS, seed=0)
    mask = ds[SampleRef(0, 0, 0)]["mask"]
    # 64x48 rotated 90 deg counter-clockwise -> 48x64, then fitted into 64x64 unscaled
    assert mask[40, 10] == 1.0 and mask[40, 30] == 0.5 and mask[10, 20] == 0.0


def test_items_are_seeded_by_stream_position(tiny_synth):
    ds = MixedDataset([read_samples(tiny_synth / "train")], DEFAULT_AUGMENT, 64, TARGETS, seed=0)
    a, b, c = ds[SampleRef(0, 3, 11)], ds[SampleRef(0, 3, 11)], ds[SampleRef(0, 3, 12)]
    assert np.array_equal(a["image"], b["image"]) and np.array_equal(a["gt"], b["gt"])
    assert not np.array_equal(a["image"], c["image"])


def test_loader_batches_match_in_process_items(tiny_synth):
    ds = MixedDataset([read_samples(tiny_synth / "train"), read_samples(tiny_synth / "test")], DEFAULT_AUGMENT, 64,
                      TARGETS, seed=1)
    sampler = MixedBatchSampler(ds.sizes(), [0.75, 0.25], 4, 2, seed=1)
    batches = list(make_loader(ds, sampler, workers=1))
    expected = collate([ds[r] for r in list(sampler)[1]])
    assert batches[1]["image"].shape == (4, 64, 64, 3) and batches[1]["image"].dtype == torch.uint8
    assert batches[1]["dataset"].tolist() == [0, 0, 0, 1]
    for key in ("image", "gt", "mask", "thresh_map", "thresh_mask"):
        assert torch.equal(batches[1][key], expected[key])


def test_normalise_gives_contiguous_nchw():
    images = torch.full((2, 8, 6, 3), 255, dtype=torch.uint8)
    x = normalise(images)
    assert x.shape == (2, 3, 8, 6) and x.is_contiguous()
    assert x[0, 0, 0, 0].item() == pytest.approx((1 - 0.485) / 0.229, rel=1e-5)


def test_empty_dataset_raises(tmp_path):
    folder = tmp_path / "empty"
    (folder / "images").mkdir(parents=True)
    (folder / "annotations.json").write_text(json.dumps({"images": [], "annotations": [], "categories": []}))
    with pytest.raises(ValueError, match="lists no images"):
        read_samples(folder)


def test_packed_samples_rebuild_each_image(tiny_synth):
    samples = read_samples(tiny_synth / "train")
    coco = json.loads((tiny_synth / "train" / "annotations.json").read_text())
    assert len(samples) == len(coco["images"]) == 24
    last = samples[-1]
    anns = [a for a in coco["annotations"] if a["image_id"] == coco["images"][-1]["id"]]
    assert last.image_path.name == coco["images"][-1]["file_name"]
    assert len(last.polygons) == len(anns)
    for poly, ann in zip(last.polygons, anns):
        assert poly.reshape(-1).tolist() == pytest.approx(ann["segmentation"][0], abs=1e-4)
    with pytest.raises(IndexError):
        samples[24]
