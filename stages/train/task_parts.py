"""What the training loop does differently per task, in one plain dict: ``TRAIN_TASKS[task name]``.

The loop itself (workers, sampler, optimiser, checkpoints, resume, logging) is the same for every task;
a task brings how its dataset inputs become batches, how a batch reaches the model, how validation scores
a model and draws samples, and the inference settings of the logged model. The task is the model config's
architecture's (``models.tasks.task_of``).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from stages.train.params import TrainParams

VAL_SAMPLES = 2  # detection: validation images drawn and logged at each validation
VAL_WORDS = 8  # recognition: validation crops in the grid logged at each validation
NOT_TARGETS = ("image", "dataset", "skipped")  # batch keys that are not the loss's targets


@dataclass(frozen=True)
class TrainTask:
    """One task's parts of the training loop.

    dataset(paths, params, model_config) -> a map-style dataset over ``SampleRef`` with ``sizes()``;
    collate_for(model_config) -> collate(items) -> batch dict of tensors (``image`` (B, H, W, 3) uint8 +
    targets), batching as the model config says (a recognizer's ``pad``);
    load_validation(path, max_images) -> what ``validate`` reads, loaded once;
    validate(model, model_config, loaded, device, params) -> (scores by name, RGB sample images);
    teacher_forcing: the model's forward takes the batch's targets (recognition) or images only (detection);
    serving_settings(params) -> the logged MLflow model's inference settings ({} = the task's defaults).
    """

    dataset: Callable[[list[str], TrainParams, dict[str, Any]], Any]
    collate_for: Callable[[dict[str, Any]], Callable[[list[dict[str, Any]]], dict[str, Any]]]
    load_validation: Callable[[Path, int | None], Any]
    validate: Callable[..., tuple[dict[str, float], list[Any]]]
    teacher_forcing: bool
    serving_settings: Callable[[TrainParams], dict[str, Any]]


def _detection_dataset(paths: list[str], params: TrainParams, model_config: dict[str, Any]) -> Any:
    from models.build import target_maker
    from stages.train.data import MixedDataset, read_samples
    data = params.data
    return MixedDataset([read_samples(Path(p)) for p in paths], data.augment, data.image_size,
                        target_maker(model_config), params.seed)


def _detection_validation(path: Path, max_images: int | None) -> Any:
    from stages.train.validate import load_validation

    return load_validation(path, max_images)


def _detection_validate(model: Any, model_config: dict[str, Any], images: Any, device: Any,
                        params: TrainParams) -> tuple[dict[str, float], list[Any]]:
    from stages.train.validate import draw_samples, evaluate_with_predictions

    val = params.validation
    scores, preds = evaluate_with_predictions(model, model_config, images, device, val.size,
                                              val.postprocess.model_dump(), val.protocol)
    return scores, draw_samples(images, preds, VAL_SAMPLES)


def _detection_serving(params: TrainParams) -> dict[str, Any]:
    if params.validation is None:
        return {}
    return {"image_size": params.validation.size, **params.validation.postprocess.model_dump()}


def _collate(model_config: dict[str, Any]) -> Callable[[list[dict[str, Any]]], dict[str, Any]]:
    from stages.train.data import collate

    return collate


def _recognition_dataset(paths: list[str], params: TrainParams, model_config: dict[str, Any]) -> Any:
    from models.build import target_maker
    from models.recognition.config import input_geometry
    from stages.dataset.lmdb_words import LmdbWords
    from stages.train.params import DEFAULT_AUGMENT
    from stages.train.rec_data import DEFAULT_WORD_AUGMENT, WordDataset

    # data.augment's default is the detection chain (scale, crop...): a recognizer left on it gets the
    # word-image chain instead.
    chain = DEFAULT_WORD_AUGMENT if params.data.augment == DEFAULT_AUGMENT else params.data.augment
    return WordDataset([LmdbWords(p) for p in paths], chain, input_geometry(model_config), target_maker(model_config),
                       params.seed)


def _collate_words(model_config: dict[str, Any]) -> Callable[[list[dict[str, Any]]], dict[str, Any]]:
    from functools import partial

    from stages.train.rec_data import collate_words

    return partial(collate_words, pad=model_config.get("pad", "zeros"))


def _recognition_validation(path: Path, max_images: int | None) -> Any:
    from stages.train.rec_validate import load_word_validation

    return load_word_validation(path, max_images)


def _recognition_validate(model: Any, model_config: dict[str, Any], words: Any, device: Any,
                          params: TrainParams) -> tuple[dict[str, float], list[Any]]:
    from stages.train.rec_validate import draw_word_samples, evaluate_words

    scores, preds = evaluate_words(model, model_config, words, device)
    return scores, draw_word_samples(words, preds, VAL_WORDS)


def _spotting_validate(model: Any, model_config: dict[str, Any], images: Any, device: Any,
                       params: TrainParams) -> tuple[dict[str, float], list[Any]]:
    from stages.train.spot_validate import evaluate_spotting
    from stages.train.validate import draw_samples

    val = params.validation
    scores, preds = evaluate_spotting(model, model_config, images, device, val.size, val.postprocess.model_dump(),
                                      val.protocol)
    return scores, draw_samples(images, preds, VAL_SAMPLES)


TRAIN_TASKS: dict[str, TrainTask] = {
    "detection": TrainTask(_detection_dataset, _collate, _detection_validation, _detection_validate,
                           teacher_forcing=False, serving_settings=_detection_serving),
    "recognition": TrainTask(_recognition_dataset, _collate_words, _recognition_validation, _recognition_validate,
                             teacher_forcing=True, serving_settings=lambda params: {}),
    # a spotter trains on detection sets (with transcriptions) and reads its ground-truth words in training
    "spotting": TrainTask(_detection_dataset, _collate, _detection_validation, _spotting_validate,
                          teacher_forcing=True, serving_settings=_detection_serving),
}


def train_task(model_config: dict[str, Any]) -> TrainTask:
    """The training parts of the task the model config's architecture belongs to."""
    from models.tasks import task_of

    name = task_of(model_config).name
    if name not in TRAIN_TASKS:
        raise ValueError(f"train: no training loop for task {name!r}; trainable tasks: {', '.join(TRAIN_TASKS)}")
    return TRAIN_TASKS[name]
