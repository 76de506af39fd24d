"""Every image the project reads goes through ``stages.dataset.images``: no other module under
``pipeline/``, ``stages/`` or ``models/`` may decode images itself (where EXIF orientation would creep back)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
READER = Path("stages/dataset/images.py")
# (module alias, function): the calls that decode an image file or buffer.
DECODERS = {("cv2", "imread"), ("cv2", "imdecode"), ("cv2", "imreadmulti"), ("Image", "open")}


def _modules() -> list[Path]:
    return sorted(p.relative_to(ROOT) for top in ("pipeline", "stages", "models") for p in (ROOT / top).rglob("*.py"))


def _decoder_calls(source: str) -> list[int]:
    """Line numbers of ``cv2.imread(...)``, ``cv2.imdecode(...)``, ``Image.open(...)``, ``PIL.Image.open(...)``."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            name = owner.id if isinstance(owner, ast.Name) else owner.attr if isinstance(owner, ast.Attribute) else ""
            if (name, node.func.attr) in DECODERS:
                lines.append(node.lineno)
    return lines


def test_the_check_sees_every_spelling():
    source = "cv2.imread(p)\ncv2.imdecode(b, 1)\nImage.open(p)\nPIL.Image.open(p)\n# cv2.imread in a comment\n"
    assert _decoder_calls(source) == [1, 2, 3, 4]


def test_the_modules_are_found():
    assert READER in _modules() and len(_modules()) > 50
    assert _decoder_calls((ROOT / READER).read_text())  # the reader itself does decode


@pytest.mark.parametrize("module", [m for m in _modules() if m != READER], ids=str)
def test_no_module_but_the_reader_decodes_images(module):
    lines = (ROOT / module).read_text().splitlines()
    calls = [f"{module}:{n}: {lines[n - 1].strip()}" for n in _decoder_calls("\n".join(lines))]
    assert not calls, "decode images with stages.dataset.images instead:\n" + "\n".join(calls)
