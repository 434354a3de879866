"""Per-host and per-pool figures of one local day, computed from samples by the nearest-sample rule."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from pinger.config import Energy, Host, Pool
from pinger.localtime import closing_instants, day_bounds, hour_starts
from pinger.models import HostDay, HostHours, PoolDay, PoolHour

from .rule import per_bucket, state_at
from .slices import day_slices

_HOUR = 3600.0
_NO_ENERGY = Energy()


def sample_window(day: dt.date, tz: ZoneInfo, hold: float) -> tuple[float, float]:
    """[start, stop): the samples that can decide any instant of the day, its edges included."""
    start, stop = day_bounds(day, tz)
    return start - hold, stop + hold


def compute_host_day(
    pool: Pool,
    host: Host,
    day: dt.date,
    tz: ZoneInfo,
    hold: float,
    times: Sequence[float],
    states: Sequence[bool],
    energy: Energy = _NO_ENERGY,
) -> HostDay:
    """One host's figures for one local day (``compute_host_figures`` without the hours)."""
    return compute_host_figures(pool, host, day, tz, hold, times, states, energy)[0]


def compute_host_figures(
    pool: Pool,
    host: Host,
    day: dt.date,
    tz: ZoneInfo,
    hold: float,
    times: Sequence[float],
    states: Sequence[bool],
    energy: Energy = _NO_ENERGY,
    lasts: Sequence[float] | None = None,
) -> tuple[HostDay, HostHours]:
    """One host's figures for one local day, and its seconds on and observed in each clock hour.

    ``times`` and ``states`` are the host's samples as parallel sequences (see ``rule``); pass at
    least those in ``sample_window(day, tz, hold)`` so the neighbouring days decide the edges.
    With ``lasts`` they are runs of samples (``rule``'s docstring): the figures of the samples they stand for.
    One pass over the samples: ``rule.per_bucket`` over the day's slices (``slices.day_slices``),
    whose sums give the runtime, the on-time within opening hours, the hours and the cost.
    """
    start, stop = day_bounds(day, tz)
    slices = day_slices(day, tz, pool.open, energy)
    seconds = per_bucket(times, states, hold, slices.edges, lasts)
    on_total, observed_total = sum(seconds.on), sum(seconds.observed)
    hours_on = [0.0] * len(slices.hours)
    hours_observed = [0.0] * len(slices.hours)
    for hour, on, observed in zip(slices.hour, seconds.on, seconds.observed, strict=True):
        hours_on[hour] += on
        hours_observed[hour] += observed
    runtime_closed_h = on_at_close = None
    if pool.open is not None:
        on_open = sum(on for on, is_open in zip(seconds.on, slices.open, strict=True) if is_open)
        # max(): the sums can differ by a rounding error, never by more.
        runtime_closed_h = max(on_total - on_open, 0.0) / _HOUR
        on_at_close = sum(
            1 for instant in closing_instants(pool.open, day, tz) if state_at(times, states, hold, instant, lasts)
        )
    cost = None
    if slices.price is not None:
        watt_seconds_priced = sum(
            (on * host.watts + (observed - on) * host.standby_watts) * price
            for on, observed, price in zip(seconds.on, seconds.observed, slices.price, strict=True)
        )
        cost = watt_seconds_priced / _HOUR / 1000.0
    energy_kwh = (on_total * host.watts + (observed_total - on_total) * host.standby_watts) / _HOUR / 1000.0
    return HostDay(
        pool=pool.name,
        host=host.name,
        day=day,
        runtime_h=on_total / _HOUR,
        coverage=observed_total / (stop - start),
        energy_kwh=energy_kwh,
        runtime_closed_h=runtime_closed_h,
        on_at_close=on_at_close,
        cost=cost,
        co2_kg=_co2_kg(energy_kwh, energy),
    ), HostHours(tuple(hours_on), tuple(hours_observed))


def _co2_kg(energy_kwh: float, energy: Energy) -> float | None:
    return None if energy.co2_g_per_kwh is None else energy_kwh * energy.co2_g_per_kwh / 1000.0


def compute_pool_hours(
    pool: Pool, day: dt.date, tz: ZoneInfo, host_hours: Sequence[HostHours], phase: str | None
) -> list[PoolHour]:
    """A pool's rows for each local clock hour of the day from its hosts' hours.

    Every configured host counts in pcs_total and the coverage mean (a host without samples is
    unobserved); ``host_hours`` holds the hours of the hosts that are configured now.
    """
    hours = range(len(hour_starts(day, tz)))
    on = [sum(host.on[index] for host in host_hours) for index in hours]
    observed = [sum(host.observed[index] for host in host_hours) for index in hours]
    return pool_hour_rows(pool, day, tz, on, observed, phase)


def pool_hour_rows(
    pool: Pool, day: dt.date, tz: ZoneInfo, on_s: Sequence[float], observed_s: Sequence[float], phase: str | None
) -> list[PoolHour]:
    """A pool's rows for each local clock hour of the day from the seconds its hosts were on and observed in
    each hour, summed over the hosts (``pcs_total`` hosts: the pool's configured ones)."""
    starts = hour_starts(day, tz)
    _, stop = day_bounds(day, tz)
    total = len(pool.hosts)
    rows = []
    for index, start in enumerate(starts):
        length = (starts[index + 1] if index + 1 < len(starts) else stop) - start
        on, observed = on_s[index], observed_s[index]
        wall = dt.datetime.fromtimestamp(start, tz)
        pcs_on = on / length
        rows.append(
            PoolHour(
                time=int(start),
                pool=pool.name,
                phase=phase,
                weekday=wall.isoweekday(),
                hour=wall.hour,
                pcs_on=pcs_on,
                share_on=pcs_on / total if total else 0.0,
                coverage=observed / (length * total) if total else 0.0,
            )
        )
    return rows


def compute_pool_day(
    pool: Pool, day: dt.date, host_days: Sequence[HostDay], phase: str | None, energy: Energy = _NO_ENERGY
) -> PoolDay:
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
    priced, with_co2 = energy.priced, energy.co2_g_per_kwh is not None
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
        cost=sum(row.cost or 0.0 for row in host_days) if priced else None,
        co2_kg=sum(row.co2_kg or 0.0 for row in host_days) if with_co2 else None,
    )
