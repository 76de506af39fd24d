"""Word crops rendered with OpenCV's built-in font: a fixed, tiny recognition set for model tests."""
from __future__ import annotations

import cv2
import numpy as np

WORDS = ("cat", "tree", "moon", "bell")  # "moon" and "bell": repeated letters CTC must split with a blank


def render(word: str, height: int = 32, width: int = 100) -> np.ndarray:
    """(height, width, 3) uint8 RGB: ``word`` in dark ink on a light background."""
    image = np.full((height, width, 3), 235, np.uint8)
    cv2.putText(image, word, (4, round(height * 0.75)), cv2.FONT_HERSHEY_SIMPLEX, height / 40, (20, 20, 20), 2)
    return image


def batch(words, config) -> tuple:
    """(images (B, 3, H, W) normalised float tensor, targets {label, length} tensors) of rendered ``words``."""
    import torch

    from models.build import target_maker
    from models.detection.predictor import normalise

    make = target_maker(config)
    made = [make(word, None) for word in words]
    images = normalise(torch.from_numpy(np.stack([render(word) for word in words])))
    return images, {key: torch.from_numpy(np.stack([m[key] for m in made])) for key in ("label", "length")}


def overfit(config, words=WORDS, max_steps: int = 800, seed: int = 0):
    """A model of ``config`` trained on ``words`` until it reads every one in eval mode (or ``max_steps``);
    returns (model in eval mode, steps taken)."""
    import torch

    from models.build import build_loss, build_model, validate_config
    from models.tasks import architecture_of

    torch.manual_seed(seed)
    model, loss = build_model(config), build_loss(config)
    images, targets = batch(words, config)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for step in range(1, max_steps + 1):
        model.train()
        total = loss(model(images), targets)["total"]
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
        if step % 50 == 0:
            model.eval()
            with torch.no_grad():
                logits = model(images)["logits"].numpy()
            typed = validate_config(config)
            read = [text for text, _ in architecture_of(typed).decode({"logits": logits}, typed, {})]
            if read == list(words):
                return model, step
    return model.eval(), max_steps
