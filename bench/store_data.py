"""Synthetic but realistic collector data for the store benchmarks: who is on when, and how fast they answer.

Every value is a pure function of (host index, time), computed with NumPy a sweep or a host at a
time, so that any order of writing (a sweep after another, as the collector writes; a host after
another, as a bulk load into the old ``(host, time)`` key prefers) writes the same samples.

* 20 % of the hosts are on around the clock, 10 % never answer, the rest are PCs used on 85 % of
  the days in one session starting between 06:00 and 12:00 UTC and lasting 4 to 16 hours: about
  45 % of all samples are up, as in the issue's held-out data.
* Round-trip times have the collector's three decimals, mostly 0.12-1 ms, a few up to 3 ms.
* Hosts are 10.x.y.z addresses; pools hold ``pool_sizes`` hosts each, in turn (``mixed``: 20 to 60,
  40 on average, like the rooms of a university; or one fixed size).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import numpy as np

EPOCH = int(dt.datetime(2026, 6, 1, tzinfo=dt.UTC).timestamp())
INTERVAL_S = 300
DAY_S = 86_400
MIXED = (20, 25, 30, 35, 40, 45, 50, 55, 60)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def _mix(values: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: a well-spread 64-bit hash of each value."""
    z = values.astype(np.uint64)
    with np.errstate(over="ignore"):
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def host_name(index: int) -> str:
    address = 0x0A000000 + index + 1 + index // 250 * 6  # 10.0.0.1 onwards, skipping .0 and .255 of each /24
    return ".".join(str(address >> shift & 255) for shift in (24, 16, 8, 0))


def pools(hosts: int, pool_sizes: str) -> list[tuple[str, list[int]]]:
    """(pool name, host indexes) covering hosts 0 .. hosts - 1 in order."""
    sizes = MIXED if pool_sizes == "mixed" else (int(pool_sizes),)
    found, first, turn = [], 0, 0
    while first < hosts:
        size = min(sizes[turn % len(sizes)], hosts - first)
        found.append((f"P{len(found):04d}", list(range(first, first + size))))
        first += size
        turn += 1
    return found


def states(host_indexes: np.ndarray, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(up, rtt_ms): arrays shaped (len(times), len(host_indexes)); rtt_ms is NaN where down."""
    hosts = host_indexes.astype(np.int64)[None, :]
    when = times.astype(np.int64)[:, None]
    day = (when - EPOCH) // DAY_S
    second = (when - EPOCH) % DAY_S
    kind = hosts % 10
    seed = _mix(hosts * 1_000_003 + day)
    used = (seed % np.uint64(100)) < np.uint64(85)
    start = 6 * 3600 + ((seed >> np.uint64(8)) % np.uint64(6 * 3600)).astype(np.int64)
    length = 4 * 3600 + ((seed >> np.uint64(24)) % np.uint64(12 * 3600)).astype(np.int64)
    session = used & (start <= second) & (second < start + length)
    up = (kind <= 1) | ((kind >= 3) & session)
    spread = (_mix(hosts * 7919 + when * 104_729) % np.uint64(100_000)).astype(np.float64) / 100_000
    rtt = np.round(0.12 + spread**3 * 3.0, 3)
    return up, np.where(up, rtt, np.nan)


def sweep_times(days: float, first: int = EPOCH) -> np.ndarray:
    return np.arange(first, first + int(days * DAY_S), INTERVAL_S, dtype=np.int64)


def sweep_rows(
    hosts: int, times: np.ndarray, pool_sizes: str
) -> Iterator[list[tuple[int, str, str, int, float | None]]]:
    """Each sweep's samples as SampleRows (time, pool, host, up, rtt_ms), a sweep at a time."""
    layout = pools(hosts, pool_sizes)
    names = [host_name(index) for index in range(hosts)]
    pool_of = [name for name, members in layout for _ in members]
    indexes = np.arange(hosts)
    for time_s in times:
        up, rtt = states(indexes, np.array([time_s]))
        ups = up[0].tolist()
        rtts = rtt[0].tolist()
        t = int(time_s)
        yield [
            (t, pool_of[i], names[i], 1, rtts[i]) if ups[i] else (t, pool_of[i], names[i], 0, None)
            for i in range(hosts)
        ]


def host_rows(hosts: int, times: np.ndarray, pool_sizes: str) -> Iterator[tuple[int, str, str, int, float | None]]:
    """Every sample as SampleRows, a host after another (the order of the old ``(host, time)`` key)."""
    layout = pools(hosts, pool_sizes)
    pool_of = [name for name, members in layout for _ in members]
    order = sorted(range(hosts), key=host_name)
    for index in order:
        up, rtt = states(np.array([index]), times)
        name, pool = host_name(index), pool_of[index]
        for t, state, value in zip(times.tolist(), up[:, 0].tolist(), rtt[:, 0].tolist(), strict=True):
            yield (t, pool, name, 1, value) if state else (t, pool, name, 0, None)
