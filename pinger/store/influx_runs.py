"""The aggregator's samples from InfluxDB as runs: the rows of ``flux.pool_runs_flux`` read with csv.reader,
each host's rows turned into runs (``HostRuns``; for the aggregator ``SampleRuns``) that give the rule every
sample's figures.

What the rule needs. The nearest-sample rule (aggregator/rule.py) gives every figure of a host-day (runtime,
coverage, energy, cost, the hours, runtime_closed_h, on_at_close) from two things only: the intervals the
samples own, with their states, and the state at a few instants. A sample inside a *run* (the samples from one
that starts a run to the last before the next start) changes neither: a run's samples keep one state, and
consecutive ones lie at most twice the hold apart, so they own one unbroken interval from the run's first
sample to its last. rule.py's docstring proves that a run given by its first and last sample has the figures
of all its samples. No figure counts samples (coverage is observed time, not a number of samples), so
nothing else is needed.

What the query keeps, per host in [start, stop): the first sample; each sample whose ``up`` differs from the
one before; each sample more than twice the hold after the one before; and the newest. Each kept row carries
``gap``, the time since the host's previous sample (empty on the first). Row k starts run k, and run k ends
at the sample just before row k + 1, at time ``t[k + 1] - gap[k + 1]`` (which is row k itself when nothing
lies between); the last run ends at the newest sample, the last row. Every sample between two rows was left
out because it kept the state of the one before and followed it within twice the hold, so it belongs to the
run of the row before it: the runs hold every sample, each run's states agree, and each run's steps are at
most twice the hold. These are the only conditions rule.py asks of runs. The window is the raw query's, so
the first row has no predecessor inside it, as the first raw sample has none.

Cost. A host that changes state a few times a day gives a few rows instead of 288: the client reads and
computes a few hundred thousand values for 10,000 PCs, where every sample was 2.88 M FluxRecords
(docs/performance.md). A host that flaps at every sweep keeps every row: reading it costs about what reading
every sample with csv.reader would, half of what reading them as FluxRecords did.
Times are whole seconds as Pinger writes them (the raw read truncates to seconds too).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import lru_cache
from typing import NamedTuple

from pinger.errors import StoreError

from .interface import DaySamples, SampleRuns

_NS = 1_000_000_000
_COLUMNS = ("host", "_time", "up", "gap")  # the order _records gives them in


class HostRuns(NamedTuple):
    """One host's runs in time order: run i from the sample at ``starts[i]`` to the one at ``stops[i]``, all
    ``states[i]``, consecutive samples at most twice the hold apart (what ``SampleRuns`` and rule.py ask)."""

    host: str
    starts: list[int]
    stops: list[int]
    states: list[bool]


def runs_of(host: str, times: list[int], states: list[bool], previous: list[int | None]) -> HostRuns:
    """One host's kept rows as runs: their times and states, and for each the time of the sample before it
    (None for the first), in time order.

    Raises ValueError when the rows cannot come from the query: a first row with a predecessor, a later one
    without, or a predecessor that is not between the row before and the row itself.
    """
    if not times:
        return HostRuns(host, [], [], [])
    if previous[0] is not None:
        raise ValueError(f"host {host}: the first sample in the range has a sample before it")
    lasts: list[int] = []
    for before, last, time in zip(times, previous[1:], times[1:], strict=False):  # n - 1 steps
        if last is None or not before <= last < time:
            raise ValueError(f"host {host}: the sample before {time} is not after the previous row {before}")
        lasts.append(last)
    lasts.append(times[-1])
    return HostRuns(host, times, lasts, states)


@lru_cache(maxsize=4096)
def _nanoseconds(stamp: str) -> int:
    """RFC 3339 "2026-11-02T10:00:00Z" (or with a fraction of a second) as unix nanoseconds; cached, since all
    hosts of a sweep share its time."""
    whole = int(dt.datetime.fromisoformat(stamp[:19]).replace(tzinfo=dt.UTC).timestamp())
    fraction = stamp[20:-1] if len(stamp) > 20 and stamp[19] == "." else ""
    return whole * _NS + int(fraction.ljust(9, "0")[:9] or 0)


def read_runs(rows: Iterable[list[str]], wanted: set[str], url: str) -> Iterator[HostRuns]:
    """The hosts in ``wanted`` of the query's annotated CSV (rows as csv.reader gives them), the runs of
    each, streamed: a host's rows come together, as one table. Times are cut to whole seconds.

    An error table in the stream, a missing column, a host in two tables or rows out of order raise StoreError.
    """
    host: str | None = None
    times: list[int] = []
    states: list[bool] = []
    previous: list[int | None] = []
    finished: set[str] = set()
    for name, stamp, up, gap in _records(rows, url):
        if name != host:
            if host is not None:
                finished.add(host)
                if host in wanted:
                    yield _runs(host, times, states, previous, url)
            if name in finished:
                raise StoreError(f"InfluxDB at {url} answered the samples of host {name} in two parts")
            host, times, states, previous = name, [], [], []
        time_ns = _nanoseconds(stamp)
        times.append(time_ns // _NS)
        states.append(up != "0")
        previous.append((time_ns - int(gap)) // _NS if gap else None)
    if host is not None and host in wanted:
        yield _runs(host, times, states, previous, url)


def _records(rows: Iterable[list[str]], url: str) -> Iterator[tuple[str, str, str, str]]:
    """(host, _time, up, gap) of each data row, as sent; annotations and blank lines skipped, headers followed."""
    where: dict[str, int] = {}
    for row in rows:
        if len(row) < 3 or row[0]:
            continue  # a blank line between tables, or an annotation (#datatype, #group, #default)
        if row[2] == "table" or row[1] == "error":
            where = _header(row, url)
            columns = [where[name] for name in _COLUMNS] if "error" not in where else []
        elif not where:
            raise StoreError(f"InfluxDB at {url} answered the samples query with a row before any header")
        elif "error" in where:
            failure = row[where["error"]][:200]
            raise StoreError(f"InfluxDB at {url} failed in the middle of the samples query: {failure}")
        else:
            yield row[columns[0]], row[columns[1]], row[columns[2]], row[columns[3]]


def _header(row: list[str], url: str) -> dict[str, int]:
    """Where each column is; a query that fails after its first rows sends a table of ``error, reference``."""
    where = {name: index for index, name in enumerate(row)}
    if "error" in where:
        return where
    missing = [name for name in _COLUMNS if name not in where]
    if missing:
        raise StoreError(f"InfluxDB at {url} answered the samples query without the column(s) {', '.join(missing)}")
    return where


def _runs(host: str, times: list[int], states: list[bool], previous: list[int | None], url: str) -> HostRuns:
    try:
        return runs_of(host, times, states, previous)
    except ValueError as err:
        raise StoreError(f"InfluxDB at {url} answered the samples query inconsistently: {err}") from None


def day_runs(
    pools: Sequence[tuple[str, Sequence[str]]], read: Callable[[str, Sequence[str]], Iterable[HostRuns]]
) -> DaySamples:
    """The aggregator's input (``HistoryStore.day_samples``) from ``read(pool, hosts)``, the runs of one pool's
    hosts: ``host`` indexes the pools' host lists taken one after another, runs sorted by host, then time.
    Each pool's runs become arrays as soon as they are read, so memory holds one pool's runs as lists."""
    import numpy as np  # not at import: the collector's start-up path loads this module and stays without NumPy

    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    offset = 0
    for pool, names in pools:
        position = {name: offset + index for index, name in enumerate(names)}
        hosts: list[int] = []
        starts: list[int] = []
        stops: list[int] = []
        states: list[bool] = []
        for runs in read(pool, names):
            hosts += [position[runs.host]] * len(runs.starts)
            starts += runs.starts
            stops += runs.stops
            states += runs.states
        parts.append(
            (
                np.array(hosts, dtype=np.int64),
                np.array(starts, dtype=np.float64),
                np.array(stops, dtype=np.float64),
                np.array(states, dtype=bool),
            )
        )
        offset += len(names)
    empty = (np.array([], dtype=np.int64), np.array([]), np.array([]), np.array([], dtype=bool))
    host, start, stop, up = (np.concatenate(column) for column in zip(*(parts or [empty]), strict=True))
    order = np.argsort(host, kind="stable")  # a host's runs stay in time order
    return DaySamples(SampleRuns(host[order], start[order], stop[order], up[order]))
