"""Backbones load torchvision-format ImageNet state dicts unchanged (keys from a hand-written fixture)."""
import functools
import http.server
import json
import threading
from pathlib import Path

import pytest
import torch

from models import resnet

KEYS = json.loads((Path(__file__).parent / "fixtures" / "torchvision_resnet_keys.json").read_text())


def torchvision_state_dict(arch: str, with_bn_counters: bool = True) -> dict[str, torch.Tensor]:
    """Random tensors under torchvision's key names and shapes (fc included, as in the real files)."""
    g = torch.Generator().manual_seed(0)
    state = {}
    for key, shape in KEYS[arch].items():
        if key.endswith("num_batches_tracked"):
            if with_bn_counters:
                state[key] = torch.tensor(1000, dtype=torch.long)
        else:
            state[key] = torch.randn(shape, generator=g)
    return state


@pytest.mark.parametrize("arch", ["resnet18", "resnet50"])
def test_torchvision_keys_load_strictly(arch):
    backbone = getattr(resnet, arch)()
    state = torchvision_state_dict(arch)
    without_fc = {k: v for k, v in state.items() if not k.startswith("fc.")}
    assert len(state) - len(without_fc) == 2
    result = backbone.load_state_dict(without_fc, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    for k, v in backbone.state_dict().items():
        assert torch.equal(v, without_fc[k]), k


def test_weights_file_with_fc_and_without_bn_counters_loads(tmp_path):
    # the oldest torchvision files predate BatchNorm's num_batches_tracked buffer
    state = torchvision_state_dict("resnet18", with_bn_counters=False)
    torch.save(state, tmp_path / "resnet18.pth")
    backbone = resnet.resnet18()
    resnet.load_backbone_weights(backbone, str(tmp_path / "resnet18.pth"))
    assert torch.equal(backbone.layer4[1].conv2.weight, state["layer4.1.conv2.weight"])
    assert torch.equal(backbone.layer2[0].downsample[1].running_var, state["layer2.0.downsample.1.running_var"])


def test_mismatched_weights_name_the_file(tmp_path):
    torch.save(torchvision_state_dict("resnet50"), tmp_path / "resnet50.pth")
    with pytest.raises(ValueError, match=r"resnet50\.pth does not match.*layer1\.0\.conv3"):
        resnet.load_backbone_weights(resnet.resnet18(), str(tmp_path / "resnet50.pth"))
    with pytest.raises(FileNotFoundError, match="no weights file"):
        resnet.load_backbone_weights(resnet.resnet18(), str(tmp_path / "absent.pth"))


def test_weights_load_from_file_uri_and_http_url(tmp_path, monkeypatch):
    source = resnet.tiny()
    (tmp_path / "www").mkdir()
    torch.save({**source.state_dict(), "fc.weight": torch.zeros(10, 64), "fc.bias": torch.zeros(10)},
               tmp_path / "www" / "tiny-weights.pth")

    by_uri = resnet.tiny()
    resnet.load_backbone_weights(by_uri, (tmp_path / "www" / "tiny-weights.pth").as_uri())
    assert torch.equal(by_uri.conv1.weight, source.conv1.weight)

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))  # torch.hub's download cache
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path / "www"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        by_url = resnet.tiny()
        resnet.load_backbone_weights(by_url, f"http://127.0.0.1:{server.server_port}/tiny-weights.pth")
    finally:
        server.shutdown()
        server.server_close()
    assert torch.equal(by_url.layer3[0].conv1.weight, source.layer3[0].conv1.weight)
    assert (tmp_path / "torch_home" / "hub" / "checkpoints" / "tiny-weights.pth").is_file()


@pytest.mark.parametrize(
    "arch, channels",
    [("tiny", [8, 16, 32, 64]), ("resnet18", [64, 128, 256, 512]), ("resnet50", [256, 512, 1024, 2048])],
)
def test_feature_strides_and_channels(arch, channels):
    backbone = getattr(resnet, arch)().eval()
    assert backbone.out_channels == channels
    with torch.no_grad():
        feats = backbone(torch.randn(1, 3, 64, 96))
    assert [tuple(f.shape) for f in feats] == [(1, c, 64 // s, 96 // s) for c, s in zip(channels, [4, 8, 16, 32])]


def test_tiny_is_tiny():
    assert 5_000 < sum(p.numel() for p in resnet.tiny().parameters()) < 100_000
