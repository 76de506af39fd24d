"""The ``attention`` recognizer: shapes, EOS handling, and learning a tiny fixed set."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from models.recognition.attention_spec import ATTENTION, AttentionConfig, build, decode, loss, targets
from models.recognition.charset import charset_of
from models.recognition.eos_sequences import greedy_decode
from tests.models.recognition.words import batch, fit

WORDS = ["cat", "dog", "bird", "fish"]


def _tiny() -> AttentionConfig:
    return AttentionConfig.model_validate(ATTENTION.tiny)


def test_targets_pad_label_and_cut_long_words():
    make = targets(_tiny())  # max_length 8, lower36
    out = make("Ab-c", None)
    assert out["label"].dtype == np.int64 and out["label"].tolist() == [11, 12, 13, 0, 0, 0, 0, 0]
    assert int(out["length"]) == 3
    assert int(make("abcdefghijk", None)["length"]) == 8
    assert int(make("!!", None)["length"]) == 0  # nothing trainable left


def test_greedy_decode_stops_at_first_eos():
    charset = charset_of({"kind": "lower36"})
    eos = charset.size + 1
    ids = [11, 12, eos, 13, 14]  # "ab", EOS, then characters that must not be read
    logits = np.full((1, 5, eos + 1), -5.0)
    logits[0, np.arange(5), ids] = 5.0
    text, score = greedy_decode(logits, charset)[0]
    assert text == "ab"
    expected = np.exp(5) / (np.exp(5) + eos * np.exp(-5))
    assert abs(score - expected) < 1e-6


def test_beam_search_is_refused_by_name():
    logits = {"logits": np.zeros((1, 9, 38), np.float32)}
    with pytest.raises(ValueError, match="attention decoding is greedy: beam_width must be 1, got 5"):
        decode(logits, _tiny(), {"beam_width": 5})


def test_inference_stops_when_the_decoder_says_eos():
    cfg = _tiny()
    model = build(cfg, False).eval()
    with torch.no_grad():  # force EOS at every step: the decoder stops after one step and pads with EOS
        model.decoder.classify.weight.zero_()
        model.decoder.classify.bias.fill_(0.0)
        model.decoder.classify.bias[model.eos] = 10.0
        images, _ = batch(WORDS, targets(cfg))
        logits = model(images)["logits"]
    assert logits.shape == (4, cfg.max_length + 1, model.eos + 1)
    assert (logits.argmax(-1) == model.eos).all()
    assert (logits[:, 1:, model.eos] == 0).all() and (logits[:, 1:, : model.eos] == -1e4).all()  # padded, not run
    assert [text for text, _ in decode({"logits": logits.numpy()}, cfg, {})] == [""] * 4


def test_loss_decreases_and_the_tiny_set_is_read_back():
    torch.manual_seed(0)
    cfg = _tiny()
    model, criterion = build(cfg, False), loss(cfg)
    images, truth = batch(WORDS, targets(cfg))
    losses = [step["total"] for step in fit(model, criterion, images, truth, lr=3e-3, steps=120)]
    assert losses[-1] < 0.1 * losses[0]
    assert all(p.grad is not None for p in model.parameters())  # every parameter trains (DDP needs that)
    model.eval()
    with torch.no_grad():
        read = decode({"logits": model(images)["logits"].numpy()}, cfg, {"beam_width": 1})
    assert [text for text, _ in read] == WORDS  # greedy decoding stops at each word's own EOS
