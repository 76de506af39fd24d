"""The config reference, generated from the stage registry's pydantic models (never out of date)."""
from __future__ import annotations

import re
from typing import Any, Literal, Mapping, get_args, get_origin

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
    """One row per key; a section (a nested model, or a list of them) gets a row, then one per key inside it
    (``data.batch_size``, ``data.datasets[].ratio``), so nested params read as their dotted config paths."""
    rows = []
    for key, field in model.model_fields.items():
        kind = _type_name(field.annotation)
        section, many = _section(field.annotation)
        meaning = field.description or (_first_line(section.__doc__) if section is not None else "")
        if section is not None and not field.is_required():
            default = "section" if field.get_default(call_default_factory=True) is not None else "`None`"
        else:
            default = "required" if field.is_required() else _short(field.get_default(call_default_factory=True))
        rows.append(f"| `{prefix}{key}` | {kind} | {default} | {meaning.replace('|', '/')} |")
        if section is not None:
            rows.extend(_param_rows(section, f"{prefix}{key}{'[].' if many else '.'}"))
    return rows


def _section(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    """The model a field holds (``X``, ``X | None``, ``list[X]``) and whether it is a list of them."""
    args = [a for a in getattr(annotation, "__args__", ()) if a is not type(None)]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    if (getattr(annotation, "__origin__", None) is list and args and isinstance(args[0], type)
            and issubclass(args[0], BaseModel)):
        return args[0], True
    if len(args) == 1 and isinstance(args[0], type) and issubclass(args[0], BaseModel):
        return args[0], False
    return None, False


def _first_line(text: str | None) -> str:
    return " ".join((text or "").strip().split("\n\n")[0].split())


def _type_name(annotation: Any) -> str:
    if get_origin(annotation) is Literal:
        return " or ".join(repr(v) for v in get_args(annotation))
    text = getattr(annotation, "__name__", None) or str(annotation)
    return re.sub(r"\b(?:\w+\.)+(\w+)", r"\1", text).replace("|", "or")


def _short(value: Any) -> str:
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    text = f"`{value!r}`"
    return text if len(text) < 60 else text[:56] + "...`"
