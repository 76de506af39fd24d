"""Importing outside weights: english_g2 loads strictly into ``crnn`` and reads rendered words; a wrong
or truncated file fails naming the file and the keys that differ."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from models.pretrained import IMPORTERS, get_importer, import_file, read_state_dict
from models.recognition.charset import charset_of
from models.recognition.predictor import Recognizer
from models.tasks import architecture_of
from models.weights_fit import WeightsMismatch

easyocr_en_models = pytest.importorskip("easyocr_en_models", reason="the project's 'pretrained' extra")
WEIGHTS = Path(easyocr_en_models.model_dir())
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
WORDS = ["Hello", "World", "OPEN", "coffee", "Street", "Station", "Market", "London", "2024", "Exit"]


@pytest.fixture(scope="module")
def english_g2():
    return import_file(WEIGHTS / "english_g2.pth", "easyocr_english_g2")


def test_english_g2_loads_every_weight_strictly_into_crnn(english_g2):
    config, model = english_g2
    raw = read_state_dict(WEIGHTS / "english_g2.pth")
    assert len(raw) == 44 and len(model.state_dict()) == 44
    assert (config["arch"], config["backbone"]["name"], config["gray"], config["height"]) == ("crnn", "vgg", True, 64)
    assert torch.equal(model.state_dict()["classifier.weight"], raw["module.Prediction.weight"])
    assert torch.equal(model.state_dict()["cnn.18.weight"], raw["module.FeatureExtraction.ConvNet.18.weight"])


def test_the_easyocr_en_charset_holds_the_96_characters_in_class_order():
    charset = charset_of({"kind": "easyocr_en"})
    assert charset.size == 96
    assert charset.decode([1, 10, 11, 43, 44, 45, 70, 96]) == "09! €AZz"  # digits, punctuation, space, €, letters
    assert charset.normalise("Café 5€") == "Caf 5€"  # case kept; é is not in the set


def test_the_craft_file_given_to_the_english_g2_importer_fails_naming_the_file_and_keys():
    with pytest.raises(WeightsMismatch) as err:
        import_file(WEIGHTS / "craft_mlt_25k.pth", "easyocr_english_g2")
    message = str(err.value)
    assert message.startswith(f"{WEIGHTS / 'craft_mlt_25k.pth'}: does not hold the weights importer "
                              "'easyocr_english_g2' expects")
    assert "44 missing: classifier.bias" in message and "154 unexpected: basenet.slice1.0.bias" in message


def test_a_truncated_state_dict_fails_listing_the_missing_keys(tmp_path):
    raw = read_state_dict(WEIGHTS / "english_g2.pth")
    truncated = {k: v for k, v in raw.items() if not k.startswith("module.SequenceModeling.1.")}
    file = tmp_path / "truncated.pth"
    torch.save(truncated, file)
    with pytest.raises(WeightsMismatch) as err:
        import_file(file, "easyocr_english_g2")
    block = [f"sequence.1.{name}" for name in ("linear.bias", "linear.weight")] + sorted(
        f"sequence.1.rnn.{kind}_l0{suffix}" for kind in ("bias_hh", "bias_ih", "weight_hh", "weight_ih")
        for suffix in ("", "_reverse"))
    assert str(err.value).endswith("keys after mapping: 10 missing: " + ", ".join(block))
    assert str(err.value).startswith(f"{file}: ")


def test_a_file_that_is_no_state_dict_and_an_unknown_importer_fail_clearly(tmp_path):
    file = tmp_path / "notes.pth"
    file.write_text("not weights")
    with pytest.raises(ValueError, match=f"^{file}: not a readable PyTorch weights file"):
        read_state_dict(file)
    with pytest.raises(KeyError, match="unknown importer 'g3'; valid: craft_mlt_25k, easyocr_english_g2"):
        get_importer("g3")
    assert sorted(IMPORTERS) == ["craft_mlt_25k", "easyocr_english_g2"]


def render(word: str, ink: tuple[int, int, int], paper: tuple[int, int, int], size: int = 40) -> np.ndarray:
    """(h, w, 3) uint8 RGB of ``word`` in DejaVu Sans with an 8-pixel margin."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(str(FONT), size)
    left, top, right, bottom = font.getbbox(word)
    image = Image.new("RGB", (right - left + 16, bottom - top + 16), paper)
    ImageDraw.Draw(image).text((8 - left, 8 - top), word, font=font, fill=ink)
    return np.asarray(image)


@pytest.mark.skipif(not FONT.is_file(), reason="DejaVu Sans (Debian fonts-dejavu-core) is not installed")
@pytest.mark.parametrize("ink, paper", [((0, 0, 0), (255, 255, 255)), ((40, 40, 120), (235, 230, 210))],
                         ids=["black-on-white", "light"])
def test_the_imported_recognizer_reads_words_rendered_in_a_common_font(english_g2, ink, paper):
    config, model = english_g2
    typed = architecture_of(config).config.model_validate(config)
    recognizer = Recognizer(model, typed, architecture_of(config), "cpu")
    readings = recognizer.recognize([render(w, ink, paper) for w in WORDS])
    wrong = [(word, text) for word, (text, _) in zip(WORDS, readings) if text != word]
    assert len(wrong) <= 2, wrong  # measured: all 10 read exactly in both variants
