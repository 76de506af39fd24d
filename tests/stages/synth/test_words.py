"""The synth stage's word images: DTRB LMDBs with glyph masks, determinism, held-out vocabulary, params."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from pydantic import ValidationError

from pipeline.stage import LocalContext
from stages.dataset.lmdb_reader import parse
from stages.dataset.profile import describe_dataset
from stages.dataset.records import CropRecord
from stages.synth.fonts import find_fonts
from stages.synth.params import SynthParams
from stages.synth.stage import STAGE
from stages.synth.vocabulary import TextSource, is_held_out, load_words, normalise
from stages.synth.word_image import WordStyle, render_word
from stages.synth.words_stage import word_rng

WORDS = {"splits": {"train": 40, "test": {"count": 20, "held_out": True},
                    "clutter": {"count": 10, "held_out": True, "background": "cluttered"}},
         "shard_size": 16, "samples": 4}


def _run(tmp: Path, **words) -> tuple[Path, object, LocalContext]:
    params = SynthParams.model_validate({"words": {**WORDS, **words}})
    out = tmp / "out"
    out.mkdir(parents=True)
    ctx = LocalContext("synth")
    return out, STAGE.fn(params, {}, out, ctx), ctx


def _decode(data: bytes, flags: int) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(data, np.uint8), flags)


def test_word_lmdbs_load_with_the_project_reader_and_carry_masks(tmp_path):
    out, result, ctx = _run(tmp_path)
    assert result.outputs == {"train_words": "train/words.lmdb", "test_words": "test/words.lmdb",
                              "clutter_words": "clutter/words.lmdb"}
    assert STAGE.outputs(SynthParams.model_validate({"words": WORDS})) == list(result.outputs)
    assert (result.counts["train_words"], result.counts["test_words"], result.counts["clutter_words"]) == (40, 20, 10)
    assert result.counts["clutter_cluttered_words"] == 10
    for split, n in (("train", 40), ("test", 20), ("clutter", 10)):
        records = list(parse(out / split / "words.lmdb"))
        assert len(records) == n and all(isinstance(r, CropRecord) for r in records)
        for record in records:
            image = _decode(record.image_bytes, cv2.IMREAD_COLOR)
            mask = _decode(record.mask_bytes, cv2.IMREAD_UNCHANGED)
            assert record.label.strip() == record.label and record.label
            assert image.shape[0] == 32 and 8 <= image.shape[1] <= 256
            assert mask.dtype == np.uint8 and mask.shape == image.shape[:2]
            assert set(np.unique(mask)) == {0, 255}
        described = describe_dataset(out / split / "words.lmdb")
        assert described["profile"] == {"crops": n}
        assert described["schema"]["keys"] == ["num-samples", "image-%09d", "label-%09d", "mask-%09d"]
    assert [key for key, _, _ in ctx.images] == ["samples/train_words", "samples/test_words", "samples/clutter_words"]
    assert ctx.progress_reports[-1] == (10, 10, "words")


def test_masks_cover_exactly_the_glyphs_on_a_plain_background():
    style = WordStyle(fonts=find_fonts(), background="plain", blur_prob=0.0, noise_prob=0.0, shadow_prob=0.0,
                      border_prob=0.0, curved_fraction=0.5)
    source = TextSource(words=("hello", "world", "recognition"), random_fraction=0.0, number_fraction=0.0,
                        random_chars="ab", random_length=(2, 3), case_weights=(1, 1, 1), held_out_fraction=0.5,
                        partition=False, held_out=False)
    for index in range(12):
        word = render_word(style, source, word_rng(0, "t", index))
        image = word.image.astype(np.int32)
        glyph = word.mask == 255
        background = image[0, 0] if not glyph[0, 0] else image[-1, -1]
        differs = np.abs(image - background).max(axis=2) > 8
        # every glyph pixel shows the text colour, not the background ...
        assert differs[glyph].mean() > 0.97, word.text
        # ... and every visible pixel lies on a glyph or its anti-aliased rim (under 2 px: an upscaled edge).
        rim = cv2.dilate(word.mask, np.ones((5, 5), np.uint8)) == 255
        assert not (differs & ~rim).any(), word.text
        assert word.mask.shape == word.image.shape[:2]


def test_same_seed_gives_byte_identical_lmdbs_whatever_the_sharding(tmp_path):
    out_a, _, _ = _run(tmp_path / "a")
    out_b, _, _ = _run(tmp_path / "b", shard_size=7)
    assert (out_a / "train/words.lmdb/data.mdb").read_bytes() == (out_b / "train/words.lmdb/data.mdb").read_bytes()
    assert (out_a / "test/words.lmdb/data.mdb").read_bytes() == (out_b / "test/words.lmdb/data.mdb").read_bytes()
    params = SynthParams.model_validate({"seed": 1, "words": WORDS})
    (tmp_path / "c").mkdir()
    STAGE.fn(params, {}, tmp_path / "c", LocalContext("synth"))
    assert (out_a / "train/words.lmdb/data.mdb").read_bytes() != (tmp_path / "c/train/words.lmdb/data.mdb").read_bytes()


def _labels(folder: Path) -> set[str]:
    return {normalise(r.label) for r in parse(folder / "words.lmdb")}


def test_held_out_splits_share_no_text_with_the_others(tmp_path):
    # the built-in list is short, so without the partition train and test would share many words.
    words = {"lexicon": "builtin", "height": 12, "blur_prob": 0, "noise_prob": 0, "curved_fraction": 0,
             "splits": {"train": {"count": 200, "background": "plain"},
                        "test": {"count": 80, "held_out": True, "background": "plain"}},
             "shard_size": 100, "samples": 0}
    out, _, _ = _run(tmp_path / "held", **words)
    train, test = _labels(out / "train"), _labels(out / "test")
    assert train and test and not (train & test)
    assert all(is_held_out(t, 0.2) for t in test) and not any(is_held_out(t, 0.2) for t in train)
    # training splits never use held-out texts, even when the held-out split is another stage's.
    out_train, _, _ = _run(tmp_path / "train_only", **{**words, "splits": {"train": words["splits"]["train"]}})
    assert _labels(out_train / "train") == train
    # without the partition the two would overlap: the test above can fail.
    all_texts = TextSource(words=load_words("builtin", None, (2, 12)), random_fraction=0.1, number_fraction=0.1,
                           random_chars="ab", random_length=(2, 3), case_weights=(1, 1, 1), held_out_fraction=0.2,
                           partition=False, held_out=False)
    from stages.synth.vocabulary import sample_text

    unpartitioned = {normalise(sample_text(all_texts, np.random.default_rng(i))) for i in range(200)}
    assert unpartitioned & test


def test_word_list_and_text_kinds():
    words = load_words("english-words", None, (3, 8))
    assert len(words) > 50_000 and list(words) == sorted(set(words))
    assert all(w.isalpha() and w.islower() and 3 <= len(w) <= 8 for w in words)
    assert "house" in words
    with pytest.raises(ValueError, match="lexicon_file is not set"):
        load_words("file", None, (1, 5))
    source = TextSource(words=("alpha",), random_fraction=0.5, number_fraction=0.0, random_chars="xyz",
                        random_length=(4, 4), case_weights=(1, 0, 0), held_out_fraction=0.5, partition=False,
                        held_out=False)
    from stages.synth.vocabulary import sample_text

    texts = [sample_text(source, np.random.default_rng(i)) for i in range(40)]
    randoms = [t for t in texts if t != "alpha"]
    assert 5 < len(randoms) < 35 and all(len(t) == 4 and set(t) <= set("xyz") for t in randoms)


def test_words_params_are_validated():
    assert SynthParams.model_validate({"words": WORDS}).splits == {}  # no scenes unless asked for
    both = SynthParams.model_validate({"splits": {"scenes": 2}, "words": WORDS})
    assert both.output_names() == ["scenes", "train_words", "test_words", "clutter_words"]
    with pytest.raises(ValidationError, match="at least one split is needed"):
        SynthParams.model_validate({"splits": {}})
    with pytest.raises(ValidationError, match="clash with scene splits"):
        SynthParams.model_validate({"splits": {"a_words": 1}, "words": {"splits": {"a": 1}}})
    with pytest.raises(ValidationError, match=r"words.splits.*\n.*split name"):
        SynthParams.model_validate({"words": {"splits": {"../x": 1}}})
    with pytest.raises(ValidationError, match="random_fraction \\+ number_fraction must be <= 1"):
        SynthParams.model_validate({"words": {"splits": {"a": 1}, "random_fraction": 0.6, "number_fraction": 0.6}})
    with pytest.raises(ValidationError, match=r"words.splits.a.background"):
        SynthParams.model_validate({"words": {"splits": {"a": {"count": 1, "background": "busy"}}}})
    with pytest.raises(ValidationError, match="width 300 is above max_width 256"):
        SynthParams.model_validate({"words": {"splits": {"a": 1}, "width": 300}})
    with pytest.raises(ValidationError, match=r"words.font_scale\n.*must lie within \[0.5, 4.0\], got \[0.2, 1.0\]"):
        SynthParams.model_validate({"words": {"splits": {"a": 1}, "font_scale": [0.2, 1.0]}})
    with pytest.raises(ValidationError, match=r"words.blur_sigma\n.*low 2.0 is above high 1.0"):
        SynthParams.model_validate({"words": {"splits": {"a": 1}, "blur_sigma": [2.0, 1.0]}})


def test_fixed_width_images(tmp_path):
    out, _, _ = _run(tmp_path, splits={"train": 6}, width=100)
    shapes = {_decode(r.image_bytes, cv2.IMREAD_COLOR).shape for r in parse(out / "train" / "words.lmdb")}
    assert shapes == {(32, 100, 3)}


def test_low_resolution_words_lose_detail_the_size_of_their_capture_height():
    from stages.synth.word_image import low_resolution

    rng = np.random.default_rng(0)
    sharp = render_word(WordStyle(height=64, fonts=find_fonts(None)[:1], blur_prob=0.0, noise_prob=0.0),
                        TextSource(words=("Southwark",), random_fraction=0.0, number_fraction=0.0,
                                   random_chars="x", random_length=(1, 1), case_weights=(0, 1, 0),
                                   held_out_fraction=0.5, partition=False, held_out=False), rng).image
    small = low_resolution(sharp, 12)
    assert small.shape == sharp.shape and small.dtype == np.uint8
    # Fine detail (Laplacian energy) is mostly gone; a capture at the image's own height changes nothing.
    assert _detail(small) < 0.25 * _detail(sharp)
    assert np.array_equal(low_resolution(sharp, 64), sharp)


def test_punctuation_is_attached_to_words_and_ignored_by_the_partition():
    from stages.synth.vocabulary import sample_text

    source = TextSource(words=("garden",), random_fraction=0.0, number_fraction=0.0, random_chars="x",
                        random_length=(1, 1), case_weights=(1, 0, 0), held_out_fraction=0.5, partition=True,
                        held_out=is_held_out("garden", 0.5), punctuation_fraction=1.0, punctuation=",;")
    texts = {sample_text(source, np.random.default_rng(i)) for i in range(30)}
    assert texts == {"garden,", "garden;"}
    none = TextSource(**{**source.__dict__, "punctuation_fraction": 0.0})
    assert {sample_text(none, np.random.default_rng(i)) for i in range(10)} == {"garden"}


def test_photo_like_knobs_are_validated_and_reach_the_images(tmp_path):
    with pytest.raises(ValidationError, match=r"words.low_res_height\n.*must lie within \[4, 256\]"):
        SynthParams.model_validate({"words": {"splits": {"a": 1}, "low_res_height": [2, 8]}})
    with pytest.raises(ValidationError, match=r"words.punctuation\n.*characters that are letters or digits: 'a'"):
        SynthParams.model_validate({"words": {"splits": {"a": 1}, "punctuation": ",a"}})
    knobs = {"splits": {"a": 6}, "height": 48, "blur_prob": 0.0, "noise_prob": 0.0, "jpeg_quality": [100, 100],
             "random_fraction": 0.0, "number_fraction": 0.0, "samples": 0, "punctuation_fraction": 1.0,
             "punctuation": "!"}
    out, _, _ = _run(tmp_path / "low", **knobs, low_res_prob=1.0, low_res_height=[10, 10])
    sharp_out, _, _ = _run(tmp_path / "sharp", **knobs)
    crops, sharp = (list(parse(o / "a" / "words.lmdb")) for o in (out, sharp_out))
    assert [c.label for c in crops] == [c.label for c in sharp] and all(c.label.endswith("!") for c in crops)
    for low, high in zip(crops, sharp):  # the same rendering, captured 10 px high
        assert _detail(_decode(low.image_bytes, cv2.IMREAD_COLOR)) < 0.5 * _detail(_decode(high.image_bytes,
                                                                                           cv2.IMREAD_COLOR))


def _detail(image: np.ndarray) -> float:
    """Variance of the Laplacian of the grey image: how much fine detail it holds."""
    return float(cv2.Laplacian(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), cv2.CV_32F).var())
