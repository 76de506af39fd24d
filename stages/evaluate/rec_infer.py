"""``python -m pipeline infer`` with a recognizer: word crops in, text and scores out.

    python -m pipeline infer --model models:/scenetext-rec@champion --images 'crops/*.png' --out texts/

Each crop's reading is printed (``<file>\\t<text>\\t<score>``) and written::

    predictions.json   {"images": [{"file_name", "text", "score", "frame"}]}
    predictions.txt    <file name>\\t<text>, one crop a line (the layout of recognition ground-truth lists)
    summary.json       model, device, settings, counts and the images skipped (with the reason)

The crops go through the task's predictor (``Recognizer.recognize``): the preprocessing of training and
evaluation. An unreadable image is reported and skipped.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any, Callable, TextIO

from stages.dataset.images import read_rgb


def recognize_files(model: Any, images: list[Any], args: Any, skipped: list[Any], skip: Callable[[str, str], Any],
                    stream: TextIO, out_stream: TextIO | None = None) -> dict[str, Any]:
    """Recognise ``images`` (``ImageFile``s) with ``model``, print and write the results to ``args.out``;
    ``skip(path, reason)`` makes the entry of an unreadable image in ``skipped``. Returns the summary
    (also written as ``summary.json``)."""
    out_stream = out_stream or sys.stdout
    started = time.time()
    crops, kept = [], []
    for item in images:
        try:
            crops.append(read_rgb(item.path, item.frame))
            kept.append(item)
        except OSError as exc:
            skipped.append(skip(str(item.path), f"cannot decode ({exc})"))
            print(f"skipped {item.path}: cannot decode", file=stream)
    results = model.recognize(crops, {}, args.batch_size) if crops else []
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    records = [{"file_name": item.path.name, "text": text, "score": float(score), "frame": item.frame}
               for item, (text, score) in zip(kept, results)]
    for r in records:
        print(f"{r['file_name']}\t{r['text']}\t{r['score']:.4f}", file=out_stream)
    (out / "predictions.json").write_text(json.dumps({"images": records}, ensure_ascii=False))
    (out / "predictions.txt").write_text("".join(f"{r['file_name']}\t{r['text']}\n" for r in records),
                                         encoding="utf-8")
    summary = {"task": "recognition", "model": args.model, "checkpoint_sha256": model.sha256, "step": model.step,
               "device": str(model.device), "settings": {"batch_size": args.batch_size, "frame": args.frame},
               "images": len(records), "texts": sum(1 for r in records if r["text"]),
               "skipped": [vars(s) for s in skipped], "seconds": round(time.time() - started, 3)}
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary
