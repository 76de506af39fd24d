"""The pseudo_label stage: ensemble pseudo-labels with per-instance loss weights (semi-supervised detection).

``params.py`` its config, ``stage.py`` the stage (writes the COCO set); ``fusion`` (torch-free) clusters
the K models x T test-time views' polygons by IoU, counts votes and fuses each cluster; ``weights`` turns
agreement and score into a loss weight; ``tta`` the test-time views over the task's predictor;
``shards`` the per-shard Ray task; ``stats`` and ``scoring`` describe the labels and score them
against hidden ground truth. Training on the result is the ``train`` stage with the pseudo-labeled set
as one of its datasets.
"""
