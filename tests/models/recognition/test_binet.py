"""The ``binet`` recognizer: shapes, glyph-mask targets, the segmentation branch, learning a tiny set."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from pydantic import ValidationError

from models.recognition.binet import segmentation_loss
from models.recognition.binet_spec import BINET, BINetConfig, build, decode, loss, targets
from tests.models.recognition.words import batch, fit, word_crop

WORDS = ["cat", "dog", "bird", "fish"]


def _tiny(**changes) -> BINetConfig:
    return BINetConfig.model_validate({**BINET.tiny, **changes})


def test_outputs_have_positions_iterations_and_the_crop_shape():
    cfg = _tiny()
    images, _ = batch(WORDS[:2], targets(cfg))
    out = build(cfg, False).eval()(images)
    steps, classes = cfg.max_length + 1, 36 + 2
    assert out["logits"].shape == out["vision_logits"].shape == (2, steps, classes)
    assert out["language_logits"].shape == out["fused_logits"].shape == (2, 2, steps, classes)
    assert out["seg_logits"].shape == (2, 32, 64)  # the crop's shape
    assert torch.equal(out["logits"], out["fused_logits"][:, -1])


def test_vision_only_when_iterations_is_zero():
    cfg = _tiny(language={"layers": 1, "iterations": 0})
    images, truth = batch(WORDS[:2], targets(cfg))
    model = build(cfg, False)
    out = model(images, truth)
    assert torch.equal(out["logits"], out["vision_logits"]) and "fused_logits" not in out
    assert set(loss(cfg)(out, truth)) == {"total", "vision", "segmentation"}
    loss(cfg)(out, truth)["total"].backward()
    assert all(p.grad is not None for p in model.parameters())  # every parameter trains (DDP needs that)


def test_glyph_mask_targets_are_fitted_to_the_input_size():
    make = targets(_tiny())  # 32 x 64, keep ratio
    mask = np.zeros((16, 16), np.uint8)
    mask[:, :8] = 255  # left half glyph, 8-bit as the LMDB's PNG holds it
    out = make("ab", mask)
    assert out["glyph_mask"].shape == (32, 64) and out["glyph_mask"].dtype == np.float32
    assert (out["glyph_mask"][:, :12] == 1).all() and (out["glyph_mask"][:, 20:] == 0).all()
    _, fitted = word_crop("ab")
    assert np.array_equal(make("ab", fitted)["glyph_mask"], fitted)  # already at input size: unchanged
    assert not make("ab", None)["glyph_mask"].any() and make("ab", None)["glyph_mask"].shape == (32, 64)


def test_segmentation_loss_skips_crops_without_a_mask():
    logits = torch.zeros(2, 4, 6)
    assert segmentation_loss(logits, torch.zeros(2, 4, 6)).item() == 0.0
    one = torch.zeros(2, 4, 6)
    one[0, 1:3, 1:4] = 1
    assert torch.isclose(segmentation_loss(logits, one), segmentation_loss(logits[:1], one[:1]))


def test_segmentation_branch_learns_the_glyph_mask():
    torch.manual_seed(0)
    cfg = _tiny(loss={"vision": 0.0, "language": 0.0, "fused": 0.0, "segmentation": 1.0})
    model, criterion = build(cfg, False), loss(cfg)
    images, truth = batch(WORDS, targets(cfg))
    seg = [step["segmentation"] for step in fit(model, criterion, images, truth, lr=3e-3, steps=100,
                                                 part="segmentation")]
    assert seg[-1] < 0.6 * seg[0]


def test_loss_decreases_on_a_tiny_fixed_set():
    torch.manual_seed(0)
    cfg = _tiny()
    model, criterion = build(cfg, False), loss(cfg)
    images, truth = batch(WORDS, targets(cfg))
    history = fit(model, criterion, images, truth, lr=2e-3, steps=150)
    for part in ("total", "vision", "language", "fused", "segmentation"):
        assert history[-1][part] < 0.5 * history[0][part], part
    model.eval()
    with torch.no_grad():
        read = decode({"logits": model(images)["logits"].numpy()}, cfg, {})
    assert [text for text, _ in read] == WORDS


def test_config_errors_name_the_key():
    with pytest.raises(ValidationError, match="vision.heads"):
        _tiny(vision={"dim": 30, "heads": 4})
    with pytest.raises(ValidationError, match="language.steps"):
        _tiny(language={"steps": 3})
