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

- ``crnn``: CRNN + CTC (``crnn.py`` the network, ``ctc_loss`` / ``ctc`` its loss and torch-free decoding,
  ``crnn_spec`` its registration); labels from ``targets`` (shared by every recognizer);
- ``attention``: a small ResNet encoder and a 2D-attention LSTM decoder ending words with EOS
  (``attention.py``, ``attention_spec``; shared ``resnet_encoder``, ``positional``, ``eos_sequences``);
- ``binet``: ABINet's vision model and bidirectional cloze language model with iterative correction,
  plus BINet's text segmentation branch gating background features (``binet.py``, ``binet_lm.py``,
  ``binet_spec``; what is reproduced and what simplified is in ``binet.py``'s docstring);
- metrics: ``metrics.METRICS`` (word accuracy, 1-NED, char precision / recall);
- predictor: ``predictor.Recognizer`` (crops or crop files -> text and score, any device);
- serving: ``serving.SERVING`` (what its MLflow model answers: ``{"text", "score"}`` per image).

To add a recognizer: its network file, a ``*_spec.py`` with its ``Architecture`` (config subclassing
``config.RecognizerConfig``), one line in ``ARCHITECTURES`` below, configs and tests.
"""
from __future__ import annotations

from models.recognition.attention_spec import ATTENTION
from models.recognition.binet_spec import BINET
from models.recognition.crnn_spec import CRNN
from models.recognition.metrics import METRICS
from models.recognition.serving import SERVING
from models.task import Task, typed_config

ARCHITECTURES = {arch.name: arch for arch in (CRNN, ATTENTION, BINET)}


def _predictor(module, config, device, **identity):
    """The ``Recognizer`` of a built model; ``config``: its model config (a dict or the typed config)."""
    from models.recognition.predictor import Recognizer  # needs torch: imported on use

    arch, typed = typed_config(ARCHITECTURES, config)
    return Recognizer(module, typed, arch, device, **identity)


TASK = Task(name="recognition", architectures=ARCHITECTURES, metrics=METRICS, predictor=_predictor,
            serving=SERVING)
