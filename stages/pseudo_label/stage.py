"""The ``pseudo_label`` stage: an ensemble of trained detectors labels unlabeled images, with loss weights.

Inputs: the K teachers named in ``models`` (train stages' ``model`` folders, or checkpoint URIs), the
unlabeled images (input ``unlabeled``: a folder, dataset folder, archive or manifest; see ``sources``)
and, optionally, ``ground_truth``: the same images' hidden annotations, used only to score the labels.

1. The images are split into ``shards`` contiguous slices, each a Ray task (``ctx.map``; Ray tasks
   asking for ``gpus_per_shard`` GPUs when given) that loads every teacher once and runs batched
   inference under every test-time view (``tta``): ``S = K x T`` polygon sets per image.
2. Each image's sets are fused (``fusion``: IoU clusters, votes, score-weighted polygon fusion) and every
   fused instance gets a weight from its agreement and score (``weights``), or is dropped.
3. Output ``dataset/``: ``annotations.json`` (COCO, via ``write_coco``; ``weight`` per annotation,
   ``iscrowd=1`` for don't care) and ``images/`` (hard links to the inputs). Images that could not be
   read are skipped and counted (``skipped_<reason>``); images left with no pseudo-label are left out
   unless ``keep_empty_images`` (counted as ``empty_images``).
4. Output ``report/``: ``stats.json``, ``histograms.png``, ``samples/*.png`` (pseudo-labels coloured by
   weight, with a colour legend; also logged as images ``samples/<image>``) and, with ground truth,
   ``scores.json`` and ``pr.png``. Every metric is named ``pseudo/<k>``: the means of the label stats,
   ``pseudo/images_per_s``, precision / recall per weight band as ``pseudo/gt.*`` and the
   ensemble-vs-single comparison as ``pseudo/cmp.*``. The histograms and the precision / recall curves
   are tables on the run (``report/hist_<name>.json``, ``report/pr_curves.json``) beside their plots.

Resources: the stage task only waits for its shards; configs give it ``resources: {num_cpus: 0}`` and
size the shards with ``cpus_per_shard`` / ``gpus_per_shard``. On a multi-node cluster the shards read
the image and model paths the stage task sees: the artifact root must be on a shared file system.
"""
from __future__ import annotations

import re
import shutil
import time
from collections import Counter
from pathlib import Path
from typing import Any

from pipeline.stage import StageContext, StageDef, StageResult, stage_tracking_uri
from stages.dataset.drawing import image_key, to_rgb
from stages.dataset.layout import images_folder, write_detection_set
from stages.dataset.profile import describe_dataset
from stages.dataset.records import ImageRecord, TextInstance
from stages.dataset.report_files import write_json
from stages.dataset.tree import link_or_copy
from stages.pseudo_label import scoring, stats
from stages.pseudo_label.params import PseudoLabelParams
from stages.pseudo_label.shards import ImageOutcome, ShardResult, ShardTask, label_shard
from stages.pseudo_label.sources import ImageEntry, resolve_unlabeled
from stages.pseudo_label.tta import make_views
from stages.pseudo_label.weights import decide_instance

DATASET = "dataset"
REPORT = "report"
_SCRATCH = ".unpacked"
_LOG_SKIPS = 10  # skipped images logged one by one; the rest only counted
METRIC_PREFIX = "pseudo/"  # of every metric on the stage's MLflow run and in its result


def run(params: PseudoLabelParams, inputs: dict[str, Path], out_dir: Path, ctx: StageContext) -> StageResult:
    """Pseudo-label the unlabeled input with the teachers' ensemble; see the module docstring."""
    out_dir = Path(out_dir)
    uris = model_uris(params, inputs)
    try:
        unlabeled = resolve_unlabeled(_input(inputs, params.unlabeled, "unlabeled"), out_dir / _SCRATCH)
        views = make_views(params.tta.scales, params.tta.flip)
        ctx.logger.info("pseudo_label: %d images (%s), %d teacher(s) x %d view(s) [%s], %d shard(s)",
                        len(unlabeled.entries), unlabeled.kind, len(uris), len(views),
                        ", ".join(v.name for v in views), params.shards)
        started = time.perf_counter()
        tasks = shard_tasks(params, unlabeled.entries, list(uris.values()), views, ctx)
        results = sorted(run_shards(tasks, params, ctx), key=lambda r: r.index)
        elapsed = time.perf_counter() - started
        if tasks[0].device == "cuda" and any(r.device == "cpu" for r in results):
            ctx.logger.warning("pseudo_label: GPUs were asked for but shard(s) ran on the CPU "
                               "(torch sees no GPU there)")
        outcomes = [img for res in results for img in res.images]
        counts: Counter = Counter()
        labeled = decide_all(outcomes, {e.key: e.path for e in unlabeled.entries}, params, counts, ctx)
        written = write_dataset(labeled, out_dir / DATASET, params.keep_empty_images, counts)
        summary = stats.summarize(labeled, len(uris) * len(views))
        metrics = {**stats.log_summary(ctx, summary), "images_per_s": len(outcomes) / max(elapsed, 1e-9)}
        report = out_dir / REPORT
        for name, drawn in write_report(report, labeled, summary, params):
            ctx.log_image(image_key(name), to_rgb(drawn), 0)
        if params.ground_truth is not None:
            metrics.update(score(params, inputs, labeled, outcomes, list(uris), report, ctx))
        write_json(report / "stats.json", {**summary, "timing": _timing(results, elapsed), "models": uris,
                                            "views": [v.name for v in views], "input_kind": unlabeled.kind})
    finally:
        shutil.rmtree(out_dir / _SCRATCH, ignore_errors=True)  # unpacked archives: the set holds links to what it uses
    ctx.log_artifact(report)  # as report/: stats.json, histograms.png, samples/, scores.json, pr.png
    counts.update({"images_in": len(unlabeled.entries), "images_labeled": len(labeled),
                   "images_written": written["images"], "instances": written["annotations"],
                   "instances_ignore": written["ignore"], "instances_dropped": summary["dropped"]})
    ctx.logger.info("pseudo_label: %d images in %.1fs (%.2f images/s); %d pseudo-labels on %d images (%d dropped)",
                    len(outcomes), elapsed, metrics["images_per_s"], written["annotations"], written["images"],
                    summary["dropped"])
    return StageResult(outputs={DATASET: DATASET, REPORT: REPORT}, counts=dict(counts),
                       metrics={f"{METRIC_PREFIX}{k}": v for k, v in metrics.items()},
                       artifacts=[f"{REPORT}/stats.json"], datasets=[DATASET],
                       extra={"models": uris, "views": [v.name for v in views]})


def decide_all(outcomes: list[ImageOutcome], paths: dict[str, Path], params: PseudoLabelParams, counts: Counter,
               ctx: StageContext) -> list[stats.LabeledImage]:
    """Apply the weight rule to every fused instance; count (and log the first few) skipped images."""
    rule = params.weighting.rule()
    labeled = []
    for outcome in outcomes:
        if outcome.skipped:
            counts[f"skipped_{outcome.skipped}"] += 1
            if sum(v for k, v in counts.items() if k.startswith("skipped_")) <= _LOG_SKIPS:
                ctx.logger.warning("pseudo_label: skipped %s: %s (%s)", outcome.key, outcome.skipped, outcome.detail)
            continue
        labeled.append(stats.LabeledImage(outcome.key, paths[outcome.key], outcome.width, outcome.height,
                                          [(inst, decide_instance(inst, rule)) for inst in outcome.fused]))
    return labeled


def write_report(report: Path, labeled: list[stats.LabeledImage], summary: dict[str, Any],
                 params: PseudoLabelParams) -> list[tuple[str, Any]]:
    """histograms.png and the sample images drawn with their pseudo-labels; returns the samples as
    (name, BGR image)."""
    stats.plot_histograms(summary, report / "histograms.png")
    samples = []
    for img in stats.sample(labeled, params.num_render):
        name = Path(img.key).with_suffix("").as_posix().replace("/", "__")
        samples.append((name, stats.render(img, report / "samples" / f"{name}.png")))
    return samples


def model_uris(params: PseudoLabelParams, inputs: dict[str, Path]) -> dict[str, str]:
    """{name: checkpoint uri} of the teachers: an input's folder (named after the input), else the entry
    read as a URI (named after it, with characters MLflow metric names refuse replaced by ``_``)."""
    uris = {}
    for entry in params.models:
        if entry in inputs:
            uris[entry] = str(inputs[entry])
        elif "/" in entry or ":" in entry or entry.endswith(".pt"):
            uris[re.sub(r"[^A-Za-z0-9_.-]", "_", entry)] = entry
        else:
            raise KeyError(f"pseudo_label: model {entry!r} is neither one of the stage's inputs {sorted(inputs)} "
                           "nor a checkpoint path/URI")
    return uris


def shard_tasks(params: PseudoLabelParams, entries: list[ImageEntry], uris: list[str], views: list,
                ctx: StageContext) -> list[ShardTask]:
    """Contiguous, near-equal slices of the images, one task each."""
    n = max(1, min(params.shards, len(entries)))
    bounds = [round(i * len(entries) / n) for i in range(n + 1)]
    post = params.detect.model_dump()
    device = "cuda" if params.gpus_per_shard > 0 or ctx.num_gpus > 0 else "cpu"
    return [ShardTask(i, entries[bounds[i]:bounds[i + 1]], uris, views, params.image_size, params.batch_size, post,
                      params.iou, outline=params.outline, keep_sources=params.ground_truth is not None, device=device,
                      torch_threads=params.torch_threads, tracking_uri=stage_tracking_uri(ctx))
            for i in range(n)]


def run_shards(tasks: list[ShardTask], params: PseudoLabelParams, ctx: StageContext) -> list[ShardResult]:
    """Run the shards: with ``gpus_per_shard`` as Ray tasks reserving the GPUs, else through ``ctx.map``."""
    import ray

    if params.gpus_per_shard > 0 and ray.is_initialized():
        available = ray.cluster_resources().get("GPU", 0)
        if available < params.gpus_per_shard:
            raise RuntimeError(f"pseudo_label: gpus_per_shard={params.gpus_per_shard} but the Ray cluster has "
                               f"{available:g} GPU(s); set gpus_per_shard: 0 to label on CPUs")
        remote = ray.remote(num_cpus=params.cpus_per_shard, num_gpus=params.gpus_per_shard, max_retries=1)(label_shard)
        return ray.get([remote.remote(t) for t in tasks])
    return ctx.map(label_shard, tasks, num_cpus=params.cpus_per_shard)


def write_dataset(images: list[stats.LabeledImage], folder: Path, keep_empty: bool, counts: Counter) -> dict[str, int]:
    """Link the kept images into ``folder/images`` and write ``folder/annotations.json``."""
    root = images_folder(folder)
    records = []
    for img in images:
        kept = img.kept
        if not kept and not keep_empty:
            counts["empty_images"] += 1
            continue
        target = root / img.key
        target.parent.mkdir(parents=True, exist_ok=True)
        link_or_copy(img.path, target)
        instances = [TextInstance(polygon=[(float(x), float(y)) for x, y in inst.polygon], ignore=d.ignore,
                                  weight=round(float(d.weight), 4)) for inst, d in kept]  # fusion rounds to 0.01 px
        records.append(ImageRecord(target, img.width, img.height, instances, source=f"pseudo_label:{img.key}"))
    return write_detection_set(records, folder)


def score(params: PseudoLabelParams, inputs: dict[str, Path], labeled: list[stats.LabeledImage],
          outcomes: list[ImageOutcome], model_names: list[str], report: Path, ctx: StageContext) -> dict[str, float]:
    """Score the pseudo-labels against the hidden ground truth: per weight band, and ensemble vs singles."""
    gts = scoring.load_ground_truth(_input(inputs, params.ground_truth, "ground_truth"))
    missing = sum(img.key not in gts for img in labeled)
    if missing:
        ctx.logger.warning("pseudo_label: %d labeled image(s) have no ground truth in %s", missing, params.ground_truth)
    metrics = scoring.band_metrics(gts, labeled, params.bands, params.ground_truth_protocol)
    good = [o for o in outcomes if not o.skipped]
    cmp, curves = scoring.compare_ensemble(gts, {o.key: o.fused for o in good}, {o.key: o.sources for o in good},
                                           model_names, params.iou, params.weighting.rule(),
                                           params.outline, params.ground_truth_protocol)
    metrics.update(cmp)
    ctx.log_table(scoring.curves_table(curves), f"{REPORT}/pr_curves.json")
    scoring.plot_curves(curves, report / "pr.png")
    write_json(report / "scores.json", {"metrics": metrics, "curves": {c.name: c.sweep for c in curves}})
    ctx.logger.info("pseudo_label: vs ground truth: P %.4f R %.4f; ensemble P %.4f at R %.4f, best single P %.4f there",
                    metrics["gt.precision"], metrics["gt.recall"], cmp["cmp.ensemble.precision"],
                    cmp["cmp.ensemble.recall"], cmp["cmp.best_single.precision_at_ensemble_recall"])
    return metrics


def _timing(results: list[ShardResult], elapsed: float) -> dict[str, Any]:
    return {"wall_s": elapsed, "shards": [{"index": r.index, "images": len(r.images), "device": r.device,
                                           "load_s": r.load_s, "run_s": r.run_s} for r in results]}


def _input(inputs: dict[str, Path], name: str, key: str) -> Path:
    if name not in inputs:
        raise KeyError(f"pseudo_label: {key} names input {name!r}, but the stage's inputs are {sorted(inputs)}")
    return Path(inputs[name])


def output_names(params: PseudoLabelParams) -> list[str]:
    """The pseudo-labeled dataset and the report."""
    return [DATASET, REPORT]


def shard_need(params: PseudoLabelParams) -> dict[str, float]:
    """What the stage needs to make progress: one shard (further shards queue in Ray as room frees)."""
    return {"CPU": params.cpus_per_shard, "GPU": params.gpus_per_shard}


STAGE = StageDef(name="pseudo_label", fn=run, params=PseudoLabelParams, version="1", outputs=output_names,
                 description="ensemble pseudo-labels (TTA, IoU-vote fusion) with per-instance loss weights",
                 ray_work=shard_need, headline=("pseudo/gt.hmean", "pseudo/weight_mean", "pseudo/agreement_mean"),
                 describe_dataset=describe_dataset)
