"""Per-host and per-pool figures of one local day, computed from samples by the nearest-sample rule."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from pinger.config import Host, Pool
from pinger.localtime import closing_instants, day_bounds, opening_spans
from pinger.models import HostDay, PoolDay

from .rule import state_at, tally

_HOUR = 3600.0


def sample_window(day: dt.date, tz: ZoneInfo, hold: float) -> tuple[float, float]:
    """[start, stop): the samples that can decide any instant of the day, its edges included."""
    start, stop = day_bounds(day, tz)
    return start - hold, stop + hold


def compute_host_day(pool: Pool, host: Host, day: dt.date, tz: ZoneInfo, hold: float,
                     times: Sequence[float], states: Sequence[bool]) -> HostDay:
    """One host's figures for one local day.

    ``times`` and ``states`` are the host's samples as parallel sequences (see ``rule``); pass at
    least those in ``sample_window(day, tz, hold)`` so the neighbouring days decide the edges.
    """
    start, stop = day_bounds(day, tz)
    spans = opening_spans(pool.open, day, tz) if pool.open is not None else ()
    seconds = tally(times, states, hold, start, stop, spans)
    runtime_closed_h = on_at_close = None
    if pool.open is not None:
        # max(): on_within can exceed on by a rounding error, never by more.
        runtime_closed_h = max(seconds.on - seconds.on_within, 0.0) / _HOUR
        on_at_close = sum(1 for instant in closing_instants(pool.open, day, tz)
                          if state_at(times, states, hold, instant))
    off = seconds.observed - seconds.on
    return HostDay(
        pool=pool.name,
        host=host.name,
        day=day,
        runtime_h=seconds.on / _HOUR,
        coverage=seconds.observed / (stop - start),
        energy_kwh=(seconds.on * host.watts + off * host.standby_watts) / _HOUR / 1000.0,
        runtime_closed_h=runtime_closed_h,
        on_at_close=on_at_close,
    )


def compute_pool_day(pool: Pool, day: dt.date, host_days: Sequence[HostDay], phase: str | None) -> PoolDay:
    """A pool's figures for one day from its hosts' rows.

    Every configured host counts in pcs_total and in the coverage mean; a host missing from
    ``host_days`` counts as one without samples (coverage 0).
    """
    names = {row.host for row in host_days}
    if len(names) != len(host_days):
        raise ValueError(f"pool {pool.name}: a host appears twice among the rows of {day}")
    if any(row.pool != pool.name or row.day != day for row in host_days):
        raise ValueError(f"pool {pool.name}: rows of another pool or day given for {day}")
    runtime_h = sum(row.runtime_h for row in host_days)
    pcs_used = sum(1 for row in host_days if row.runtime_h > 0)
    has_hours = pool.open is not None
    return PoolDay(
        day=day,
        pool=pool.name,
        phase=phase,
        tags=dict(pool.tags),
        pcs_total=len(pool.hosts),
        pcs_used=pcs_used,
        runtime_h=runtime_h,
        avg_runtime_h=runtime_h / pcs_used if pcs_used else 0.0,
        energy_kwh=sum(row.energy_kwh for row in host_days),
        coverage=sum(row.coverage for row in host_days) / len(pool.hosts) if pool.hosts else 0.0,
        runtime_closed_h=sum(row.runtime_closed_h or 0.0 for row in host_days) if has_hours else None,
        on_at_close=sum(row.on_at_close or 0 for row in host_days) if has_hours else None,
    )
