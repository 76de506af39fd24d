"""How training batches fill crops narrower than the batch's widest: zeros, or the crop's last column
repeated (``pad: edge``, how EasyOCR trained its recognizers), chosen by the model config."""
from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from models.build import validate_config
from models.recognition.crnn_import import ENGLISH_G2_CONFIG
from models.recognition.preprocess import pad_batch
from stages.train.rec_data import collate_words
from stages.train.task_parts import train_task


def _items() -> list[dict]:
    rng = np.random.default_rng(0)
    narrow = rng.integers(0, 256, (8, 5, 3), dtype=np.uint8)
    wide = rng.integers(0, 256, (8, 9, 3), dtype=np.uint8)
    return [{"image": im, "label": np.zeros(4, np.int64), "dataset": 0, "skipped": 0} for im in (narrow, wide)]


def test_edge_padding_repeats_each_crops_last_column():
    items = _items()
    batch = collate_words(items, pad="edge")["image"].numpy()
    narrow = items[0]["image"]
    assert np.array_equal(batch[0, :, :5], narrow)
    assert np.array_equal(batch[0, :, 5:], np.repeat(narrow[:, -1:], 4, axis=1))
    assert np.array_equal(batch[1], items[1]["image"])  # the widest crop is untouched
    assert collate_words(items)["image"].numpy()[0, :, 5:].max() == 0  # zeros stay the default


def test_an_unknown_pad_mode_is_an_error_naming_it():
    with pytest.raises(ValueError, match="pad 'mirror': valid modes are edge, zeros"):
        pad_batch([np.zeros((4, 4, 3), np.uint8)], pad="mirror")


def test_the_training_batches_pad_as_the_model_config_says():
    config = validate_config({**ENGLISH_G2_CONFIG}).model_dump()
    assert config["pad"] == "edge"  # the import trains the way EasyOCR trained it
    edge = train_task(config).collate_for(config)(_items())["image"].numpy()
    zeros_config = {**config, "pad": "zeros"}
    zeros = train_task(zeros_config).collate_for(zeros_config)(_items())["image"].numpy()
    assert all(np.array_equal(edge[0, :, col], edge[0, :, 4]) for col in range(5, 9))
    assert zeros[0, :, 5:].max() == 0


def test_the_pad_mode_is_validated_with_its_key():
    with pytest.raises(ValidationError, match=r"pad\n.*'zeros' or 'edge'"):
        validate_config({**ENGLISH_G2_CONFIG, "pad": "mirror"})
