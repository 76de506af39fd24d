"""The MLflow model registry: register a trained detector, move its aliases, show what is registered.

Shared by the register stage and the train stage's sweep (both register a logged MLflow model as a version);
resolving a ``models:/`` URI is the engine's (``pipeline.model_uris``).

A registered version is an MLflow *logged model* (``models.pyfunc``: a pyfunc model holding the slim
checkpoint), created with ``MlflowClient.create_model_version(name, source=<the logged model's artifact
location>, run_id=<the run that logged it>, model_id=...)``; the logged model's ``mlflow.modelVersions``
tag records the version (what MLflow's UI follows; a SQL registry keeps no model id on the version).

Every new version gets the alias ``candidate``. ``champion`` moves to it only when its value of the
benchmark metric (``metric.<benchmark>`` tag, e.g. ``metric.test.hmean``) is strictly higher than the
current champion's value of the same metric, *and* both were evaluated alike: on the same test set
(the content digest of the benchmark's test-set input of the evaluation, tag ``eval.data.<test set>``)
with the same protocol (tag ``eval.protocol``). Scores on different test sets or protocols are not
comparable, so then the new version stays ``candidate`` and the ``champion.reason`` tag says why. The
comparison is written on the new version as ``champion.*`` tags. A champion that has no value for the
benchmark, or no record of how it was evaluated, is kept (the two cannot be compared);
``python -m pipeline models promote`` moves it by hand.

Command line (``--tracking-uri`` defaults to ``pipeline.paths.default_tracking_uri()``)::

    python -m pipeline models list
    python -m pipeline models show NAME
    python -m pipeline models promote NAME VERSION
    python -m pipeline models alias NAME ALIAS VERSION
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import deque
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from pipeline.model_uris import (
    ModelNotFound,
    check_model_uri,
    describe_registry,
    get_alias_version,
    is_not_found,
    model_version,
    registered_model,
    registry_client,
)

__all__ = ["ModelNotFound", "Registration", "check_model_uri", "describe_registry", "get_alias_version",
           "register_version", "registry_client", "set_alias", "version_tags"]

CANDIDATE = "candidate"
CHAMPION = "champion"
METRIC_TAG = "metric."  # version tag prefix of evaluation metrics
DATASET_TAG = "dataset."  # version tag prefix of upstream dataset digests
EVAL_DATA_TAG = "eval.data."  # version tag prefix: content digest of each test set the evaluation scored
EVAL_PROTOCOL_TAG = "eval.protocol"  # version tag: the evaluation's detection protocol


@dataclass
class Registration:
    """What registering one version did; written as ``registration.json`` by the register stage."""

    name: str
    version: str
    source: str
    run_id: str
    aliases: list[str]
    decision: str  # promoted | kept | not_compared
    reason: str
    benchmark: str | None = None
    value: float | None = None
    champion_before: str | None = None
    champion_value: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return asdict(self)


# --- registering ------------------------------------------------------------------------------
def ensure_registered_model(client: MlflowClient, name: str, description: str = "") -> None:
    """Create the registered model unless it exists."""
    try:
        client.get_registered_model(name)
    except MlflowException as exc:
        if not is_not_found(exc):
            raise
        client.create_registered_model(name, description=description or None)


def register_version(client: MlflowClient, name: str, source: str, run_id: str | None, tags: dict[str, Any],
                     benchmark: str | None, description: str = "", candidate_alias: str = CANDIDATE,
                     champion_alias: str = CHAMPION, model_id: str | None = None) -> Registration:
    """Create a version of ``name`` from ``source`` (``models:/<model_id>`` of a logged model, or an
    artifact folder), alias it ``candidate_alias`` and promote it to ``champion_alias`` when it beats the
    champion on ``benchmark`` (see the module docstring)."""
    ensure_registered_model(client, name)
    clean = {k: _tag_value(v) for k, v in tags.items() if v is not None}
    # Decide first, so the version is created with its decision tags (fewer round trips to a server).
    result = compare_with_champion(client, name, clean, benchmark, champion_alias)
    mv = client.create_model_version(name, source=source, run_id=run_id, tags={**clean, **_decision_tags(result)},
                                     description=description or None, model_id=model_id)
    result.version, result.source, result.run_id = str(mv.version), source, run_id or ""
    if model_id:
        link_logged_model(client, model_id, name, result.version)
    result.aliases = [candidate_alias] + ([champion_alias] if result.decision == "promoted" else [])
    for alias in result.aliases:
        client.set_registered_model_alias(name, alias, result.version)
    return result


def link_logged_model(client: MlflowClient, model_id: str, name: str, version: str) -> None:
    """Record the version on its logged model (tag ``mlflow.modelVersions``, as ``mlflow.register_model``
    does): MLflow's UI shows the link from that tag, and a SQL registry keeps no model id on the version."""
    from mlflow.utils.mlflow_tags import MLFLOW_MODEL_VERSIONS

    known = json.loads(client.get_logged_model(model_id).tags.get(MLFLOW_MODEL_VERSIONS) or "[]")
    entry = {"name": name, "version": str(version)}
    if entry not in known:
        client.set_logged_model_tags(model_id, {MLFLOW_MODEL_VERSIONS: json.dumps([*known, entry])})


def compare_with_champion(client: MlflowClient, name: str, tags: dict[str, str], benchmark: str | None,
                          champion_alias: str = CHAMPION) -> Registration:
    """Decide whether a new version with ``tags`` takes ``champion_alias`` from the current one; changes nothing."""
    reg = Registration(name, "", "", "", [], "not_compared", "", benchmark)
    if not benchmark:
        reg.reason = "no benchmark metric configured; promote by hand"
        return reg
    reg.value = _float(tags.get(METRIC_TAG + benchmark))
    if reg.value is None:
        reg.reason = f"this version has no {benchmark!r} metric"
        return reg
    current = get_alias_version(client, name, champion_alias)
    if current is None:
        reg.decision, reg.reason = "promoted", f"first {champion_alias}"
        return reg
    reg.champion_before = str(current.version)
    reg.champion_value = _float(current.tags.get(METRIC_TAG + benchmark))
    unlike = evaluation_mismatch(tags, current.tags, benchmark)
    if reg.champion_value is None:
        reg.decision = "kept"
        reg.reason = f"{champion_alias} v{current.version} has no {benchmark!r} to compare with; promote by hand"
    elif unlike:
        reg.decision = "kept"
        reg.reason = f"not compared with {champion_alias} v{current.version}: {unlike}; promote by hand"
    elif reg.value > reg.champion_value:
        reg.decision = "promoted"
        reg.reason = f"{benchmark} {reg.value:.4f} > {reg.champion_value:.4f} of v{current.version}"
    else:
        reg.decision = "kept"
        reg.reason = f"{benchmark} {reg.value:.4f} <= {reg.champion_value:.4f} of v{current.version}"
    return reg


def evaluation_mismatch(new: dict[str, str], champion: dict[str, str], benchmark: str) -> str | None:
    """Why a new version's ``benchmark`` value cannot be compared with the champion's, or None when both
    were evaluated alike (same test set content, same protocol)."""
    testset = benchmark.split(".", 1)[0]  # an evaluate metric is <test set input name>.<metric>
    key = EVAL_DATA_TAG + testset
    if not new.get(key):
        return f"this version's test set {testset!r} has no recorded digest"
    if not champion.get(key):
        return f"the champion's test set {testset!r} has no recorded digest"
    if new[key] != champion[key]:
        return (f"champion evaluated on a different test set (digest {champion[key]}, "
                f"this version {new[key]})")
    if new.get(EVAL_PROTOCOL_TAG) != champion.get(EVAL_PROTOCOL_TAG):
        return (f"champion evaluated with a different protocol ({champion.get(EVAL_PROTOCOL_TAG)}, "
                f"this version {new.get(EVAL_PROTOCOL_TAG)})")
    return None


def _decision_tags(reg: Registration) -> dict[str, str]:
    tags = {"champion.decision": reg.decision, "champion.reason": reg.reason}
    optional = {"champion.benchmark": reg.benchmark, "champion.value": reg.value,
                "champion.compared_with": reg.champion_before, "champion.compared_value": reg.champion_value}
    tags.update({k: _tag_value(v) for k, v in optional.items() if v is not None})
    return tags


def set_alias(client: MlflowClient, name: str, alias: str, version: str, reason: str = "") -> None:
    """Point ``alias`` at ``version`` (checked to exist first), noting why on the version."""
    model_version(client, name, str(version))
    client.set_registered_model_alias(name, alias, str(version))
    if reason:
        client.set_model_version_tag(name, str(version), f"{alias}.reason", reason)


def _float(text: Any) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def _tag_value(value: Any) -> str:
    text = repr(float(value)) if isinstance(value, float) else str(value)
    return text[:4990]  # MLflow's tag value limit is 5000 characters


# --- what a version records --------------------------------------------------------------------
def version_tags(checkpoint: Path, sha: str) -> dict[str, Any]:
    """What the checkpoint says about itself: digest, step, architecture."""
    from models.checkpoint import load_checkpoint  # torch: only when a version is registered

    ckpt = load_checkpoint(checkpoint)
    cfg = ckpt["model_config"]
    return {"model.sha256": sha, "model.step": ckpt["step"], "model.arch": cfg.get("arch"),
            "model.backbone": cfg.get("backbone", {}).get("name")}


def find_manifest(path: Path) -> Path | None:
    """The ``manifest.json`` of the stage output folder that holds ``path`` (the output itself, or a file
    in it): the stage folder is ``<artifact_root>/<stage>/<key>/``."""
    path = Path(path).resolve()
    for folder in [path, *path.parents][:4]:
        candidate = folder / "manifest.json"
        if candidate.is_file():
            return candidate
    return None


def lineage_digests(outputs: Iterable[Path]) -> dict[str, str]:
    """``{"dataset.<stage>.<output>": digest}`` for the given stage outputs that are datasets and every
    dataset consumed upstream of them, walking the manifests' inputs back through the artifact root
    (as far as it is local; a path outside any stage folder contributes nothing)."""
    tags: dict[str, str] = {}
    queue: deque[tuple[Path, str | None]] = deque()
    for path in outputs:
        manifest = find_manifest(Path(path))
        if manifest is not None:
            rel = Path(path).resolve().relative_to(manifest.parent.resolve()).as_posix()
            queue.append((manifest, rel))
    seen: set[Path] = set()
    while queue:
        manifest_path, rel = queue.popleft()
        manifest = json.loads(manifest_path.read_text())
        for name, out in manifest.get("outputs", {}).items():
            if out.get("path") == rel and name in manifest.get("datasets", []):
                tags[f"{DATASET_TAG}{manifest['stage']}.{name}"] = out["digest"]
        if manifest_path in seen:
            continue
        seen.add(manifest_path)
        root = manifest_path.parent.parent.parent
        for ref in manifest.get("inputs", {}).values():
            upstream = root / ref["stage"] / ref["key"] / "manifest.json"
            if upstream.is_file():
                up = json.loads(upstream.read_text())
                queue.append((upstream, up.get("outputs", {}).get(ref["output"], {}).get("path")))
    return dict(sorted(tags.items()))


def evaluation_tags(report: Path, protocol: str | None,
                    model_inputs: Iterable[str] = ("model", "baseline")) -> dict[str, str]:
    """How an evaluation was done, for the champion gate: ``eval.protocol`` and ``eval.data.<test set>``
    (the content digest of each test-set input, read from the evaluate stage's manifest and its
    upstream's). A report outside any stage folder records the protocol only."""
    tags = {EVAL_PROTOCOL_TAG: protocol} if protocol else {}
    manifest_path = find_manifest(Path(report))
    if manifest_path is None:
        return tags
    manifest = json.loads(manifest_path.read_text())
    root = manifest_path.parent.parent.parent
    for name, ref in sorted(manifest.get("inputs", {}).items()):
        if name in model_inputs:
            continue
        upstream = root / ref["stage"] / ref["key"] / "manifest.json"
        if upstream.is_file():
            digest = json.loads(upstream.read_text()).get("outputs", {}).get(ref["output"], {}).get("digest")
            if digest:
                tags[EVAL_DATA_TAG + name] = digest
    return tags


def metric_tags(metrics: dict[str, Any]) -> dict[str, str]:
    """``{"metric.<name>": value}`` for every numeric metric."""
    return {f"{METRIC_TAG}{k}": _tag_value(float(v)) for k, v in sorted(metrics.items())
            if isinstance(v, (int, float)) and not isinstance(v, bool)}


# --- showing ------------------------------------------------------------------------------------
def show_model(client: MlflowClient, name: str) -> str:
    """Every version of ``name``: aliases, run, source, metrics, datasets and champion decisions."""
    model = registered_model(client, name)
    by_version: dict[str, list[str]] = {}
    for alias, version in model.aliases.items():
        by_version.setdefault(str(version), []).append(alias)
    lines = [f"{model.name}: {model.description or ''}".rstrip(": ")]
    versions = client.search_model_versions(f"name = '{name}'")
    for mv in sorted(versions, key=lambda v: int(v.version), reverse=True):
        aliases = " ".join(f"@{a}" for a in sorted(by_version.get(str(mv.version), [])))
        lines.append(f"  v{mv.version} {aliases}".rstrip())
        lines.append(f"    run {mv.run_id}  source {mv.source}")
        for key in sorted(mv.tags):
            lines.append(f"    {key} = {mv.tags[key]}")
    return "\n".join(lines)


def list_models(client: MlflowClient) -> str:
    """A table of registered models: name, newest version, aliases."""
    models = sorted(client.search_registered_models(), key=lambda m: m.name)
    if not models:
        return describe_registry(client)
    rows = [("name", "versions", "aliases")]
    for model in models:
        versions = client.search_model_versions(f"name = '{model.name}'")
        newest = max((int(v.version) for v in versions), default=0)
        aliases = ", ".join(f"{a}=v{v}" for a, v in sorted(model.aliases.items())) or "-"
        rows.append((model.name, f"{len(versions)} (newest v{newest})", aliases))
    width = [max(len(r[i]) for r in rows) for i in range(2)]
    return "\n".join(f"{r[0]:<{width[0]}}  {r[1]:<{width[1]}}  {r[2]}" for r in rows)


# --- command line -------------------------------------------------------------------------------
def models_parser() -> argparse.ArgumentParser:
    """Arguments of ``python -m pipeline models``."""
    uri_help = "MLflow tracking/registry URI (default: MLFLOW_TRACKING_URI or the project's SQLite store)"
    parser = argparse.ArgumentParser(prog="python -m pipeline models", description="Manage the MLflow model registry.")
    parser.add_argument("--tracking-uri", default=None, help=uri_help)
    common = argparse.ArgumentParser(add_help=False)  # --tracking-uri also after the action
    common.add_argument("--tracking-uri", default=argparse.SUPPRESS, help=uri_help)
    sub = parser.add_subparsers(dest="action", required=True)
    sub.add_parser("list", parents=[common], help="registered models and their aliases")
    show = sub.add_parser("show", parents=[common], help="every version of a model with its tags")
    show.add_argument("name")
    promote = sub.add_parser("promote", parents=[common], help=f"make VERSION the {CHAMPION} (by hand, no comparison)")
    promote.add_argument("name")
    promote.add_argument("version")
    alias = sub.add_parser("alias", parents=[common], help="point ALIAS at VERSION")
    alias.add_argument("name")
    alias.add_argument("alias")
    alias.add_argument("version")
    return parser


def main_models(argv: list[str]) -> int:
    """``python -m pipeline models ...``; exit 0 on success, 2 for an unknown model/version or bad arguments."""
    args = models_parser().parse_args(argv)
    client = registry_client(args.tracking_uri)
    try:
        if args.action == "list":
            print(list_models(client))
        elif args.action == "show":
            print(show_model(client, args.name))
        elif args.action == "promote":
            registered_model(client, args.name)
            before = get_alias_version(client, args.name, CHAMPION)
            set_alias(client, args.name, CHAMPION, args.version, reason="promoted by hand")
            was = f" (was v{before.version})" if before is not None else ""
            print(f"{args.name}: @{CHAMPION} -> v{args.version}{was}")
        else:
            set_alias(client, args.name, args.alias, args.version)
            print(f"{args.name}: @{args.alias} -> v{args.version}")
    except ModelNotFound as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
