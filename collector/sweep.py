"""One sweep: resolve the targets, ping them through the engine, return typed per-host results."""

from __future__ import annotations

import time

from pinger.config import Config
from pinger.models import HostResult, SweepResult

from .engine import ping_addresses
from .targets import Resolver, build_targets


def run_sweep(config: Config, resolver: Resolver, scheduled: int | None = None) -> SweepResult:
    started = time.monotonic()
    targets = build_targets(config, resolver)
    reachable = [target for target in targets if target.address is not None]
    outcomes = iter(ping_addresses([t.address for t in reachable], config.ping))  # type: ignore[misc]
    results = []
    for target in targets:
        if target.address is None:
            results.append(HostResult(target.pool, target.host, False, None, target.error))
        else:
            outcome = next(outcomes)
            results.append(HostResult(target.pool, target.host, outcome.up, outcome.rtt_ms, outcome.error))
    return SweepResult(
        scheduled=int(time.time()) if scheduled is None else scheduled,
        duration_s=time.monotonic() - started,
        hosts=tuple(results),
    )
