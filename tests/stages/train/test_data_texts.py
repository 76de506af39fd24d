"""Target makers that need transcriptions (``needs_texts``) receive them through the training dataset."""
from __future__ import annotations

import numpy as np
import torch

from models.build import target_maker
from stages.dataset.records import TextInstance
from stages.train.data import MixedDataset, read_samples
from stages.train.sampler import SampleRef
from tests.stages.train.conftest import rect, write_boxes_dataset


class RecordingTargets:
    """A target maker that declares it needs texts and keeps what it was called with."""

    needs_texts = True

    def __init__(self):
        self.calls: list[dict] = []

    def __call__(self, height, width, polygons, ignore, weights, texts):
        self.calls.append({"polygons": polygons, "ignore": list(ignore), "weights": list(weights),
                           "texts": list(texts)})
        return {"mask": np.ones((height, width), np.float32)}


def _dataset(tmp_path):
    return write_boxes_dataset(tmp_path / "words", [
        TextInstance(rect(4, 4, 40, 16), "full"),
        TextInstance(rect(4, 24, 40, 36), "half", weight=0.5),
        TextInstance(rect(46, 4, 60, 40), "###", ignore=True),
    ])


def test_texts_reach_a_target_maker_that_needs_them(tmp_path):
    samples = read_samples(_dataset(tmp_path))
    assert samples[0].texts == ["full", "half", "###"]
    maker = RecordingTargets()
    MixedDataset([samples], [], 64, maker, seed=0)[SampleRef(0, 0, 0)]
    (call,) = maker.calls
    assert call["texts"] == ["full", "half", "###"]
    assert call["weights"] == [1.0, 0.5, 1.0]


def test_texts_stay_with_their_words_when_crops_drop_some(tmp_path):
    # Half-size crops at random positions leave some words outside the frame; the words kept are
    # told apart by (weight, ignore), which must still match their transcriptions.
    chain = [{"name": "crop", "scale": [0.5, 0.5], "cut": "keep"}]
    expected = {(1.0, False): "full", (0.5, False): "half", (1.0, True): "###"}
    maker = RecordingTargets()
    ds = MixedDataset([read_samples(_dataset(tmp_path))], chain, 64, maker, seed=0)
    for position in range(12):
        ds[SampleRef(0, 0, position)]
    assert min(len(c["texts"]) for c in maker.calls) < 3  # some crop did drop a word
    for call in maker.calls:
        assert len(call["texts"]) == len(call["polygons"])
        assert call["texts"] == [expected[k] for k in zip(call["weights"], call["ignore"])]


def test_dbnet_targets_are_called_without_texts(tmp_path):
    maker = target_maker({"arch": "dbnet"})
    assert not getattr(maker, "needs_texts", False)
    item = MixedDataset([read_samples(_dataset(tmp_path))], [], 64, maker, seed=0)[SampleRef(0, 0, 0)]
    assert item["gt"].shape == (64, 64)


def test_craft_targets_batch_through_the_loader_into_the_loss(tmp_path):
    from models.detection.craft_config import LossConfig, TargetsConfig
    from models.detection.craft_loss import CraftLoss
    from models.detection.craft_targets import CraftTargets
    from stages.train.data import collate

    ds = MixedDataset([read_samples(_dataset(tmp_path))], [], 64, CraftTargets(TargetsConfig(max_words=8)), seed=0)
    batch = collate([ds[SampleRef(0, 0, 0)], ds[SampleRef(0, 0, 1)]])
    assert batch["words"].shape == (2, 8, 11) and batch["mask"].shape == (2, 32, 32)
    assert batch["words"][0, :, 10].tolist() == [1.0, 1.0, 0, 0, 0, 0, 0, 0]  # "full" and "half"; "###" masked
    assert batch["words"][0, :2, 8].tolist() == [4.0, 4.0]  # transcription lengths
    assert batch["mask"][0, 10, 26].item() == 0.0  # inside the don't-care word
    zeros = torch.zeros(2, 1, 32, 32, requires_grad=True)
    losses = CraftLoss(LossConfig())({"region": zeros, "affinity": zeros}, batch)
    assert torch.isfinite(losses["total"]) and losses["total"].item() > 0  # the words' Gaussians are missed
