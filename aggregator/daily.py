"""Per-host and per-pool figures of one local day, computed from samples by the nearest-sample rule."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence
from zoneinfo import ZoneInfo

from pinger.config import Host, OpeningHours, Pool

from .rule import state_at, tally

_HOUR = 3600.0
_MINUTES_PER_DAY = 1440


@dataclass(frozen=True, slots=True)
class HostDay:
    pool: str
    host: str
    day: dt.date
    runtime_h: float
    coverage: float  # observed fraction of the day, 0..1
    energy_kwh: float
    runtime_closed_h: float | None  # None: the pool has no opening hours
    on_at_close: int | None  # None: the pool has no opening hours


@dataclass(frozen=True, slots=True)
class PoolDay:
    day: dt.date
    pool: str
    phase: str | None
    tags: dict[str, str]
    pcs_total: int
    pcs_used: int
    runtime_h: float
    avg_runtime_h: float
    energy_kwh: float
    coverage: float
    runtime_closed_h: float | None
    on_at_close: int | None


@lru_cache(maxsize=4096)
def local_instant(day: dt.date, minutes: int, tz: ZoneInfo) -> float:
    """Unix seconds of the first instant at which the local clock reads ``minutes`` after midnight
    of ``day`` (1440 = the next midnight).

    A wall time that a DST change repeats is its first occurrence; one that the change skips is
    the instant of the change, when the clock jumps past it.
    """
    day = day + dt.timedelta(days=minutes // _MINUTES_PER_DAY)
    minutes %= _MINUTES_PER_DAY
    wall = dt.datetime.combine(day, dt.time(minutes // 60, minutes % 60), tzinfo=tz)
    with_offset_before = wall.timestamp()  # fold=0 reads the wall time with the offset before a change
    with_offset_after = wall.replace(fold=1).timestamp()
    if with_offset_before <= with_offset_after:  # equal: an ordinary time; less: repeated
        return with_offset_before
    # Skipped: reading it with the offset after the change lands before the change, and vice versa.
    return _offset_change(tz, int(with_offset_after), int(with_offset_before))


def _offset_change(tz: ZoneInfo, before: int, after: int) -> float:
    """The first second in (before, after] whose UTC offset differs from the one at ``before``."""
    offset = dt.datetime.fromtimestamp(before, tz).utcoffset()
    while after - before > 1:
        middle = (before + after) // 2
        if dt.datetime.fromtimestamp(middle, tz).utcoffset() == offset:
            before = middle
        else:
            after = middle
    return float(after)


def day_bounds(day: dt.date, tz: ZoneInfo) -> tuple[float, float]:
    """The local midnight starting the day and the next one (23 h or 25 h apart on DST days)."""
    return local_instant(day, 0, tz), local_instant(day, _MINUTES_PER_DAY, tz)


def sample_window(day: dt.date, tz: ZoneInfo, hold: float) -> tuple[float, float]:
    """[start, stop): the samples that can decide any instant of the day, its edges included."""
    start, stop = day_bounds(day, tz)
    return start - hold, stop + hold


@lru_cache(maxsize=4096)
def opening_spans(hours: OpeningHours, day: dt.date, tz: ZoneInfo) -> tuple[tuple[float, float], ...]:
    """The day's opening periods as sorted unix-second spans [start, stop) of wall-clock times.

    A period that a DST change skips entirely is dropped; periods that touch are merged.
    """
    spans: list[tuple[float, float]] = []
    for first, last in hours.periods_on(day):
        start, stop = local_instant(day, first, tz), local_instant(day, last, tz)
        if stop <= start:
            continue
        if spans and spans[-1][1] >= start:
            spans[-1] = (spans[-1][0], stop)
        else:
            spans.append((start, stop))
    return tuple(spans)


def closing_instants(hours: OpeningHours, day: dt.date, tz: ZoneInfo) -> tuple[float, ...]:
    """The instants the pool closes on the day: the end of each opening span, except an end at
    midnight that the next day's first period continues (the pool does not close then)."""
    closes = [stop for _, stop in opening_spans(hours, day, tz)]
    if closes:
        following = opening_spans(hours, day + dt.timedelta(days=1), tz)
        if following and following[0][0] == closes[-1]:
            closes.pop()
    return tuple(closes)


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
