"""The versions of Python and of the libraries that shape stage outputs.

Recorded in every manifest and on every stage's MLflow run. They are not part of the cache key (see the
README, "What the cache key covers"): a cache hit made under other versions is reported, not re-run.
"""
from __future__ import annotations

import platform
from functools import lru_cache
from importlib import metadata

# Distribution names: numerics, image decoding and encoding, geometry, the dataset formats, the config.
LIBRARIES = ("torch", "numpy", "opencv-python-headless", "opencv-python", "pillow", "pyclipper", "shapely",
             "pyarrow", "lmdb", "scipy", "pydantic")


@lru_cache(maxsize=1)
def library_versions() -> dict[str, str]:
    """{"python": "3.11.7", "torch": "2.13.0", ...}: the installed ones only."""
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return dict(versions)


def environment_tags(versions: dict[str, str]) -> dict[str, str]:
    """MLflow tags ``env.<library>`` for a versions mapping."""
    return {f"env.{name}": version for name, version in sorted(versions.items())}


def environment_changes(recorded: dict[str, str] | None, current: dict[str, str]) -> list[str]:
    """``"torch 2.12.0 -> 2.13.0"`` for each library whose version differs (absent counts as a version)."""
    if not recorded:
        return []
    return [f"{name} {recorded.get(name, 'absent')} -> {current.get(name, 'absent')}"
            for name in sorted(set(recorded) | set(current)) if recorded.get(name) != current.get(name)]
