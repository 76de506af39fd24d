"""Where a recognition input's LMDB is found inside the folder a stage output points at."""
from __future__ import annotations

from stages.dataset.lmdb_words import LmdbWords
from tests.stages.rec_words import write_word_lmdb


def test_a_scene_split_folder_is_read_through_its_crops_lmdb(tmp_path):
    """A synth scene split (annotations.json, images/, crops.lmdb/) is a recognition input as it stands."""
    split = tmp_path / "train"
    (split / "images").mkdir(parents=True)
    (split / "annotations.json").write_text("{}")
    write_word_lmdb(split / "crops.lmdb", ["scene", "crop"])
    words = LmdbWords(split)
    assert (words.folder, len(words), words[1].label) == (split / "crops.lmdb", 2, "crop")
