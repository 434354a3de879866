"""Per-host and per-pool figures of one local day, computed from samples by the nearest-sample rule."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Sequence
from zoneinfo import ZoneInfo

from pinger.config import Host, OpeningHours, Pool

from .rule import on_and_observed, on_within, state_at

_HOUR = 3600.0


@dataclass(frozen=True, slots=True)
class HostDay:
    pool: str
    host: str
    day: dt.date
    runtime_h: float
    coverage: float
    energy_kwh: float
    runtime_closed_h: float | None  # None: the pool has no opening hours
    on_at_close: int | None


@dataclass(frozen=True)
class PoolDay:
    day: dt.date
    pool: str
    phase: str | None
    pcs_total: int
    pcs_used: int
    runtime_h: float
    avg_runtime_h: float
    energy_kwh: float
    coverage: float
    runtime_closed_h: float | None
    on_at_close: int | None
    tags: dict[str, str] = field(default_factory=dict)


def local_instant(day: dt.date, minutes: int, tz: ZoneInfo) -> float:
    """Unix seconds of a wall-clock time (minutes after midnight; 1440 = next midnight) on a day.

    A wall time that does not exist (skipped by a DST change) or exists twice is read with
    fold=0: the offset in force before the change.
    """
    day = day + dt.timedelta(days=minutes // 1440)
    minutes %= 1440
    return dt.datetime.combine(day, dt.time(minutes // 60, minutes % 60), tzinfo=tz).timestamp()


def day_bounds(day: dt.date, tz: ZoneInfo) -> tuple[float, float]:
    """The local midnight starting the day and the next one (23 h or 25 h apart on DST days)."""
    return local_instant(day, 0, tz), local_instant(day, 1440, tz)


def sample_window(day: dt.date, tz: ZoneInfo, hold: float) -> tuple[float, float]:
    """The samples that can speak for any instant of the day lie in [start, stop)."""
    start, stop = day_bounds(day, tz)
    return start - hold, stop + hold


def opening_spans(hours: OpeningHours, day: dt.date, tz: ZoneInfo) -> list[tuple[float, float]]:
    """The day's opening periods as unix-second spans; each span's end is a closing instant."""
    return [(local_instant(day, start, tz), local_instant(day, end, tz)) for start, end in hours.periods_on(day)]


def compute_host_day(pool: Pool, host: Host, day: dt.date, tz: ZoneInfo, hold: float,
                     times: Sequence[float], states: Sequence[bool]) -> HostDay:
    start, stop = day_bounds(day, tz)
    on, observed = on_and_observed(times, states, hold, start, stop)
    closed_h = at_close = None
    if pool.open is not None:
        spans = opening_spans(pool.open, day, tz)
        closed_h = (on - on_within(times, states, hold, spans)) / _HOUR
        at_close = sum(1 for _, close in spans if state_at(times, states, hold, close))
    energy_kwh = (on * host.watts + (observed - on) * host.standby_watts) / _HOUR / 1000.0
    return HostDay(pool.name, host.name, day, on / _HOUR, observed / (stop - start), energy_kwh,
                   closed_h, at_close)


def compute_pool_day(pool: Pool, day: dt.date, host_days: Sequence[HostDay], phase: str | None) -> PoolDay:
    used = sum(1 for host in host_days if host.runtime_h > 0)
    runtime = sum(host.runtime_h for host in host_days)
    has_hours = pool.open is not None
    return PoolDay(
        day=day,
        pool=pool.name,
        phase=phase,
        pcs_total=len(pool.hosts),
        pcs_used=used,
        runtime_h=runtime,
        avg_runtime_h=runtime / used if used else 0.0,
        energy_kwh=sum(host.energy_kwh for host in host_days),
        coverage=sum(host.coverage for host in host_days) / len(pool.hosts) if pool.hosts else 0.0,
        runtime_closed_h=sum(host.runtime_closed_h or 0.0 for host in host_days) if has_hours else None,
        on_at_close=sum(host.on_at_close or 0 for host in host_days) if has_hours else None,
        tags=dict(pool.tags),
    )
