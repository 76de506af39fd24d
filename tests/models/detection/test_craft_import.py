"""The public CRAFT weights (craft_mlt_25k.pth) map onto our network with strict key checks."""
import os

import pytest
import torch

import models
from models.detection.craft_import import craft_from_easyocr

easyocr_en_models = pytest.importorskip("easyocr_en_models")


def _public(name):
    return torch.load(os.path.join(easyocr_en_models.model_dir(), name), map_location="cpu", weights_only=True)


@pytest.fixture(scope="module")
def craft_state():
    return _public("craft_mlt_25k.pth")


def test_public_weights_load_strictly_into_the_full_width_network(craft_state):
    config, state = craft_from_easyocr(craft_state, "craft_mlt_25k.pth")
    assert config == {"arch": "craft", "net": {"width": 1.0}}
    model = models.build_model(config, init_weights=False)
    model.load_state_dict(state, strict=True)
    conv5_1 = getattr(model.basenet.slice4, "30")  # VGG16-BN features[30] keeps its index
    torch.testing.assert_close(conv5_1.weight, craft_state["module.basenet.slice4.30.weight"])
    torch.testing.assert_close(model.conv_cls[8].bias, craft_state["module.conv_cls.8.bias"])
    assert len(state) == len(craft_state)


def test_keys_without_the_data_parallel_prefix_are_accepted(craft_state):
    bare = {k.removeprefix("module."): v for k, v in craft_state.items()}
    assert set(craft_from_easyocr(bare)[1]) == set(bare)


def test_the_recognizer_file_is_refused_naming_it_and_its_keys():
    with pytest.raises(ValueError) as err:
        craft_from_easyocr(_public("english_g2.pth"), "english_g2.pth")
    message = str(err.value)
    assert message.startswith("english_g2.pth: does not hold the weights importer 'craft_mlt_25k' expects")
    assert "154 missing: basenet.slice1.0.bias" in message
    assert "44 unexpected: FeatureExtraction.ConvNet.0.bias" in message


def test_a_truncated_dict_lists_what_is_missing(craft_state):
    truncated = {k: v for k, v in craft_state.items() if not k.startswith("module.conv_cls")}
    with pytest.raises(ValueError, match=r"cut\.pth: does not hold .*: 10 missing: conv_cls\.0\.bias, "
                                         r"conv_cls\.0\.weight, [^;]*$"):
        craft_from_easyocr(truncated, "cut.pth")


def test_a_mis_shaped_tensor_is_named_with_both_shapes(craft_state):
    wrong = dict(craft_state, **{"module.conv_cls.8.weight": torch.zeros(3, 16, 1, 1)})
    with pytest.raises(ValueError, match=r"1 of another shape \(file vs model\): "
                                         r"conv_cls\.8\.weight \(3, 16, 1, 1\) vs \(2, 16, 1, 1\)"):
        craft_from_easyocr(wrong, "wrong.pth")


def test_something_that_is_not_a_state_dict_is_refused():
    with pytest.raises(ValueError, match="x.pth: expected a non-empty state dict"):
        craft_from_easyocr([], "x.pth")
