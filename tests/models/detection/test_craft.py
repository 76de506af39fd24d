"""CRAFT network: output shapes at half resolution, the width knob, and the VGG slices' ReLU rule."""
import pytest
import torch
from torch import nn

import models
from models.detection.craft import CRAFT


@pytest.mark.parametrize("hw", [(64, 64), (96, 160)])
def test_tiny_craft_gives_region_and_affinity_at_half_resolution(hw):
    model = models.build_model(models.tiny_config("craft")).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 3, *hw))
    assert set(out) == {"region", "affinity"}
    for value in out.values():
        assert value.shape == (2, 1, hw[0] // 2, hw[1] // 2)


def test_tiny_craft_is_cpu_sized_and_full_width_has_the_public_shapes():
    tiny = models.build_model(models.tiny_config("craft"))
    assert sum(p.numel() for p in tiny.parameters()) < 1_500_000
    full = CRAFT(width=1.0).state_dict()
    assert tuple(full["basenet.slice5.1.weight"].shape) == (1024, 512, 3, 3)
    assert tuple(full["upconv1.conv.0.weight"].shape) == (512, 1536, 1, 1)
    assert tuple(full["upconv4.conv.3.weight"].shape) == (32, 64, 3, 3)
    assert tuple(full["conv_cls.8.weight"].shape) == (2, 16, 1, 1)


def test_rejects_images_that_are_not_bchw_rgb():
    with pytest.raises(ValueError, match=r"CRAFT expects images of shape \(B, 3, H, W\), got \(1, 1, 32, 32\)"):
        CRAFT(width=0.25)(torch.zeros(1, 1, 32, 32))


def _original_style_features(encoder, x):
    """The original's encoder semantics: each of slices 2-4 starts with an *in-place* ReLU, which
    also rectifies the tensor saved as the previous slice's feature; slice 5 starts with a max-pool."""
    def with_inplace_relu(slice_):
        layers = [nn.ReLU(inplace=True) if isinstance(m, nn.ReLU) else m for m in slice_]
        return nn.Sequential(*layers)

    s1 = with_inplace_relu(encoder.slice1)(x)
    s2 = with_inplace_relu(encoder.slice2)(s1)
    s3 = with_inplace_relu(encoder.slice3)(s2)
    s4 = with_inplace_relu(encoder.slice4)(s3)
    s5 = encoder.slice5(s4)
    return s5, s4, s3, s2, s1


def test_skip_features_match_the_in_place_relu_semantics():
    torch.manual_seed(0)
    model = CRAFT(width=0.25).eval()
    with torch.no_grad():
        for m in model.modules():  # non-trivial BN statistics: outputs take both signs
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.bias.uniform_(-0.5, 0.5)
        x = torch.randn(1, 3, 64, 64)
        ours = model.basenet(x)
        reference = _original_style_features(model.basenet, x.clone())
    for a, b in zip(ours, reference):
        torch.testing.assert_close(a, b)
    s5, s4, s3, s2, s1 = ours
    assert min(s1.min(), s2.min(), s3.min()) >= 0  # rectified by the next slice's ReLU
    assert s4.min() < 0  # conv5_3's BN output reaches the decoder un-rectified
