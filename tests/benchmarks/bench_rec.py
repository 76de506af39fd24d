"""Recognition throughput: words/s of each recognizer, trained through the data pipeline and from memory.

For each architecture (``crnn``, ``attention``, ``binet``) at the quickstart's sizes (32 x 100 crops,
lower36 charset, labels up to 16 characters; ``crnn`` is ``configs/quickstart_rec.yaml``'s model, the
other two are small configs of about the same size: ``tests/benchmarks/rec_models.py``), batch 64, one
torch thread, in this process:

- training words/s through the real data pipeline (LMDB read, JPEG decode, word augmentation, fitting,
  targets in one DataLoader process: ``WordDataset`` + ``collate_words``) and on the same batches built
  beforehand and replayed from memory, alternated over two rounds (the best of each is kept: on a shared
  machine the best is the least disturbed), with the fraction of the pipeline's time spent waiting for data;
- inference words/s: the recognition predictor's forward (eval mode, no grad) and the architecture's
  decoding over batches of fitted crops already in memory.

The words are rendered once by the synth stage's ``words`` section (2000 training words, 32 px high).
Prints a table and writes the figures to ``bench-results/bench_rec.json``.

``--gpu`` runs the same measurements in the GPU setting: batch 256, bf16 autocast on CUDA, 8 pinned-memory
loader processes, 4 torch threads; it also reports the peak GPU memory of each training side. Without a
CUDA device it says so and exits 0.

``--scaling`` also runs the real train stage under Ray Train for each architecture as 1 worker x 2 threads
and as 2 DDP workers x 1 thread each (global batch 64 in both), and reports their steady words/s (a few
minutes on two cores).

Run: ``python tests/benchmarks/bench_rec.py [--arch binet ...] [--scaling] [--gpu]``.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.benchmarks.rec_models import ARCHS, model_configs  # noqa: E402
from tests.benchmarks.throughput import (  # noqa: E402
    cuda_missing,
    pipeline_vs_memory,
    run_synth,
    timed_steps,
    train_stage_layouts,
    write_results,
)

BATCH, STEPS, WARMUP, ROUNDS, TRAIN_WORDS = 64, 20, 3, 2, 2000


@dataclass(frozen=True)
class Setting:
    """Where and how the recognizers train: batch, device, bf16 autocast, loader processes, torch threads."""

    batch: int = BATCH
    device: str = "cpu"
    bf16: bool = False
    loader_workers: int = 1
    threads: int = 1


CPU = Setting()
GPU = Setting(batch=256, device="cuda", bf16=True, loader_workers=8, threads=4)


def make_data(tmp: Path, words: int = TRAIN_WORDS) -> Path:
    """The train LMDB (``<tmp>/synth/train/words.lmdb``) of ``words`` synthetic word images, 32 px high, as
    the quickstart renders them (glyph masks included)."""
    from stages.synth.words_stage import LMDB_NAME

    synth = run_synth(tmp, seed=0, words={"splits": {"train": words}, "height": 32, "max_width": 128,
                                          "word_length": [2, 10], "samples": 0})
    return synth / "train" / LMDB_NAME


def word_dataset(data: Path, config: dict[str, Any]) -> Any:
    """The training stage's dataset over one LMDB for ``config``: its default word augmentation, the
    model's input geometry and targets."""
    from models.build import target_maker
    from models.recognition.config import input_geometry
    from stages.dataset.lmdb_words import LmdbWords
    from stages.train.rec_data import DEFAULT_WORD_AUGMENT, WordDataset

    return WordDataset([LmdbWords(data)], DEFAULT_WORD_AUGMENT, input_geometry(config), target_maker(config), 0)


def train_rate(batches: Iterator[dict[str, Any]], config: dict[str, Any], setting: Setting,
               steps: int, warmup: int) -> tuple[float, float]:
    """(words/s, data wait fraction) of a fresh model of ``config`` trained with teacher forcing (as the
    train stage does) over ``batches``."""
    import torch

    from models.build import build_loss, build_model
    from stages.train.loop import make_optimizer, train_step
    from stages.train.params import OptimParams
    from stages.train.schedule import build_scheduler

    torch.set_num_threads(setting.threads)
    torch.manual_seed(0)
    device = torch.device(setting.device)
    model, loss = build_model(config).to(device), build_loss(config)
    optimizer = make_optimizer(OptimParams(lr=1e-3), model)
    scheduler = build_scheduler(optimizer, "cosine", 10_000)

    def step(batch: dict[str, Any]) -> None:
        train_step(model, loss, optimizer, scheduler, batch, device, 5.0, setting.bf16, teacher_forcing=True)

    return timed_steps(batches, step, setting.batch, warmup, steps)


def inference_rate(batches: list[dict[str, Any]], config: dict[str, Any], setting: Setting) -> float:
    """Words/s of the recognition predictor's forward (eval mode, inference mode) plus the architecture's
    decoding over ``batches``' images, after one untimed batch; a fresh model (the cost does not depend
    on the weights)."""
    import torch

    from models.build import build_model, validate_config
    from models.recognition.predictor import Recognizer
    from models.tasks import architecture_of

    torch.set_num_threads(setting.threads)
    torch.manual_seed(0)
    parsed = validate_config(config)
    arch = architecture_of(parsed)
    recognizer = Recognizer(build_model(parsed).to(setting.device).eval(), parsed, arch, torch.device(setting.device))

    def step(batch: dict[str, Any]) -> None:
        # the predictor leaves precision to its caller: bf16 autocast around it, as in training
        with torch.autocast(setting.device, dtype=torch.bfloat16, enabled=setting.bf16):
            outputs = recognizer.forward(batch["image"].numpy())
        arch.decode(outputs, parsed, {})

    return timed_steps(iter(batches), step, setting.batch, 1, len(batches) - 1)[0]


def measure(data: Path, config: dict[str, Any], setting: Setting, rounds: int = ROUNDS, steps: int = STEPS,
            warmup: int = WARMUP) -> dict[str, Any]:
    """One architecture's figures: training words/s through the data pipeline and from memory (best of
    ``rounds``), the pipeline's data wait fraction, the ratio, inference words/s (and GPU peaks on CUDA)."""
    from stages.train.data import make_loader
    from stages.train.rec_data import collate_words
    from stages.train.sampler import MixedBatchSampler

    dataset = word_dataset(data, config)
    cuda = setting.device == "cuda"
    replayed: list[dict[str, Any]] = []

    def sampler(seed: int) -> MixedBatchSampler:
        return MixedBatchSampler(dataset.sizes(), [1.0], setting.batch, warmup + steps, seed=seed)

    def piped(seed: int) -> tuple[float, float]:
        loader = make_loader(dataset, sampler(seed), setting.loader_workers, pin_memory=cuda, collate=collate_words)
        return train_rate(iter(loader), config, setting, steps, warmup)

    def in_memory(seed: int) -> tuple[float, float]:
        # the same batches as the pipeline's round, built before timing (pinned on CUDA, as the loader's are)
        batches = [collate_words([dataset[ref] for ref in refs]) for refs in sampler(seed)]
        if cuda:
            batches = [{k: v.pin_memory() for k, v in batch.items()} for batch in batches]
        replayed[:] = batches
        return train_rate(iter(batches), config, setting, steps, warmup)

    out = pipeline_vs_memory(piped, in_memory, setting.device, rounds, unit="words")
    out["inference_words_per_s"] = round(inference_rate(replayed, config, setting), 1)
    return out


def scaling(data: Path, tmp: Path, configs: dict[str, dict[str, Any]]) -> dict[str, dict[str, dict[str, float]]]:
    """The real train stage under Ray Train per architecture, 1 worker x 2 threads against 2 DDP workers x
    1 thread: steady words/s and wall time."""
    from stages.train.params import TrainParams

    out = {}
    for name, config in configs.items():
        folder = tmp / f"scaling-{name}"
        folder.mkdir()

        def params(workers: int, cpus: float, threads: int, config: dict[str, Any] = config,
                   folder: Path = folder) -> TrainParams:
            # The global batch is the same (64) in both layouts: 2 workers take 32 each.
            return TrainParams.model_validate({
                "model": config,
                "data": {"datasets": [{"input": "words", "ratio": 1}], "batch_size": BATCH // workers,
                         "loader_workers": 1},
                "optim": {"lr": 1e-3}, "schedule": {"steps": 60}, "checkpoint": {"every": 60}, "log_every": 20,
                "workers": {"count": workers, "cpus_each": cpus, "torch_threads": threads, "max_failures": 0,
                            "storage_path": str(folder / "ray_results")}})

        layouts = {"1 worker x 2 threads": (1, 2, 2), "2 workers x 1 thread": (2, 1, 1)}
        out[name] = train_stage_layouts(layouts, params, {"words": data}, folder, unit="words")
    return out


def table(results: dict[str, dict[str, Any]]) -> str:
    """The figures as a fixed-width text table, one row per architecture."""
    rows = [f"{'model':10s} {'train words/s':>13s} {'in-memory':>10s} {'ratio':>6s} {'data wait':>9s} "
            f"{'infer words/s':>13s}"]
    for name, r in results.items():
        rows.append(f"{name:10s} {r['pipeline_words_per_s']:13.1f} {r['in_memory_words_per_s']:10.1f} "
                    f"{r['ratio']:6.2f} {r['pipeline_data_wait_fraction']:9.3f} {r['inference_words_per_s']:13.1f}")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", action="append", choices=ARCHS, help="only these architectures (repeatable)")
    parser.add_argument("--scaling", action="store_true", help="also compare Ray Train layouts (1x2 vs 2x1)")
    parser.add_argument("--gpu", action="store_true", help="the GPU setting (batch 256, bf16, 8 loaders, CUDA)")
    parser.add_argument("--device", help="override the setting's device (e.g. run the GPU setting on cpu)")
    parser.add_argument("--threads", type=int, help="torch threads (default: 1 on CPU, 4 with --gpu)")
    parser.add_argument("--loader-workers", type=int, help="DataLoader processes (default: 1 on CPU, 8 with --gpu)")
    args = parser.parse_args()
    setting = GPU if args.gpu else CPU
    overrides = {"device": args.device, "threads": args.threads, "loader_workers": args.loader_workers}
    setting = Setting(**{**vars(setting), **{k: v for k, v in overrides.items() if v is not None}})
    if cuda_missing(setting.device):
        return
    configs = {name: config for name, config in model_configs().items() if name in (args.arch or ARCHS)}
    tmp = Path(tempfile.mkdtemp(prefix="bench-rec-"))
    data = make_data(tmp)
    measured = {name: measure(data, config, setting) for name, config in configs.items()}
    print(table(measured))
    results: dict[str, Any] = {"setting": vars(setting), "steps": STEPS, "rounds": ROUNDS, "models": measured}
    if args.scaling:
        results["ray_train_layouts"] = scaling(data, tmp, configs)
        for name, layouts in results["ray_train_layouts"].items():
            print(f"{name:10s} " + "  ".join(f"{layout}: {r['words_per_s']:.1f} words/s"
                                             for layout, r in layouts.items()))
    path = write_results("bench_rec", results)
    print(json.dumps({"bench": "rec", "results": str(path.relative_to(ROOT))}))


if __name__ == "__main__":
    main()
