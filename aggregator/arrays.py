"""The nearest-sample rule over a whole pool-day at once, with NumPy: the aggregator's compute path.

Input: the pool's samples as SampleRuns (``pinger.store.interface``): runs of one host and state,
a single sample being a run from its time to its time, sorted by host and then time. The rule
(``rule``) gives each run the span it owns: from the midpoint with the host's previous run (or
``hold`` before its start, whichever is later) to the midpoint with its next run (or ``hold`` after
its end, whichever is earlier). Everything else is sums over the day's slices (``slices``).

``pool_day_figures`` gives, for every configured host of a pool, what ``daily.compute_host_figures``
gives for one: the same arithmetic on the same values in the same order (sums over the slices run
left to right, as Python's ``sum`` does), so both agree to the last bit when times are whole
seconds and ``hold`` is a whole number of seconds (tests/test_arrays.py checks it against the rule).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import NamedTuple
from zoneinfo import ZoneInfo

import numpy as np

from pinger.config import Energy, Host, Pool
from pinger.localtime import closing_instants, day_bounds, hour_starts
from pinger.models import HostDay, PoolHour

from .slices import day_slices

_HOUR = 3600.0


class Owned(NamedTuple):
    """Each run's owned span [low, high] (unclipped), with its host and state."""

    host: np.ndarray
    low: np.ndarray
    high: np.ndarray
    up: np.ndarray


def owned_spans(host: np.ndarray, start: np.ndarray, stop: np.ndarray, up: np.ndarray, hold: float) -> Owned:
    """The span each run owns by the nearest-sample rule (``rule._owned`` for many hosts at once).
    Raises ValueError when a host's runs are not in strictly increasing time order."""
    low = start - hold
    high = stop + hold
    if len(host) > 1:
        same = host[1:] == host[:-1]
        if (same & (start[1:] <= stop[:-1])).any() or (host[1:] < host[:-1]).any():
            raise ValueError("runs must be sorted by host, then strictly increasing in time")
        midpoint = (stop[:-1] + start[1:]) / 2
        high[:-1] = np.where(same & (midpoint < high[:-1]), midpoint, high[:-1])
        low[1:] = np.where(same & (midpoint > low[1:]), midpoint, low[1:])
    return Owned(host, low, high, up)


def bucket_seconds(spans: Owned, hosts: int, edges: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Seconds on and observed of each host in each bucket [edges[i], edges[i + 1]): two arrays
    hosts x buckets (``rule.per_bucket`` for many hosts at once)."""
    edge = np.asarray(edges, dtype=np.float64)
    buckets = len(edge) - 1
    if buckets <= 0 or not len(spans.host):
        return np.zeros((hosts, max(buckets, 0))), np.zeros((hosts, max(buckets, 0)))
    low = np.maximum(spans.low, edge[0])
    high = np.minimum(spans.high, edge[-1])
    keep = high > low
    host, low, high, up = spans.host[keep], low[keep], high[keep], spans.up[keep]
    first: np.ndarray = np.searchsorted(edge, low, "right") - 1
    last: np.ndarray = np.searchsorted(edge, high, "left") - 1
    one = first == last
    slots = [host[one] * buckets + first[one]]
    lengths = [high[one] - low[one]]
    states = [up[one]]
    many = ~one
    if many.any():
        host_m, first_m, last_m, up_m = host[many], first[many], last[many], up[many]
        slots += [host_m * buckets + first_m, host_m * buckets + last_m]
        lengths += [edge[first_m + 1] - low[many], high[many] - edge[last_m]]
        states += [up_m, up_m]
        for step in range(1, int((last_m - first_m).max())):
            inside = last_m - first_m > step
            bucket = first_m[inside] + step
            slots.append(host_m[inside] * buckets + bucket)
            lengths.append(edge[bucket + 1] - edge[bucket])
            states.append(up_m[inside])
    slot = np.concatenate(slots)
    length = np.concatenate(lengths)
    state = np.concatenate(states)
    size = hosts * buckets
    observed = np.bincount(slot, weights=length, minlength=size)
    on = np.bincount(slot, weights=np.where(state, length, 0.0), minlength=size)
    return on.reshape(hosts, buckets), observed.reshape(hosts, buckets)


def states_at(spans: Owned, hosts: int, instants: Sequence[float]) -> np.ndarray:
    """Each host's state at each instant (``rule.state_at``): an int8 array hosts x instants, 1 on,
    0 off, -1 unobserved. At an exact midpoint the earlier run decides."""
    found = np.full((hosts, len(instants)), -1, dtype=np.int8)
    for column, instant in enumerate(instants):
        match = np.flatnonzero((spans.low <= instant) & (instant <= spans.high))
        if not len(match):
            continue
        owners, first = np.unique(spans.host[match], return_index=True)  # runs are in time order: the earlier
        found[owners, column] = spans.up[match[first]].astype(np.int8)
    return found


class PoolDayFigures(NamedTuple):
    host_days: list[HostDay]
    hours_on: np.ndarray  # hosts x clock hours: seconds on
    hours_observed: np.ndarray


def _sequential_sum(values: np.ndarray, axis: int) -> np.ndarray:
    """The sum along ``axis`` added left to right, as Python's ``sum`` adds (NumPy's own sum adds pairwise)."""
    if values.shape[axis] == 0:
        shape = list(values.shape)
        del shape[axis]
        return np.zeros(shape)
    found: np.ndarray = np.cumsum(values, axis=axis).take(-1, axis=axis)
    return found


def pool_day_figures(
    pool: Pool,
    day: dt.date,
    tz: ZoneInfo,
    hold: float,
    host: np.ndarray,
    start: np.ndarray,
    stop: np.ndarray,
    up: np.ndarray,
    energy: Energy,
) -> PoolDayFigures:
    """Every configured host's figures for one local day from the pool's runs (``host``: the index
    in ``pool.hosts``); a host without runs is unobserved all day."""
    hosts: Sequence[Host] = pool.hosts
    count = len(hosts)
    day_start, day_stop = day_bounds(day, tz)
    slices = day_slices(day, tz, pool.open, energy)
    spans = owned_spans(host.astype(np.int64), start.astype(np.float64), stop.astype(np.float64), up.astype(bool), hold)
    on, observed = bucket_seconds(spans, count, slices.edges)
    on_total = _sequential_sum(on, 1)
    observed_total = _sequential_sum(observed, 1)
    hours_on = np.zeros((count, len(slices.hours)))
    hours_observed = np.zeros_like(hours_on)
    for bucket, hour in enumerate(slices.hour):
        hours_on[:, hour] += on[:, bucket]
        hours_observed[:, hour] += observed[:, bucket]
    watts = np.array([item.watts for item in hosts], dtype=np.float64)
    standby = np.array([item.standby_watts for item in hosts], dtype=np.float64)
    closed: list[float | None] = [None] * count
    at_close: list[int | None] = [None] * count
    if pool.open is not None:
        on_open = np.zeros(count)
        for bucket, is_open in enumerate(slices.open):
            if is_open:
                on_open = on_open + on[:, bucket]
        closed = (np.maximum(on_total - on_open, 0.0) / _HOUR).tolist()
        instants = closing_instants(pool.open, day, tz)
        at_close = (states_at(spans, count, instants) == 1).sum(axis=1).tolist() if instants else [0] * count
    costs: list[float | None] = [None] * count
    if slices.price is not None:
        priced = np.zeros(count)
        for bucket, price in enumerate(slices.price):
            priced = priced + (on[:, bucket] * watts + (observed[:, bucket] - on[:, bucket]) * standby) * price
        costs = (priced / _HOUR / 1000.0).tolist()
    energy_kwh = (on_total * watts + (observed_total - on_total) * standby) / _HOUR / 1000.0
    co2: list[float | None] = (
        [None] * count if energy.co2_g_per_kwh is None else (energy_kwh * energy.co2_g_per_kwh / 1000.0).tolist()
    )
    runtime = (on_total / _HOUR).tolist()
    coverage = (observed_total / (day_stop - day_start)).tolist()
    energies = energy_kwh.tolist()
    host_days = [
        HostDay(
            pool=pool.name,
            host=hosts[index].name,
            day=day,
            runtime_h=runtime[index],
            coverage=coverage[index],
            energy_kwh=energies[index],
            runtime_closed_h=closed[index],
            on_at_close=at_close[index],
            cost=costs[index],
            co2_kg=co2[index],
        )
        for index in range(count)
    ]
    return PoolDayFigures(host_days, hours_on, hours_observed)


def pool_hours(
    pool: Pool, day: dt.date, tz: ZoneInfo, hours_on: np.ndarray, hours_observed: np.ndarray, phase: str | None
) -> list[PoolHour]:
    """``daily.compute_pool_hours`` from the hosts' hours as arrays (hosts x hours): the same values."""
    starts = hour_starts(day, tz)
    _, stop = day_bounds(day, tz)
    total = len(pool.hosts)
    on_sums = _sequential_sum(hours_on, 0).tolist() if total else [0] * len(starts)
    observed_sums = _sequential_sum(hours_observed, 0).tolist() if total else [0] * len(starts)
    rows = []
    for index, start in enumerate(starts):
        length = (starts[index + 1] if index + 1 < len(starts) else stop) - start
        on, observed = on_sums[index], observed_sums[index]
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
