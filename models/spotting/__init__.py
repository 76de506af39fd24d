"""The spotting task's parts (detection and recognition of each word in one model).

- ``rotated_roi``: ``rotated_roi_align`` (each rotated word box of a feature map resampled upright)
  and ``quad_to_rbox`` (a word quad to centre, size and reading angle);
- ``angle_loss``: ``angle_loss`` (a periodic loss on the predicted word angle, continuous across the
  wrap).

The ``glass`` architecture that uses them is to come; this package registers no task yet.
"""
