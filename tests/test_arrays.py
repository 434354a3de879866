"""The aggregator's array path gives, for every host of a pool, exactly what the per-host rule gives.

``aggregator/arrays.py`` computes a pool-day at once (runs, and blocks of hosts sampled together);
``aggregator/daily.compute_host_figures`` and ``compute_pool_hours`` compute a host and a pool the
reference way, over the same samples. Random samples with gaps, flapping, hosts never seen, on
ordinary and DST days, with opening hours and tariffs: the figures must be equal to the last bit.
"""

from __future__ import annotations

import datetime as dt
import random
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from pinger.aggregator.arrays import pool_day_figures, pool_hours
from pinger.aggregator.daily import compute_host_figures, compute_pool_hours, sample_window
from pinger.config import Energy, Host, OpeningHours, Pool, Tariff
from pinger.store.interface import DaySamples, SampleRuns, SweepBlock

BERLIN = ZoneInfo("Europe/Berlin")
WEEKDAY = ((480, 720), (780, 1200))  # 08:00-12:00, 13:00-20:00
HOURS = OpeningHours((WEEKDAY,) * 5 + (((540, 840),), ()))  # Saturday 09:00-14:00, Sunday closed
NIGHT = Tariff(0.2, OpeningHours((((0, 360), (1320, 1440)),) * 7))
ENERGY = Energy("EUR", 0.3, (NIGHT,), 380.0)
DAYS = [dt.date(2026, 11, 2), dt.date(2026, 3, 29), dt.date(2026, 10, 25), dt.date(2026, 11, 8)]


def make_pool(count: int, hours: OpeningHours | None) -> Pool:
    hosts = tuple(Host(f"pc-{i}", 60.0 + i % 7 * 10, 1.5 * (i % 3), False) for i in range(count))
    return Pool("A101", 80.0, 1.5, hosts, {}, hours)


def random_samples(rng: random.Random, start: float, stop: float, step: int) -> tuple[list[float], list[bool]]:
    """Samples every ``step`` seconds with gaps, sometimes shifted off the grid, sometimes flapping."""
    times, states = [], []
    t = int(start) + rng.randrange(step)
    up = rng.random() < 0.5
    while t < stop:
        if rng.random() < 0.05:
            t += rng.randrange(step, 8 * step)  # a gap
        if rng.random() < 0.1:
            up = not up
        times.append(float(t))
        states.append(up)
        t += step if rng.random() < 0.9 else rng.randrange(1, 2 * step)
    return times, states


def reference(pool, day, hold, samples, energy):
    figures = [
        compute_host_figures(pool, host, day, BERLIN, hold, *samples[index], energy)
        for index, host in enumerate(pool.hosts)
    ]
    return [host_day for host_day, _ in figures], compute_pool_hours(pool, day, BERLIN, [h for _, h in figures], None)


@pytest.mark.parametrize("day", DAYS, ids=str)
@pytest.mark.parametrize("hours, energy", [(None, Energy()), (HOURS, ENERGY)], ids=["plain", "hours-tariffs"])
@pytest.mark.parametrize("hold", [300.0, 600.0, 0.0])
def test_runs_give_the_per_host_rule_to_the_last_bit(day, hours, energy, hold):
    rng = random.Random(hash((day, hold, hours is None)) & 0xFFFF)
    pool = make_pool(25, hours)
    start, stop = sample_window(day, BERLIN, hold)
    samples = [random_samples(rng, start, stop, 300) if i % 6 else ([], []) for i in range(len(pool.hosts))]
    host = np.concatenate([np.full(len(t), i, dtype=np.int64) for i, (t, _) in enumerate(samples)])
    times = np.concatenate([np.array(t, dtype=np.float64) for t, _ in samples])
    states = np.concatenate([np.array(s, dtype=bool) for _, s in samples])
    runs = SampleRuns(host, times, times.copy(), states)
    found = pool_day_figures(pool, day, BERLIN, hold, DaySamples(runs), energy)
    host_days, hours_rows = reference(pool, day, hold, samples, energy)
    assert found.host_days == host_days
    if hold:  # the comparison is not of zeros: hosts on, hosts partly observed, hosts never seen
        assert {row.runtime_h > 0 for row in host_days} == {True, False}
        assert {0.0 < row.coverage < 1.0 for row in host_days} == {True, False}
    assert pool_hours(pool, day, BERLIN, found.hours_on, found.hours_observed, None) == hours_rows


@pytest.mark.parametrize("day", DAYS, ids=str)
def test_a_block_of_hosts_sampled_together_gives_the_per_host_rule(day):
    rng = random.Random(day.toordinal())
    pool = make_pool(40, HOURS)
    start, stop = sample_window(day, BERLIN, 300.0)
    sweeps = [float(t) for t in range(int(start) + 17, int(stop), 300) if rng.random() < 0.97]  # some missed
    up = np.array([[rng.random() < 0.4 for _ in pool.hosts] for _ in sweeps], dtype=bool)
    # Half the hosts in a block, the other half as runs (as the store hands over a roster change).
    in_block = np.arange(0, 40, 2)
    block = SweepBlock(in_block, np.array(sweeps), up[:, in_block])
    rest = np.arange(1, 40, 2)
    host = np.repeat(rest, len(sweeps))
    times = np.tile(np.array(sweeps), len(rest))
    runs = SampleRuns(host, times, times.copy(), up[:, rest].T.ravel())
    found = pool_day_figures(pool, day, BERLIN, 300.0, DaySamples(runs, (block,)), ENERGY)
    samples = [(sweeps, up[:, index].tolist()) for index in range(len(pool.hosts))]
    host_days, hours_rows = reference(pool, day, 300.0, samples, ENERGY)
    assert found.host_days == host_days
    assert pool_hours(pool, day, BERLIN, found.hours_on, found.hours_observed, None) == hours_rows


def test_runs_of_several_samples_give_what_their_samples_give():
    # A run stands for samples at most 2 x hold apart with one state: the state-change form another store may hand.
    day = DAYS[0]
    pool = make_pool(1, HOURS)
    start, _ = sample_window(day, BERLIN, 300.0)
    times = [start + 300 * k for k in range(300)]
    states = [100 <= k < 200 for k in range(300)]
    as_samples = SampleRuns(np.zeros(300, dtype=np.int64), np.array(times), np.array(times), np.array(states))
    as_runs = SampleRuns(
        np.zeros(3, dtype=np.int64),
        np.array([times[0], times[100], times[200]]),
        np.array([times[99], times[199], times[299]]),
        np.array([False, True, False]),
    )
    one = pool_day_figures(pool, day, BERLIN, 300.0, DaySamples(as_samples), ENERGY)
    other = pool_day_figures(pool, day, BERLIN, 300.0, DaySamples(as_runs), ENERGY)
    assert one.host_days == other.host_days and one.host_days[0].runtime_h == pytest.approx(100 * 300 / 3600)
