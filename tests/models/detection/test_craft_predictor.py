"""The detection predictor with a half-resolution architecture: maps cropped and scaled by the stride."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from models.detection import TASK


class BrightBlocks(nn.Module):
    """A stand-in network with CRAFT's output contract: region = affinity = 1 where the 2x2 input cell
    is not black (white, or the mean-coloured padding), else 0, at half the input resolution."""

    def forward(self, images):
        bright = (F.avg_pool2d(images[:, 0:1], 2) > -1).float()  # (B, 1, H/2, W/2); black is -2.1
        return {"region": bright, "affinity": bright}


@pytest.mark.parametrize("image_size", [300, 450, 200])
def test_craft_boxes_land_on_the_original_image_whatever_the_resize(image_size):
    rgb = np.zeros((200, 300, 3), np.uint8)
    rgb[60:90, 40:140] = 255  # a bright 100 x 30 block, centre (89.5, 74.5)
    detector = TASK.predictor(BrightBlocks(), {"arch": "craft"}, torch.device("cpu"))
    (found,) = detector.detect([rgb], image_size, {"mode": "quad"})
    assert len(found) == 1
    box = found[0][0]
    np.testing.assert_allclose(box.mean(axis=0), [89.5, 74.5], atol=2.5)
    # dilated (CRAFT grows a word's core), never beyond the image
    assert box[:, 0].min() <= 41 and box[:, 0].max() >= 138 and box[:, 1].min() <= 61 and box[:, 1].max() >= 88
    assert box.min() >= 0 and box[:, 0].max() <= 299 and box[:, 1].max() <= 199


def test_padding_beyond_the_image_gives_no_detections():
    rgb = np.zeros((40, 70, 3), np.uint8)  # padded to 64 x 96 with the mean colour, "bright" here
    rgb[10:30, 10:60] = 255
    detector = TASK.predictor(BrightBlocks(), {"arch": "craft"}, torch.device("cpu"))
    (found,) = detector.detect([rgb], 70, {"mode": "quad"})
    assert len(found) == 1
    assert found[0][0][:, 0].max() < 66 and found[0][0][:, 1].max() < 36  # the block, not the padding
