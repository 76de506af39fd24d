"""Augmentation: the transform library (also the training stages' online augmentation) and the
offline augment stage writing one dataset per named variant."""
from stages.augment.stage import STAGE, AugmentParams

__all__ = ["STAGE", "AugmentParams"]
