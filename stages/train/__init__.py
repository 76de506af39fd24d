"""Detector training on Ray Train: mixed-dataset sampling, online augmentation, DDP, checkpoints and resume."""
from stages.train.params import DatasetRef, TrainParams
from stages.train.stage import STAGE

__all__ = ["STAGE", "DatasetRef", "TrainParams"]
