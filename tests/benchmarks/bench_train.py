"""Training throughput: the full data pipeline against the same model fed batches already in memory.

The data pipeline (JPEG decode, online augmentation, target maps in DataLoader workers, collation)
should keep the model busy: its images/s must reach >= 90% of the in-memory rate, where the model
trains on pre-built batches and does nothing else. Both run the quickstart's model and sizes
(tiny DBNet, 256 px crops, batch 16, one torch thread, one loader process) in this process, alternated
over three rounds; the best rate of each is compared (on a shared machine the best is the least
disturbed), and the fraction of time the training loop waited for data is reported per round.

``--gpu`` runs the same comparison in the GPU setting: DBNet with a ResNet-18 backbone, 640 px crops,
batch 16, bf16 autocast on CUDA, 8 pinned-memory loader processes; it also reports the peak GPU memory
of each side. Without a CUDA device it says so and exits.

``--scaling`` also runs the real train stage under Ray Train in three layouts on this machine and
reports their steady images/s: 1 worker x 2 threads, 1 worker x 1 thread (+ loader on the other core),
2 DDP workers x 1 thread each.

Run: ``python tests/benchmarks/bench_train.py [--scaling] [--gpu]``.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.benchmarks.throughput import (  # noqa: E402
    cuda_missing,
    pipeline_vs_memory,
    run_synth,
    timed_steps,
    train_stage_layouts,
    write_results,
)

SIZE, BATCH, STEPS, WARMUP = 256, 16, 40, 5


@dataclass(frozen=True)
class Setting:
    """What one comparison trains: crop size, batch, backbone, device, bf16, loader processes."""

    size: int = SIZE
    batch: int = BATCH
    backbone: str = "tiny"
    device: str = "cpu"
    bf16: bool = False
    loader_workers: int = 1
    threads: int = 1


CPU = Setting()
GPU = Setting(size=640, backbone="resnet18", device="cuda", bf16=True, loader_workers=8, threads=4)


def make_data(tmp: Path, images: int = 160, size: int = SIZE) -> Path:
    """A synthetic training set like the quickstart's (1-5 words per image) at ``size`` px."""
    return run_synth(tmp, splits={"train": images, "test": 32}, image_size=(size, size), crops=False)


def setup(data: Path, setting: Setting):
    """Model (on the setting's device), loss, optimizer, scheduler and the dataset over ``data/train``."""
    import torch

    from models.build import build_loss, build_model, target_maker, tiny_config, validate_config
    from stages.train.data import MixedDataset, read_samples
    from stages.train.loop import make_optimizer
    from stages.train.params import DataParams, OptimParams
    from stages.train.schedule import build_scheduler

    torch.set_num_threads(setting.threads)
    torch.manual_seed(0)
    cfg = validate_config({**tiny_config(), "backbone": {"name": setting.backbone, "init": None}}).model_dump()
    model, loss = build_model(cfg).to(setting.device), build_loss(cfg)
    optimizer = make_optimizer(OptimParams(lr=1e-3), model)
    scheduler = build_scheduler(optimizer, "poly", 10_000)
    augment = DataParams(datasets=[{"input": "train", "ratio": 1}]).augment  # the stage's default chain
    dataset = MixedDataset([read_samples(data / "train")], augment, setting.size, target_maker(cfg), 0)
    return model, loss, optimizer, scheduler, dataset


def rate(batches, model, loss, optimizer, scheduler, setting: Setting) -> tuple[float, float]:
    """(images/s, fraction of the time spent waiting for the next batch) of train steps over ``batches``
    (an iterator), after WARMUP untimed steps. Each step reads its losses back, so the GPU is in step."""
    import torch

    from stages.train.loop import train_step

    device = torch.device(setting.device)
    return timed_steps(batches, lambda batch: train_step(model, loss, optimizer, scheduler, batch, device, 5.0,
                                                         setting.bf16), setting.batch, WARMUP, STEPS)


def compare(data: Path, setting: Setting, rounds: int = 3) -> dict:
    """Images/s with the DataLoader pipeline and with the same batches replayed from memory (see
    ``throughput.pipeline_vs_memory``), plus the setting and the target ratio."""
    from stages.train.data import collate, make_loader
    from stages.train.sampler import MixedBatchSampler

    def sampler(seed: int) -> MixedBatchSampler:
        return MixedBatchSampler(dataset.sizes(), [1.0], setting.batch, WARMUP + STEPS, seed=seed)

    def piped(seed: int) -> tuple[float, float]:
        model, loss, optimizer, scheduler, _ = setup(data, setting)
        loader = make_loader(dataset, sampler(seed), setting.loader_workers, pin_memory=setting.device == "cuda")
        return rate(iter(loader), model, loss, optimizer, scheduler, setting)

    def in_memory(seed: int) -> tuple[float, float]:
        batches = [collate([dataset[ref] for ref in refs]) for refs in sampler(seed)]  # built before timing
        model, loss, optimizer, scheduler, _ = setup(data, setting)
        return rate(iter(batches), model, loss, optimizer, scheduler, setting)

    dataset = setup(data, setting)[4]
    out = pipeline_vs_memory(piped, in_memory, setting.device, rounds)
    return {"setting": vars(setting), **out, "target_ratio": 0.9}


def scaling(data: Path, tmp: Path) -> dict[str, dict[str, float]]:
    """The real train stage under Ray Train in three worker/thread layouts: steady images/s and wall time."""
    from stages.train.params import TrainParams

    def params(workers: int, cpus: float, threads: int) -> TrainParams:
        # The global batch is the same (16) in every layout: 2 workers take 8 each.
        return TrainParams.model_validate({
            "data": {"datasets": [{"input": "train", "ratio": 1}], "batch_size": BATCH // workers, "image_size": SIZE,
                     "loader_workers": 1},
            "optim": {"lr": 1e-3}, "schedule": {"steps": 60}, "checkpoint": {"every": 60}, "log_every": 20,
            "workers": {"count": workers, "cpus_each": cpus, "torch_threads": threads, "max_failures": 0,
                        "storage_path": str(tmp / "ray_results")}})

    layouts = {"1 worker x 2 threads": (1, 2, 2), "1 worker x 1 thread": (1, 2, 1), "2 workers x 1 thread": (2, 1, 1)}
    return train_stage_layouts(layouts, params, {"train": data / "train"}, tmp)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scaling", action="store_true", help="also compare Ray Train worker/thread layouts")
    parser.add_argument("--gpu", action="store_true", help="the GPU setting (ResNet-18, 640 px, bf16, CUDA)")
    parser.add_argument("--device", help="override the setting's device (e.g. run the GPU setting on cpu)")
    parser.add_argument("--threads", type=int, help="torch threads (default: 1 on CPU, 4 with --gpu)")
    parser.add_argument("--loader-workers", type=int, help="DataLoader processes (default: 1 on CPU, 8 with --gpu)")
    args = parser.parse_args()
    setting = GPU if args.gpu else CPU
    overrides = {"device": args.device, "threads": args.threads, "loader_workers": args.loader_workers}
    setting = Setting(**{**vars(setting), **{k: v for k, v in overrides.items() if v is not None}})
    if cuda_missing(setting.device):
        return
    tmp = Path(tempfile.mkdtemp(prefix="bench-train-"))
    data = make_data(tmp, size=setting.size)
    results: dict = {"pipeline_vs_memory": compare(data, setting)}
    if args.scaling:
        results["ray_train_layouts"] = scaling(data, tmp)
    print(json.dumps(results, indent=2))
    write_results("bench_train", results)
    if results["pipeline_vs_memory"]["ratio"] < 0.9:
        print("FAIL: the data pipeline is below 90% of the in-memory rate", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
