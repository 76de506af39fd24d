"""The config reference, generated from the stage registry's pydantic models (never out of date)."""
from __future__ import annotations

import re
from typing import Any, Mapping

from pydantic import BaseModel

from pipeline.stage import StageDef


def stage_reference(stages: Mapping[str, StageDef]) -> str:
    """Markdown: for each stage type of ``stages``, its description and params with types and defaults."""
    parts = []
    for name in sorted(stages):
        stage = stages[name]
        parts.append(f"### `{name}`\n\n{stage.description or (stage.fn.__doc__ or '').strip().splitlines()[0]}\n")
        parts.append("| key | type | default | meaning |\n|---|---|---|---|")
        parts.extend(_param_rows(stage.params))
        parts.append("")
    return "\n".join(parts)


def _param_rows(model: type[BaseModel], prefix: str = "") -> list[str]:
    rows = []
    for key, field in model.model_fields.items():
        kind = _type_name(field.annotation)
        default = "required" if field.is_required() else _short(field.get_default(call_default_factory=True))
        rows.append(f"| `{prefix}{key}` | {kind} | {default} | {(field.description or '').replace('|', '/')} |")
    return rows


def _type_name(annotation: Any) -> str:
    text = getattr(annotation, "__name__", None) or str(annotation)
    return re.sub(r"\b(?:\w+\.)+(\w+)", r"\1", text).replace("|", "or")


def _short(value: Any) -> str:
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    text = f"`{value!r}`"
    return text if len(text) < 60 else text[:56] + "...`"
