"""Text recognition: word crops in, strings out (the second task on ``models.task``).

The recognition side of the task interface (``models.task.Architecture``):

- ``build(config, init_weights)`` -> ``nn.Module`` whose ``forward(images, targets=None)`` takes
  ImageNet-normalised RGB crops ``(B, 3, H, W)`` (what the training loop and the predictor give every
  task) and returns a dict of tensors (``output_keys``); ``targets`` is the training batch (teacher
  forcing for attention decoders), None at inference.
- ``targets(config)`` -> ``(text, glyph_mask) -> {name: array}`` (``target_keys``): one crop's label as
  padded ids (``models.recognition.charset``) and length; architectures with a segmentation branch also
  use ``glyph_mask`` ((H, W) float32 in [0, 1], None when the data has none).
- ``loss(config)`` -> ``nn.Module(outputs, targets) -> {"total": ..., parts}``.
- ``decode(outputs, config, options)`` -> ``[(text, score)]``: a whole batch (numpy outputs), in order.

Crops reach models through ``models.recognition.preprocess`` (height, fixed or variable width, vertical
text turned) in training, evaluation and inference alike.
"""
