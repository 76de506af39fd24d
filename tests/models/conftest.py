"""Model tests run torch on one intra-op thread: on a small shared CPU, two threads contending with
other processes made a 40-step training test ~25x slower (17 s instead of 0.7 s)."""
import pytest
import torch


@pytest.fixture(autouse=True)
def one_torch_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
