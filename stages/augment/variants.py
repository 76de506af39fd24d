"""Named augmentation variants: built-in chains a config can use by name or override.

The ``art_*`` names follow the variants of the I3CL ArT recipe: ``art_light`` (mild photometric and a
small rotation), ``art_noise`` (sensor noise, compression and blur), ``art_sig`` (stronger geometry:
perspective, bending, elastic warp and rotation).
"""
from __future__ import annotations

import copy
import re
from typing import Any, Mapping, Sequence

from stages.dataset.transforms.chain import build_chain

ChainSpec = list[dict[str, Any]]

BUILTIN_VARIANTS: dict[str, ChainSpec] = {
    "art_light": [
        {"name": "brightness", "delta": [-0.12, 0.12], "p": 0.8},
        {"name": "contrast", "factor": [0.8, 1.25], "p": 0.8},
        {"name": "gamma", "gamma": [0.8, 1.25], "p": 0.5},
        {"name": "color_shift", "shift": [-15, 15], "p": 0.5},
        {"name": "rotate", "degrees": [-8, 8], "expand": True, "p": 0.7},
    ],
    "art_noise": [
        {"name": "gaussian_noise", "sigma": [3, 10], "p": 0.7},
        {"name": "salt_pepper", "amount": [0.001, 0.006], "p": 0.3},
        {"name": "gaussian_blur", "sigma": [0.4, 1.2], "p": 0.5},
        {"name": "motion_blur", "length": [3, 7], "p": 0.3},
        {"name": "jpeg", "quality": [30, 80], "p": 0.8},
    ],
    "art_sig": [
        {"name": "perspective", "strength": [0.03, 0.12], "expand": True, "p": 0.8},
        {"name": "curve", "amplitude": [0.02, 0.07], "wavelength": [0.7, 1.6], "p": 0.5},
        {"name": "elastic", "amplitude": [0.004, 0.012], "wavelength": [0.3, 0.7], "p": 0.5},
        {"name": "rotate", "degrees": [-25, 25], "expand": True, "p": 0.8},
    ],
}

_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


def resolve_variants(
        spec: Sequence[str] | Mapping[str, Sequence[Mapping[str, Any]] | str | None]) -> dict[str, ChainSpec]:
    """Turn the config's ``variants`` into {variant name: chain spec}.

    Accepts a list of built-in names, or a mapping whose values are a chain spec (a list of transform
    dicts, overriding any built-in of that name), a built-in name to copy, or null for the built-in of
    the same name. Every chain is built once here so a bad spec fails at config time, naming the variant.
    """
    if isinstance(spec, str):
        raise ValueError(f"variants must be a list of names or a mapping, got the string {spec!r}")
    items = {name: None for name in spec} if not isinstance(spec, Mapping) else dict(spec)
    if not items:
        raise ValueError("variants: at least one variant is needed")
    out: dict[str, ChainSpec] = {}
    for name, chain in items.items():
        if not isinstance(name, str) or not _NAME.match(name):
            raise ValueError(f"variant name {name!r}: use letters, digits, '_', '.' and '-' (it names a folder)")
        if chain is None or isinstance(chain, str):
            builtin = name if chain is None else chain
            if builtin not in BUILTIN_VARIANTS:
                raise ValueError(f"variant {name!r}: unknown built-in {builtin!r}; built-ins: "
                                 f"{', '.join(sorted(BUILTIN_VARIANTS))} (or give a list of transforms)")
            chain = BUILTIN_VARIANTS[builtin]
        try:
            build_chain(chain)
        except ValueError as exc:
            raise ValueError(f"variant {name!r}: {exc}") from None
        out[name] = copy.deepcopy([dict(t) for t in chain])
    return out
