"""Word-image LMDBs for the recognition tests, written key by key in the DTRB layout (``num-samples``,
``image-%09d``, ``label-%09d``, 1-based) plus the project's optional ``mask-%09d`` glyph masks, and the
fixture that starts Ray with the stand-in recognizer registered in every worker."""
from __future__ import annotations

from pathlib import Path

import cv2
import lmdb
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]


def render_word(text: str, height: int = 24, dark: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(RGB (h, w, 3) uint8 crop of ``text`` in OpenCV's Hershey font, its (h, w) uint8 glyph mask 0/255)."""
    font, scale = cv2.FONT_HERSHEY_SIMPLEX, height / 40
    (w, h), base = cv2.getTextSize(text or " ", font, scale, 1)
    mask = np.zeros((h + base + 6, w + 6), np.uint8)
    cv2.putText(mask, text, (3, h + 3), font, scale, 255, 1, cv2.LINE_AA)
    ink = np.array([20, 30, 40] if dark else [230, 220, 210], np.uint8)
    paper = np.array([235, 225, 200] if dark else [30, 40, 50], np.uint8)
    alpha = (mask.astype(np.float32) / 255.0)[..., None]
    rgb = (alpha * ink + (1 - alpha) * paper).round().astype(np.uint8)
    return rgb, np.where(mask > 127, 255, 0).astype(np.uint8)


def write_word_lmdb(folder: Path, words: list[str], masks: bool = True) -> Path:
    """An LMDB of rendered ``words`` (PNG crops; with ``masks`` their glyph masks); returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    env = lmdb.open(str(folder), map_size=1 << 26)
    with env.begin(write=True) as txn:
        for i, word in enumerate(words, 1):
            rgb, mask = render_word(word)
            txn.put(b"image-%09d" % i, cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))[1].tobytes())
            txn.put(b"label-%09d" % i, word.encode("utf-8"))
            if masks:
                txn.put(b"mask-%09d" % i, cv2.imencode(".png", mask)[1].tobytes())
        txn.put(b"num-samples", str(len(words)).encode())
    env.close()
    return folder


@pytest.fixture
def ray_recognition(monkeypatch):
    """A local Ray whose workers register the stand-in ``recnet`` (``tests.stages.rec_standin``), and the
    same registration in this process. Shut down afterwards, so the next ``ray_local`` test starts its own."""
    import ray

    from tests.stages import rec_standin

    rec_standin.register_in(monkeypatch)
    if ray.is_initialized():
        ray.shutdown()
    ray.init(num_cpus=4, include_dashboard=False, logging_level="WARNING", _node_ip_address="127.0.0.1",
             runtime_env={"env_vars": {"PYTHONPATH": str(ROOT)},
                          "worker_process_setup_hook": "tests.stages.rec_standin.register"})
    try:
        yield ray
    finally:
        ray.shutdown()
