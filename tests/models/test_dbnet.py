"""DBNet forward shapes and the config builders."""
import pydantic
import pytest
import torch

import models
from models import resnet
from models.backbones import BACKBONE_NAMES


@pytest.mark.parametrize("hw", [(64, 64), (96, 128), (70, 90)])
def test_tiny_dbnet_outputs_full_resolution_maps(hw):
    model = models.build_model(models.tiny_config()).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 3, *hw))
    assert set(out) == {"prob", "thresh", "binary"}
    for v in out.values():
        assert v.shape == (2, 1, *hw)
        assert 0.0 <= v.min() and v.max() <= 1.0
    torch.testing.assert_close(out["binary"], torch.sigmoid(50 * (out["prob"] - out["thresh"])))


def test_tiny_detector_is_cpu_sized():
    model = models.build_model(models.tiny_config())
    assert sum(p.numel() for p in model.parameters()) < 150_000


def test_resnet18_dbnet_builds_with_its_neck():
    model = models.build_model({"arch": "dbnet", "backbone": {"name": "resnet18"}, "head": {"k": 30}}).eval()
    assert model.neck.out_channels == 256 and model.head.k == 30
    with torch.no_grad():
        out = model(torch.randn(1, 3, 64, 64))
    assert out["prob"].shape == (1, 1, 64, 64)


def test_registries_and_unknown_names():
    assert set(BACKBONE_NAMES) == {"tiny", "resnet18", "resnet50"}
    assert set(models.get_task("detection").architectures) == {"dbnet", "craft"}
    with pytest.raises(ValueError, match="unknown backbone 'resnet34'; valid: resnet18, resnet50, tiny"):
        models.build_model({"arch": "dbnet", "backbone": {"name": "resnet34"}})
    with pytest.raises(ValueError, match="unknown model arch 'psenet'; valid: attention, binet, craft, crnn, dbnet"):
        models.build_model({"arch": "psenet"})


def test_unknown_config_keys_are_errors_naming_the_key():
    with pytest.raises(pydantic.ValidationError, match=r"neck\.chanels"):
        models.build_model({"arch": "dbnet", "neck": {"chanels": 64}})


def test_loss_config_reaches_the_loss():
    loss = models.build_loss({"arch": "dbnet", "loss": {"alpha": 2.0, "beta": 5.0, "ohem_ratio": 4.0}})
    assert (loss.alpha, loss.beta, loss.ohem_ratio) == (2.0, 5.0, 4.0)


def test_backbone_init_is_loaded_at_build_time(tmp_path):
    source = resnet.tiny()
    torch.save(source.state_dict(), tmp_path / "tiny.pth")
    cfg = {"arch": "dbnet", "backbone": {"name": "tiny", "init": str(tmp_path / "tiny.pth")}}
    assert torch.equal(models.build_model(cfg).backbone.conv1.weight, source.conv1.weight)
    skipped = models.build_model(cfg, init_weights=False)
    assert not torch.equal(skipped.backbone.conv1.weight, source.conv1.weight)
