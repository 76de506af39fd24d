"""The glass spotter's training step beside the detector it grows from, side by side in one run.

One optimisation step (forward, loss, backward, AdamW) on a batch of 8 images of 256 px with 5 words each,
the quickstart_spot sizes, two torch threads: the tiny DBNet alone (detection only), glass with the tiny
default reader (CRNN, ResNet extractor, 64 channels, 32 x 100 crops), and glass with an english_g2-shaped
reader (VGG 256, grey, 64 x 192 crops: what quickstart_spot trains). Medians of 5 steps after one warm-up;
the ratios to the DBNet step are the figures to watch.

Run: ``python tests/benchmarks/bench_glass.py``.
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

G2_READER = {"arch": "crnn", "charset": {"kind": "easyocr_en"}, "height": 64, "width": 192,
             "backbone": {"name": "vgg", "channels": 256}, "hidden": 256, "lstm_layers": 2, "gray": True}
MODELS = {"dbnet tiny": {"arch": "dbnet", "backbone": {"name": "tiny"}},
          "glass, tiny reader": {"arch": "glass"},
          "glass, english_g2 reader": {"arch": "glass", "recognizer": G2_READER}}


def batch(config):
    """A batch of 8 images and their targets under ``config`` (5 words of 80 x 25 px each)."""
    import numpy as np
    import torch

    from models.build import target_maker

    make = target_maker(config)
    rng = np.random.default_rng(0)
    items = []
    for _ in range(8):
        polys = []
        for _ in range(5):
            x, y = rng.integers(10, 150, 2)
            polys.append(np.array([[x, y], [x + 80, y], [x + 80, y + 25], [x, y + 25]], np.float32))
        extra = {"texts": ["hello"] * 5} if getattr(make, "needs_texts", False) else {}
        items.append(make(256, 256, polys, [False] * 5, [1.0] * 5, **extra))
    return torch.randn(8, 3, 256, 256), {k: torch.from_numpy(np.stack([it[k] for it in items])) for k in items[0]}


def step_seconds(config, steps: int = 5) -> float:
    """Median seconds of one training step."""
    import torch

    from models.build import build_loss, build_model, validate_config
    from models.tasks import task_of

    typed = validate_config(config)
    model, loss_fn = build_model(typed), build_loss(typed)
    optimizer = torch.optim.AdamW(model.parameters(), 1e-4)
    images, targets = batch(typed)
    teacher = task_of(typed).name == "spotting"
    times = []
    for _ in range(steps + 1):
        started = time.perf_counter()
        out = model(images, targets) if teacher else model(images)
        losses = loss_fn(out, targets)
        optimizer.zero_grad()
        losses["total"].backward()
        optimizer.step()
        times.append(time.perf_counter() - started)
    return statistics.median(times[1:])


def main() -> None:
    import torch

    torch.set_num_threads(2)
    torch.manual_seed(0)
    results = {name: step_seconds(config) for name, config in MODELS.items()}
    base = results["dbnet tiny"]
    for name, seconds in results.items():
        print(f"{name:28s} {seconds:6.3f} s/step  {seconds / base:5.2f}x the DBNet step")


if __name__ == "__main__":
    main()
