"""The recognition training data: LMDB words -> augmented, fitted crops with labels, masks and skip counts."""
from __future__ import annotations

import pytest

from stages.dataset.lmdb_words import LmdbWords
from stages.train.rec_data import WordAugment, WordDataset, collate_words
from stages.train.sampler import MixedBatchSampler, SampleRef
from tests.stages import rec_standin
from tests.stages.rec_words import write_word_lmdb

GEOMETRY = {"height": 16, "width": None, "keep_ratio": True, "max_width": 96, "rotate_tall": True}


@pytest.fixture
def recnet(monkeypatch):
    rec_standin.register_in(monkeypatch)
    return rec_standin.RecNetConfig(height=16, width=None, max_width=96, max_length=8)


def test_untrainable_labels_are_replaced_by_the_next_sample_and_counted(tmp_path, recnet):
    data = LmdbWords(write_word_lmdb(tmp_path / "words", ["cat", "!!!", "", "dog"]))
    dataset = WordDataset([data], [], GEOMETRY, rec_standin.make_targets(recnet))
    item = dataset[SampleRef(0, 1, 0)]  # "!!!" and "" encode to nothing in lower36: "dog" is taken
    assert (item["length"], item["skipped"], list(item["label"][:3])) == (3, 2, [14, 25, 17])
    assert dataset[SampleRef(0, 0, 1)]["skipped"] == 0


def test_variable_width_batches_pad_images_and_masks_to_the_widest(tmp_path, recnet):
    data = LmdbWords(write_word_lmdb(tmp_path / "words", ["a", "abcdefgh"]))
    dataset = WordDataset([data], [], GEOMETRY, rec_standin.make_targets(recnet))
    items = [dataset[SampleRef(0, i, i)] for i in range(2)]
    narrow, wide = (it["image"].shape[1] for it in items)
    assert narrow < wide <= 96
    batch = collate_words(items)
    assert tuple(batch["image"].shape) == (2, 16, wide, 3)
    assert tuple(batch["glyph_mask"].shape) == (2, 16, wide)
    # the narrow crop's mask holds glyph pixels inside its own width only
    assert batch["glyph_mask"][0, :, :narrow].sum() > 0 and batch["glyph_mask"][0, :, narrow:].sum() == 0
    assert batch["label"].dtype.is_floating_point is False and batch["skipped"].tolist() == [0, 0]


def test_the_mask_follows_the_geometric_transforms_only(tmp_path):
    data = LmdbWords(write_word_lmdb(tmp_path / "words", ["warp"]))
    word = data[0]
    chain = [{"name": "rotate", "degrees": [20, 20], "expand": True}, {"name": "brightness", "delta": 0.5}]
    image, mask = WordAugment(chain)(word.image, word.mask, (0, 7))
    plain, _ = WordAugment(chain[:1])(word.image, word.mask, (0, 7))
    assert image.shape[:2] == mask.shape == plain.shape[:2] != word.image.shape[:2]  # rotated with expansion
    assert mask.max() == 1.0 and mask[0, 0] == 0.0  # uncovered corners are background, not a mean colour
    ink = mask > 0.5
    # The glyphs are where the (rotated) image is dark: the mask moved with the image.
    assert plain[ink].mean() < plain[~ink].mean() - 60


def test_mixed_batches_over_two_lmdbs_follow_the_ratios(tmp_path, recnet):
    sets = [LmdbWords(write_word_lmdb(tmp_path / n, words)) for n, words in (("a", ["ab"] * 5), ("b", ["cd"] * 7))]
    dataset = WordDataset(sets, [], GEOMETRY, rec_standin.make_targets(recnet))
    batch = next(iter(MixedBatchSampler(dataset.sizes(), [0.75, 0.25], 4, 1)))
    assert collate_words([dataset[ref] for ref in batch])["dataset"].tolist() == [0, 0, 0, 1]


def test_a_folder_without_an_lmdb_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=f"recognition dataset {tmp_path}: no LMDB"):
        LmdbWords(tmp_path)


def test_one_lmdb_read_by_several_readers_in_one_process(tmp_path):
    folder = write_word_lmdb(tmp_path / "words", ["same", "folder"])
    train, val = LmdbWords(folder), LmdbWords(folder)  # e.g. a training input that is also the validation set
    assert (train[0].label, val[1].label, len(val)) == ("same", "folder", 2)


def test_a_forked_process_reads_an_lmdb_its_parent_has_open(tmp_path):
    """DataLoader workers are forked from the training process, which has the LMDB open (validation,
    the dataset's size): the child must open its own handle, not fail on the inherited one."""
    import multiprocessing

    folder = write_word_lmdb(tmp_path / "w", ["alpha", "beta"])
    assert LmdbWords(folder)[0].label == "alpha"  # the parent's handle is open now
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(1) as pool:
        assert pool.apply(_label_of, (str(folder), 1)) == "beta"


def _label_of(folder: str, index: int) -> str:
    return LmdbWords(folder)[index].label
