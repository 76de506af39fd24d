"""The evaluate stage: detection, recognition and end-to-end metrics (``metrics``), readers of the
public ground-truth and prediction formats (``formats``) and the offline evaluator CLI (``cli``)."""
