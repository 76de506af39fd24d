"""A stand-in recognizer, coded to the recognition contract (``models/recognition/__init__.py``), for the
train / evaluate / infer tests of the recognition path.

``recnet``: a two-layer CNN whose columns are classified into the charset + CTC blank, trained with CTC;
it also predicts a glyph mask (so the ``glyph_mask`` target travels through the data pipeline) and its
predictor is a ``Recognizer`` with ``recognize(crops, options, batch_size)``. When the project has no
``recognition`` task yet, ``register()`` adds a stand-in one holding only ``recnet``; otherwise it adds
``recnet`` to the real task's architectures.

Ray workers are separate processes: tests that train through Ray start Ray with
``worker_process_setup_hook="tests.stages.rec_standin.register"`` so every worker registers it too.
"""
from __future__ import annotations

from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from models import tasks
from models.recognition.charset import charset_of
from models.recognition.config import RecognizerConfig, input_geometry
from models.recognition.preprocess import fit_crop, pad_batch
from models.task import Architecture, Serving, Task

ARCH = "recnet"


class RecNetConfig(RecognizerConfig):
    arch: Literal["recnet"] = "recnet"
    channels: int = 16


class RecNet(nn.Module):
    """(B, 3, H, W) -> logits (B, W/4, C+1) over CTC blank (0) + charset, and a (B, H, W) mask logit."""

    def __init__(self, config: RecNetConfig):
        super().__init__()
        c = config.channels
        self.features = nn.Sequential(nn.Conv2d(3, c, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                      nn.Conv2d(c, 2 * c, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.mask = nn.Conv2d(3, 1, 3, padding=1)
        self.classify = nn.Linear(2 * c, charset_of(config.charset).size + 1)

    def forward(self, images: torch.Tensor, targets: dict[str, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
        columns = self.features(images).mean(dim=2).transpose(1, 2)  # (B, W/4, 2c)
        return {"logits": self.classify(columns), "mask": self.mask(images)[:, 0]}


class CtcLoss(nn.Module):
    def __init__(self):
        super().__init__()
        self.ctc = nn.CTCLoss(blank=0, zero_infinity=True)

    def forward(self, outputs: dict[str, torch.Tensor], targets: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        logp = outputs["logits"].float().log_softmax(-1).transpose(0, 1)  # (T, B, C+1)
        lengths = torch.full((logp.shape[1],), logp.shape[0], dtype=torch.long)
        ctc = self.ctc(logp, targets["label"], lengths, targets["length"])
        seg = nn.functional.binary_cross_entropy_with_logits(outputs["mask"].float(), targets["glyph_mask"])
        return {"total": ctc + 0.1 * seg, "ctc": ctc, "seg": seg}


def make_targets(config: RecNetConfig):
    charset = charset_of(config.charset)
    height = config.height
    width = config.width or config.max_width

    def target(text: str, glyph_mask: np.ndarray | None) -> dict[str, Any]:
        ids = charset.encode(text)[: config.max_length]
        label = np.zeros(config.max_length, np.int64)
        label[: len(ids)] = ids
        mask = np.zeros((height, width), np.float32) if glyph_mask is None else glyph_mask.astype(np.float32)
        return {"label": label, "length": np.int64(len(ids)), "glyph_mask": mask}

    return target


def decode(outputs: dict[str, np.ndarray], config: RecNetConfig, options: dict) -> list[tuple[str, float]]:
    """Greedy CTC: best class per column, repeats merged, blanks dropped; score = mean best probability."""
    charset = charset_of(config.charset)
    logits = outputs["logits"]
    probs = np.exp(logits - logits.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    out = []
    for row in probs:
        best = row.argmax(-1)
        ids = [int(b) for i, b in enumerate(best) if b != 0 and (i == 0 or b != best[i - 1])]
        out.append((charset.decode(ids), float(row.max(-1).mean())))
    return out


class Recognizer:
    """crops -> (text, score), batched by width; the contract's ``recognize`` and ``predict``."""

    def __init__(self, module: nn.Module, config: RecNetConfig, device: Any, **identity: Any):
        self.module, self.config, self.device = module.eval(), config, torch.device(device)
        self.arch = ARCHITECTURE
        self.uri, self.sha256, self.step = identity.get("uri"), identity.get("sha256"), identity.get("step", 0)

    @torch.no_grad()
    def recognize(self, crops: list[np.ndarray], options: dict | None = None,
                  batch_size: int = 64) -> list[tuple[str, float]]:
        from models.detection.predictor import normalise

        fitted = [fit_crop(c, **input_geometry(self.config)) for c in crops]
        order = sorted(range(len(fitted)), key=lambda i: fitted[i].shape[1])  # similar widths together
        results: list[tuple[str, float]] = [("", 0.0)] * len(crops)
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            batch = torch.from_numpy(pad_batch([fitted[i] for i in idx])).to(self.device)
            outputs = {k: v.float().cpu().numpy() for k, v in self.module(normalise(batch)).items()}
            for i, res in zip(idx, decode(outputs, self.config, options or {})):
                results[i] = res
        return results

    def predict(self, files: list[Any], batch_size: int = 64, options: dict | None = None) -> list[tuple[str, float]]:
        from stages.dataset.images import read_rgb

        return self.recognize([read_rgb(f) for f in files], options, batch_size)


def _predictor(module, config, device, **identity):
    typed = config if isinstance(config, RecNetConfig) else RecNetConfig.model_validate(config)
    return Recognizer(module, typed, device, **identity)


def _serve(predictor: Recognizer, images: list[np.ndarray], settings: dict) -> list[dict]:
    return [{"text": t, "score": s} for t, s in predictor.recognize(images, settings)]


def word_acc(gts: list[str], preds: list[str]) -> float:
    from models.metrics.recognition import recognition_metrics

    return recognition_metrics(gts, preds)["word_acc"]


ARCHITECTURE = Architecture(
    name=ARCH, task="recognition", config=RecNetConfig, build=lambda cfg, init: RecNet(cfg),
    loss=lambda cfg: CtcLoss(), targets=make_targets, target_keys=("label", "length", "glyph_mask"),
    decode=decode, output_keys=("logits", "mask"), tiny={"arch": ARCH, "height": 16, "width": 48},
)
STANDIN_TASK = Task(name="recognition", architectures={ARCH: ARCHITECTURE}, metrics={"word_acc": word_acc},
                    predictor=_predictor, serving=Serving(defaults={}, predict=_serve,
                                                          output_example={"text": "word", "score": 0.9}))


def register() -> None:
    """Make ``recnet`` a recognition architecture in this process (idempotent)."""
    task = tasks.TASKS.get("recognition")
    if task is None:
        tasks.TASKS["recognition"] = STANDIN_TASK
    else:
        task.architectures.setdefault(ARCH, ARCHITECTURE)


def register_in(monkeypatch) -> None:
    """``register`` undone at the end of the test (pytest's ``monkeypatch``)."""
    task = tasks.TASKS.get("recognition")
    if task is None:
        monkeypatch.setitem(tasks.TASKS, "recognition", STANDIN_TASK)
    else:
        monkeypatch.setitem(task.architectures, ARCH, ARCHITECTURE)
