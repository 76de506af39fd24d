"""Synthetic scene-text generator: words on procedural or user backgrounds, with true polygons."""
from stages.synth.stage import STAGE, SynthParams

__all__ = ["STAGE", "SynthParams"]
