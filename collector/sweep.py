"""One sweep: resolve the targets, ping them through the engine, return typed per-host results."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from pinger.config import Config, PingSettings
from pinger.models import HostResult, SweepResult

from .engine import EchoOutcome, ping_addresses
from .targets import Resolver, build_targets

# How a sweep pings: the addresses in; one outcome per address, in their order, out.
Ping = Callable[[Sequence[str], PingSettings], Sequence[EchoOutcome]]


def run_sweep(
    config: Config, resolver: Resolver, scheduled: int | None = None, ping: Ping = ping_addresses
) -> SweepResult:
    """Resolve the config's hosts and ping those with an address through ``ping`` (injected in tests, as
    telegraf injects pingHost). ``scheduled``: the time the sweep carries (default: now, whole seconds).
    A host without an address is not observed, with the reason; the others are up or off."""
    started = time.monotonic()
    targets = build_targets(config, resolver)
    addresses = [target.address for target in targets if target.address is not None]
    outcomes = iter(ping(addresses, config.ping))
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
