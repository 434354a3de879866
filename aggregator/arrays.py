"""The nearest-sample rule over a whole pool-day at once, with NumPy: the aggregator's compute path.

Input: the pool's samples as DaySamples (``pinger.store.interface``): runs of one host and state
(a single sample being a run from its time to its time), sorted by host and then time, and blocks
of hosts sampled together. The rule (``rule``) gives each run the span it owns: from the midpoint
with the host's previous run (or ``hold`` before its start, whichever is later) to the midpoint with
its next run (or ``hold`` after its end, whichever is earlier); in a block every host owns the same
span of each sweep, so its seconds are one matrix product. Everything else is sums over the day's
slices (``slices``).

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
from pinger.store.interface import DaySamples, SweepBlock

from .daily import pool_hour_rows
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


class Pieces(NamedTuple):
    """The owned spans cut at the bucket edges: each piece lies in one bucket."""

    host: np.ndarray
    bucket: np.ndarray
    length: np.ndarray
    up: np.ndarray


def pieces(spans: Owned, edges: np.ndarray) -> Pieces:
    """The spans clipped to [edges[0], edges[-1]) and cut at every edge inside them (``rule.per_bucket``'s
    pieces), empty ones left out."""
    low = np.maximum(spans.low, edges[0])
    high = np.minimum(spans.high, edges[-1])
    keep = high > low
    host, low, high, up = spans.host[keep], low[keep], high[keep], spans.up[keep]
    first: np.ndarray = np.searchsorted(edges, low, "right") - 1
    last: np.ndarray = np.searchsorted(edges, high, "left") - 1
    one = first == last
    hosts, buckets, lengths, states = [host[one]], [first[one]], [high[one] - low[one]], [up[one]]
    many = ~one
    if many.any():
        host_m, first_m, last_m, up_m = host[many], first[many], last[many], up[many]
        hosts += [host_m, host_m]
        buckets += [first_m, last_m]
        lengths += [edges[first_m + 1] - low[many], high[many] - edges[last_m]]
        states += [up_m, up_m]
        for step in range(1, int((last_m - first_m).max())):
            inside = last_m - first_m > step
            bucket = first_m[inside] + step
            hosts.append(host_m[inside])
            buckets.append(bucket)
            lengths.append(edges[bucket + 1] - edges[bucket])
            states.append(up_m[inside])
    return Pieces(np.concatenate(hosts), np.concatenate(buckets), np.concatenate(lengths), np.concatenate(states))


def bucket_seconds(spans: Owned, hosts: int, edges: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Seconds on and observed of each host in each bucket [edges[i], edges[i + 1]): two arrays
    hosts x buckets (``rule.per_bucket`` for many hosts at once)."""
    edge = np.asarray(edges, dtype=np.float64)
    buckets = len(edge) - 1
    if buckets <= 0 or not len(spans.host):
        return np.zeros((hosts, max(buckets, 0))), np.zeros((hosts, max(buckets, 0)))
    cut = pieces(spans, edge)
    slot = cut.host * buckets + cut.bucket
    size = hosts * buckets
    observed = np.bincount(slot, weights=cut.length, minlength=size)
    on = np.bincount(slot, weights=np.where(cut.up, cut.length, 0.0), minlength=size)
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


def block_seconds(block: SweepBlock, hold: float, edges: Sequence[float]) -> tuple[np.ndarray, np.ndarray, Owned]:
    """``bucket_seconds`` for hosts sampled together: every host owns the same span of each sweep, so a
    bucket's seconds on are the sum of its sweeps' pieces where the host was up (no per-host spans).
    Also returns the sweeps' spans."""
    edge = np.asarray(edges, dtype=np.float64)
    buckets = len(edge) - 1
    times = block.times.astype(np.float64)
    sweeps = len(times)
    spans = owned_spans(np.zeros(sweeps, dtype=np.int64), times, times, np.ones(sweeps, dtype=bool), hold)
    rows = Owned(np.arange(sweeps, dtype=np.int64), spans.low, spans.high, spans.up)
    on = np.zeros((len(block.host), buckets))
    observed = np.zeros_like(on)
    if buckets <= 0 or not sweeps:
        return on, observed, rows
    cut = pieces(rows, edge)
    order = np.lexsort((cut.host, cut.bucket))  # by bucket, each bucket's pieces in time order
    row, bucket, length = cut.host[order], cut.bucket[order], cut.length[order]
    if not len(row):
        return on, observed, rows
    starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
    present = bucket[starts]
    weighted = block.up[row] * length[:, None]  # pieces x hosts
    on[:, present] = np.add.reduceat(weighted, starts, axis=0).T
    observed[:, present] = np.add.reduceat(length, starts)
    return on, observed, rows


def block_states(block: SweepBlock, rows: Owned, instants: Sequence[float]) -> np.ndarray:
    """``states_at`` for the hosts of a block (rows: the sweeps' spans from block_seconds)."""
    found = np.full((len(block.host), len(instants)), -1, dtype=np.int8)
    for column, instant in enumerate(instants):
        match = np.flatnonzero((rows.low <= instant) & (instant <= rows.high))
        if len(match):
            found[:, column] = block.up[match[0]].astype(np.int8)  # the earlier sweep at a midpoint
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
    pool: Pool, day: dt.date, tz: ZoneInfo, hold: float, samples: DaySamples, energy: Energy
) -> PoolDayFigures:
    """Every configured host's figures for one local day from the pool's samples (host indexes: the
    place in ``pool.hosts``); a host without samples is unobserved all day."""
    hosts: Sequence[Host] = pool.hosts
    count = len(hosts)
    day_start, day_stop = day_bounds(day, tz)
    slices = day_slices(day, tz, pool.open, energy)
    instants = closing_instants(pool.open, day, tz) if pool.open is not None else []
    runs = samples.runs
    spans = owned_spans(
        runs.host.astype(np.int64), runs.start.astype(np.float64), runs.stop.astype(np.float64), runs.up, hold
    )
    on, observed = bucket_seconds(spans, count, slices.edges)
    states = states_at(spans, count, instants) if instants else None
    for block in samples.blocks:
        block_on, block_observed, rows = block_seconds(block, hold, slices.edges)
        on[block.host] = block_on
        observed[block.host] = block_observed
        if states is not None:
            states[block.host] = block_states(block, rows, instants)
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
        at_close = (states == 1).sum(axis=1).tolist() if states is not None else [0] * count
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
    hours = len(hour_starts(day, tz))
    on_sums = _sequential_sum(hours_on, 0).tolist() if len(pool.hosts) else [0.0] * hours
    observed_sums = _sequential_sum(hours_observed, 0).tolist() if len(pool.hosts) else [0.0] * hours
    return pool_hour_rows(pool, day, tz, on_sums, observed_sums, phase)
