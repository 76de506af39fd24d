"""Resource-aware scheduling: a stage starts only when everything it needs fits the cluster.

A stage's need is its own task's request (``resources:`` in the config) plus the Ray work it launches
itself, which its StageDef declares with ``ray_work(params)`` (a train stage: its TorchTrainer
workers; a sharded stage: one shard). Ray would queue a plain task that does not fit, but a
TorchTrainer whose workers cannot be placed fails after a timeout and retries noisily, so the
driver keeps a ledger of what its running stages hold and lets a stage start only when its whole
need fits what the cluster has left. Independent stages still overlap wherever there is room.

A stage whose need exceeds the whole cluster starts when nothing else of this run is running (an
autoscaling cluster may add the nodes it needs); the ledger logs a warning saying so.

The ledger covers this driver's stages only: several drivers on one cluster do not see each other's
reservations.
"""
from __future__ import annotations

import logging
import time
from typing import Any, Callable

log = logging.getLogger("pipeline")

_REFRESH_S = 5.0  # how often the cluster's totals are re-read (nodes join and leave)


def stage_need(resources: Any, stage_def: Any, params: Any) -> dict[str, float]:
    """CPU / GPU / memory a stage holds while it runs: its task's request plus its declared Ray work."""
    need = {"CPU": float(resources.num_cpus), "GPU": float(resources.num_gpus), "memory": float(resources.memory or 0)}
    work: Callable[[Any], dict[str, float]] | None = getattr(stage_def, "ray_work", None)
    for name, amount in (work(params) if work else {}).items():
        need[name] = need.get(name, 0.0) + float(amount)
    return {name: amount for name, amount in need.items() if amount > 0}


class ResourceLedger:
    """What the running stages of this driver hold, against the cluster's totals."""

    def __init__(self, totals: Callable[[], dict[str, float]] | dict[str, float]):
        self._read_totals = totals if callable(totals) else (lambda: dict(totals))
        self._totals: dict[str, float] = {}
        self._read_at = float("-inf")
        self.held: dict[str, dict[str, float]] = {}

    @classmethod
    def from_cluster(cls) -> "ResourceLedger":
        """Totals from the connected Ray cluster (``ray.cluster_resources()``)."""
        import ray

        return cls(lambda: {k: float(v) for k, v in ray.cluster_resources().items()})

    def totals(self) -> dict[str, float]:
        if time.monotonic() - self._read_at > _REFRESH_S:
            self._totals = self._read_totals()
            self._read_at = time.monotonic()
        return self._totals

    def free(self) -> dict[str, float]:
        free = dict(self.totals())
        for need in self.held.values():
            for name, amount in need.items():
                free[name] = free.get(name, 0.0) - amount
        return free

    def admit(self, stage: str, need: dict[str, float], alone: bool) -> bool:
        """Reserve ``need`` for ``stage`` if it fits what is free (or, when ``alone``, whatever the
        cluster has); False when it has to wait."""
        free = self.free()
        if any(amount > free.get(name, 0.0) + 1e-9 for name, amount in need.items()):
            if not alone:
                return False
            totals = self.totals()
            short = {n: a for n, a in need.items() if a > totals.get(n, 0.0) + 1e-9}
            if short:
                log.warning("stage %s needs %s but the cluster has %s; starting it alone", stage,
                            _fmt(short), _fmt({n: totals.get(n, 0.0) for n in short}))
        self.held[stage] = need
        return True

    def release(self, stage: str) -> None:
        self.held.pop(stage, None)


def _fmt(resources: dict[str, float]) -> str:
    return ", ".join(f"{name} {amount:g}" for name, amount in sorted(resources.items()))
