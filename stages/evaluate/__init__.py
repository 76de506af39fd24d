"""The evaluate stage: a detector on test sets with a detection protocol, threshold sweep, scale / angle
breakdown, rendered samples and the RRC submission zip; plus readers of the public ground-truth and
prediction formats (``formats``) and the offline evaluator CLI (``cli``: ``eval-det`` / ``eval-rec``).

``params.py`` its config, ``stage.py`` the stage; the metrics are the task's (``models.metrics``).
"""
