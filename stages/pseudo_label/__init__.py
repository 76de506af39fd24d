"""Semi-supervised detection: ensemble pseudo-labels with per-instance loss weights.

``fusion`` (torch-free) clusters the K models x T test-time views' polygons by IoU, counts votes and
fuses each cluster; ``weights`` turns agreement and score into a loss weight; ``tta`` runs batched
inference under the views; ``shards`` is the per-shard Ray task; ``stage`` writes the COCO set;
``stats`` and ``scoring`` describe the labels and score them against hidden ground truth.
Training on the result is the ``train`` stage with the pseudo-labeled set as one of its datasets.
"""
from stages.pseudo_label.params import PseudoLabelParams
from stages.pseudo_label.stage import STAGE

__all__ = ["STAGE", "PseudoLabelParams"]
