"""The glass spotter's network, targets, loss, reading boxes and part initialisation."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from models.build import build_loss, build_model, target_maker, validate_config
from models.spotting.glass import LOCAL_BIAS, rectified_crops
from models.spotting.glass_spec import init_parts
from models.spotting.predictor import reading_box

CFG = validate_config({"arch": "glass"})
UPRIGHT = np.array([[20, 20], [120, 20], [120, 50], [20, 50]], np.float32)  # reads left to right
UPSIDE_DOWN = np.array([[200, 200], [100, 200], [100, 170], [200, 170]], np.float32)  # start at bottom right


def _batch(items: list[dict[str, np.ndarray]]) -> dict[str, torch.Tensor]:
    return {k: torch.from_numpy(np.stack([it[k] for it in items])) for k in items[0]}


def test_targets_give_each_readable_word_its_box_reading_angle_and_label():
    t = target_maker(CFG)(256, 256, [UPRIGHT, UPSIDE_DOWN], [False, False], [1.0, 0.5], texts=["Hello", "wor1d"])
    np.testing.assert_allclose(t["word_boxes"][:2], [[70, 35, 100, 30, 0], [150, 185, 100, 30, 180]], atol=1e-4)
    np.testing.assert_array_equal(t["word_valid"][:3], [1.0, 0.5, 0.0])
    np.testing.assert_array_equal(t["word_lengths"][:3], [5, 5, 0])
    assert t["word_labels"][0, :5].tolist() == [18, 15, 22, 22, 25]  # "hello" in lower36 (1-based ids)
    # the angle map holds each word's reading angle over its polygon, at stride 4, weighted
    assert t["angle_target"][35 // 4, 70 // 4] == 0.0 and t["angle_weight"][35 // 4, 70 // 4] == 1.0
    assert t["angle_target"][185 // 4, 150 // 4] == 180.0 and t["angle_weight"][185 // 4, 150 // 4] == 0.5
    assert t["angle_weight"][0, 0] == 0.0


def test_targets_skip_dont_care_unreadable_low_and_surplus_words():
    cfg = validate_config({"arch": "glass", "words": {"max_words": 2, "min_height": 10}})
    low = np.array([[10, 100], [60, 100], [60, 106], [10, 106]], np.float32)  # 6 px high
    polys = [UPRIGHT, UPRIGHT + 60, low, UPRIGHT + 100, UPSIDE_DOWN]
    t = target_maker(cfg)(256, 256, polys, [True, False, False, False, False], [1.0] * 5,
                          texts=["dontcare", "!!!", "low", "kept", "alsokept"])
    # don't care, a text with nothing in the charset and a low word are not read; the first two
    # readable words fill the two slots and the last is left to detection alone
    np.testing.assert_array_equal(t["word_lengths"], [4, 8])
    np.testing.assert_allclose(t["word_boxes"][0, :2], [170, 135])


def test_forward_and_loss_train_every_part():
    model, loss_fn = build_model(CFG), build_loss(CFG)
    t = target_maker(CFG)(128, 128, [UPRIGHT / 2], [False], [1.0], texts=["abc"])
    batch = _batch([t, t])
    out = model(torch.randn(2, 3, 128, 128), batch)
    assert out["prob"].shape == (2, 1, 128, 128) and out["angle"].shape == (2, 2, 32, 32)
    assert out["rec_logits"].shape == (2, 24, 37)  # two words, T = 100 / 4 - 1 columns, 36 + blank
    losses = loss_fn(out, batch)
    losses["total"].backward()
    for name in ("detector.backbone", "detector.head", "reader.cnn", "reader.sequence", "angle", "global_proj",
                 "fusion"):
        grads = [p.grad for n, p in model.named_parameters() if n.startswith(name)]
        assert grads and all(g is not None for g in grads), name
        assert any(float(g.abs().sum()) > 0 for g in grads), name
    assert float(losses["ctc"].detach()) > 0 and float(losses["angle"].detach()) > 0


def test_a_batch_without_readable_words_trains_detection_with_zero_ctc():
    model, loss_fn = build_model(CFG), build_loss(CFG)
    t = target_maker(CFG)(128, 128, [UPRIGHT / 2], [False], [1.0], texts=["###"])
    out = model(torch.randn(1, 3, 128, 128), _batch([t]))
    losses = loss_fn(out, _batch([t]))
    assert float(losses["ctc"].detach()) == 0.0
    losses["total"].backward()  # the dummy box keeps the reader in the graph
    assert all(p.grad is not None for p in model.reader.parameters())


@pytest.mark.parametrize("turns", [0, 1, 2, 3])
def test_rectified_crop_reads_a_word_upright_at_any_right_angle(turns):
    # A 16 x 48 asymmetric patch (a gradient left to right plus a bar on top) inside a 96 x 96 image,
    # turned counter-clockwise by 90 * turns; its box with the matching reading angle must crop it back
    # upright, and since it is 3:1 (narrower than the 32 x 100 crop) the columns past it are zero.
    patch = np.tile(np.linspace(0.1, 1.0, 48, dtype=np.float32), (16, 1))
    patch[:3] = 2.0
    image = np.zeros((96, 96), np.float32)
    image[40:56, 24:72] = patch
    turned = np.ascontiguousarray(np.rot90(image, turns))
    box = torch.tensor([[0.0, 48.0, 48.0, 48.0, 16.0, 90.0 * turns]])
    crop = rectified_crops(torch.from_numpy(turned)[None, None].expand(1, 3, 96, 96), box, (32, 100))[0, 0]
    filled = int(np.ceil(48 / (16 * 100 / 32) * 100))  # 96 of the 100 columns hold the word
    assert crop.shape == (32, 100)
    assert float(crop[:, filled:].abs().max()) == 0.0
    assert float(crop[2, 10]) == pytest.approx(2.0, abs=0.05)  # the bar, on top
    # left to right, the ramp rises (mid-height, away from the edges)
    row = crop[20, 4:filled - 4].numpy()
    assert np.all(np.diff(row) >= -1e-4) and row[-1] - row[0] > 0.7


SQUARISH = np.array([[50, 20], [90, 20], [90, 50], [50, 50]], np.float32)  # 40 x 30: may stand either way


@pytest.mark.parametrize("box, predicted, expected_angle, expected_wh", [
    (UPRIGHT, 0.0, 0.0, (100.0, 30.0)), (UPRIGHT, 180.0, 180.0, (100.0, 30.0)), (UPRIGHT, 350.0, 0.0, (100.0, 30.0)),
    # a long box reads along its long side: 95 degrees is nearer 180 than 0 there
    (UPRIGHT, 95.0, 180.0, (100.0, 30.0)),
    # a near-square box may read across: 95 degrees turns it to stand up
    (SQUARISH, 95.0, 90.0, (30.0, 40.0)), (SQUARISH, 10.0, 0.0, (40.0, 30.0))])
def test_reading_box_turns_the_rectangle_to_the_predicted_reading_angle(box, predicted, expected_angle, expected_wh):
    angle_map = np.zeros((2, 64, 64), np.float32)
    angle_map[0], angle_map[1] = np.cos(np.radians(predicted)), np.sin(np.radians(predicted))
    cx, cy, w, h, angle = reading_box(box.astype(np.float64), angle_map)
    assert (cx, cy) == pytest.approx(tuple(box.mean(axis=0)), abs=1e-3)
    assert angle == pytest.approx(expected_angle, abs=1e-3)
    assert (w, h) == pytest.approx(expected_wh, abs=1e-3)


def _checkpoint(config: dict, seed: int) -> dict:
    torch.manual_seed(seed)
    parsed = validate_config(config)
    return {"model_config": parsed.model_dump(), "state_dict": build_model(parsed).state_dict(), "step": 7}


def test_init_parts_loads_a_trained_detector_and_recognizer_into_the_spotter():
    model = build_model(CFG)
    det = _checkpoint(CFG.detector.model_dump(), 1)
    rec = _checkpoint(CFG.recognizer.model_dump(), 2)
    loaded = init_parts(model, CFG, {"detector": det, "recognizer": rec})
    assert loaded == [f"detector: {len(det['state_dict'])} tensors at step 7",
                      f"recognizer: {len(rec['state_dict'])} tensors at step 7"]
    for key, value in det["state_dict"].items():
        assert torch.equal(model.detector.state_dict()[key], value), key
    for key, value in rec["state_dict"].items():
        assert torch.equal(model.reader.state_dict()[key], value), key
    # the fusion starts in favour of the reader's own (local) features
    assert model.fusion.score.bias.tolist() == [0.0, LOCAL_BIAS]


def test_init_parts_refuses_a_checkpoint_of_another_shape_or_architecture():
    model = build_model(CFG)
    wider = _checkpoint({**CFG.recognizer.model_dump(), "hidden": 32}, 0)
    with pytest.raises(ValueError, match=r"model.recognizer differs .* at hidden \(64 here, 32 there\)"):
        init_parts(model, CFG, {"recognizer": wider})
    with pytest.raises(ValueError, match="the detector is a dbnet, but its init checkpoint is a 'crnn' model"):
        init_parts(model, CFG, {"detector": _checkpoint(CFG.recognizer.model_dump(), 0)})
    with pytest.raises(KeyError, match="unknown part 'neck'"):
        init_parts(model, CFG, {"neck": wider})


def test_init_parts_accepts_a_recognizer_trained_at_another_crop_width():
    # the crop width and padding do not shape the reader's weights: a variable-width recognizer starts it
    model = build_model(CFG)
    variable = _checkpoint({**CFG.recognizer.model_dump(), "width": None, "pad": "edge"}, 3)
    init_parts(model, CFG, {"recognizer": variable})
    assert torch.equal(model.reader.classifier.weight, variable["state_dict"]["classifier.weight"])


def test_the_optimizer_gives_the_spotters_own_parts_a_scaled_learning_rate():
    from stages.train.loop import make_optimizer
    from stages.train.params import OptimParams

    model = build_model(validate_config({"arch": "glass", "new_lr_scale": 4.0}))
    optimizer = make_optimizer(OptimParams(lr=1e-3, weight_decay=0.01), model)
    by_param = {id(p): (g["lr"], g["weight_decay"]) for g in optimizer.param_groups for p in g["params"]}
    for name, p in model.named_parameters():
        new = name.startswith(("angle.", "global_proj.", "fusion."))
        expected = (4e-3 if new else 1e-3, 0.01 if p.ndim > 1 else 0.0)
        assert by_param[id(p)] == pytest.approx(expected), name
    assert optimizer.param_groups[0]["lr"] == 1e-3 and optimizer.param_groups[0]["weight_decay"] == 0.01
    assert len(by_param) == len(list(model.parameters()))
