"""Stage params as MLflow shows them: short scalar params grouped by dotted prefix, the full section as YAML.

MLflow's params table is for scanning and comparing runs, so a param is one short value:
``optim.lr=0.001``. Nested lists (augmentation chains, dataset mixes) do not fit there; they are
summarised in one line and the stage's whole section goes to the ``stage_config.yaml`` artifact.
None values and setup keys (test hooks, storage paths) say nothing about the result and are left out.
"""
from __future__ import annotations

from typing import Any, Iterable

CONFIG_ARTIFACT = "stage_config.yaml"
MAX_VALUE = 250  # longer values are summarised (MLflow allows 6000 but the table shows ~40 characters)


def readable_params(data: dict[str, Any], setup_keys: Iterable[str] = ()) -> dict[str, str]:
    """``{'optim': {'lr': 0.1}, 'seed': None}`` -> ``{'optim.lr': '0.1'}``; ``setup_keys`` (dotted,
    a key drops its whole subtree) are left out."""
    skip = set(setup_keys)
    out: dict[str, str] = {}
    _walk(data, "", skip, out)
    return out


def _walk(value: Any, name: str, skip: set[str], out: dict[str, str]) -> None:
    if name in skip or value is None or value == "" or value == {}:
        return
    if isinstance(value, dict):
        for key, item in value.items():
            _walk(item, f"{name}.{key}" if name else str(key), skip, out)
        return
    text = _scalar_text(value)
    out[name] = text if text is not None else summary(value)


def _scalar_text(value: Any) -> str | None:
    """The value as one short line, or None when it does not fit in one."""
    if isinstance(value, (list, tuple)):
        if not all(isinstance(v, (str, int, float, bool)) for v in value):
            return None
        value = ",".join(str(v) for v in value)
    text = str(value)
    return text if "\n" not in text and len(text) <= MAX_VALUE else None


def summary(value: Any) -> str:
    """A one-line stand-in for a value too big for the params table; the value is in stage_config.yaml."""
    if isinstance(value, (list, tuple)):
        names = [_entry_name(v) for v in value]
        if all(names):
            listed = ",".join(names)
            if len(listed) <= MAX_VALUE:
                return listed
        return f"{len(value)} entries (see {CONFIG_ARTIFACT})"
    return f"{len(str(value))} characters (see {CONFIG_ARTIFACT})"


def _entry_name(value: Any) -> str | None:
    # Lists of specs (augmentations, ...) name each entry by its kind.
    if isinstance(value, dict):
        for key in ("kind", "type", "name", "op"):
            if isinstance(value.get(key), str):
                return value[key]
    return None
