"""The first system's history into the SQLite store's packed rows, a block of sweep times at a time, with NumPy.

``legacy.history_samples`` gives the same samples one at a time (the way into any other store);
here every computer's on-intervals become index ranges on the sample grid once (midnight splits
merged as ``legacy_samples.merge_midnight_splits`` does), and each block of grid times becomes a
matrix (times x computers) by adding +1 where an interval starts and -1 where it ends: its rows,
a pool's columns at a time, are the sweeps' rows (``BulkWriter.write_matrix``), marked
reconstructed.

Measured wins (the store's merge rule, policy "reconstructed"): where the store holds a measured
sample of a computer within ``hold`` of a grid time, that reconstructed sample is left out (counted
as kept measured), so the history fills only what the collector did not see; at a grid time the
store already has rows for, the samples are merged one by one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

from pinger.store.bulk import BulkWriter
from pinger.store.rosters import Roster
from pinger.store.sqlite import SqliteStore

from .legacy_samples import DAY_MS, SECOND_MS, Grid

BLOCK_CELLS = 4_000_000  # grid times x computers per block (~4 MB of states)
COMMIT_SAMPLES = 10_000_000  # samples per transaction: bounds the write-ahead log (~10 MB)


class Intervals(NamedTuple):
    """Every computer's on-intervals as grid index ranges [low, high), sorted by low."""

    column: np.ndarray  # int32: the computer's column (its place in the columns' order)
    low: np.ndarray  # int32
    high: np.ndarray  # int32
    splits: int  # midnight splits merged


def grid_intervals(db: sqlite3.Connection, columns: dict[int, int], grid: Grid, last_open_ms: int) -> Intervals:
    """The spooled intervals (table ``ordered``: computer pk, start, end or NULL, in each computer's time
    order) of the computers in ``columns`` (pk -> column), merged at midnight splits, on the grid.
    Read a chunk at a time, each chunk ending with a whole computer, kept as 32-bit grid indexes:
    memory holds 12 bytes an interval (5.5 M intervals for 10,000 computers over a year: 66 MB)."""
    top = max(columns, default=0) + 1
    lookup = np.full(top, -1, dtype=np.int64)
    for pk, column in columns.items():
        lookup[pk] = column
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    splits = 0
    carry = np.zeros((0, 3), dtype=np.int64)  # the rows of the last computer of the chunk before
    cursor = db.execute(
        "SELECT computer, start, coalesce(end, ?) FROM ordered ORDER BY computer, start, record", (last_open_ms,)
    )
    while True:
        chunk = cursor.fetchmany(500_000)
        found = np.concatenate([carry, np.array(chunk, dtype=np.int64).reshape(-1, 3)]) if chunk else carry
        if chunk and len(found):
            cut = int(np.searchsorted(found[:, 0], found[-1, 0]))  # the last computer may go on in the next chunk
            carry, found = found[cut:], found[:cut]
        else:
            carry = np.zeros((0, 3), dtype=np.int64)
        if len(found):
            part, merged = _on_grid(found, lookup, grid)
            parts.append(part)
            splits += merged
        if not chunk:
            break
    if not parts:
        empty = np.zeros(0, dtype=np.int32)
        return Intervals(empty, empty, empty, 0)
    where, low, high = (np.concatenate([part[index] for part in parts]) for index in range(3))
    order = np.argsort(low, kind="stable")
    return Intervals(where[order], low[order], high[order], splits)


def _on_grid(rows: np.ndarray, lookup: np.ndarray, grid: Grid) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], int]:
    """Whole computers' (computer, start, end) rows in time order: midnight splits merged, as grid index
    ranges (column, low, high) of the computers ``lookup`` knows; and the number of splits merged."""
    computer, start, end = rows[:, 0], rows[:, 1], rows[:, 2]
    # A split: closed in the last second of a UTC day, reopened in the first second of the next.
    day = end[:-1] // DAY_MS
    split = (
        (computer[1:] == computer[:-1])
        & (end[:-1] - day * DAY_MS >= DAY_MS - SECOND_MS)
        & (start[1:] // DAY_MS == day + 1)
        & (start[1:] % DAY_MS < SECOND_MS)
    )
    first = np.r_[True, ~split]
    last = np.r_[~split, True]
    computer, start, end = computer[first], start[first], end[last]
    origin_ms, step_ms = grid.first * SECOND_MS, grid.step * SECOND_MS
    low = np.maximum(-(-(start - origin_ms) // step_ms), 0)  # the first grid index at or after start
    high = np.minimum(-(-(end - origin_ms) // step_ms), grid.size)  # the first at or after end
    column = np.where(computer < len(lookup), lookup[np.minimum(computer, len(lookup) - 1)], -1)
    keep = (high > low) & (column >= 0)
    part = (column[keep].astype(np.int32), low[keep].astype(np.int32), high[keep].astype(np.int32))
    return part, int(split.sum())


class Written(NamedTuple):
    samples: int  # reconstructed samples stored
    kept_measured: int  # left out: a measured sample of the computer lies within hold
    duplicates: int  # the same reconstructed sample was stored already


def write_history(
    store: SqliteStore,
    pools: Sequence[tuple[str, Sequence[str]]],
    intervals: Intervals,
    grid: Grid,
    hold: float,
    on_progress: Callable[[int], None] | None = None,
) -> Written:
    """Write the grid's samples of the pools' computers (columns: the pools' hosts one after another, in
    the order given) as reconstructed packed rows; see the module."""
    names = [host for _, hosts in pools for host in hosts]
    count = len(names)
    block = max(1, min(grid.size, BLOCK_CELLS // max(count, 1)))
    stored = kept = duplicates = 0
    start = 0
    active = np.zeros(0, dtype=np.int64)
    waiting = 0  # intervals not yet active: intervals.low[waiting:] >= the block's start
    while start < grid.size:
        commit_at = start + max(block, COMMIT_SAMPLES // max(count, 1))
        with store.bulk("reconstructed", reconstructed=True) as writer:
            layout = _Layout(store, writer, pools)
            while start < min(commit_at, grid.size):
                stop = min(start + block, grid.size)
                entering = int(np.searchsorted(intervals.low, stop, "left"))
                active = np.concatenate([active, np.arange(waiting, entering, dtype=np.int64)])
                waiting = entering
                active = active[intervals.high[active] > start]
                states = np.zeros((stop - start + 1, count), dtype=np.int8)
                columns = intervals.column[active]
                np.add.at(states, (np.maximum(intervals.low[active], start) - start, columns), 1)
                np.add.at(states, (np.minimum(intervals.high[active], stop) - start, columns), -1)
                on = np.cumsum(states, axis=0, dtype=np.int8)[:-1] > 0
                times = grid.first + grid.step * np.arange(start, stop, dtype=np.int64)
                seen = layout.unmeasured(times, hold)
                kept += int(count * len(times) - seen.sum()) if seen is not None else 0
                result = layout.write(times, on, seen)
                stored += result[0]
                duplicates += result[1]
                start = stop
                if on_progress is not None:
                    on_progress(start)
            kept += writer.counts.kept_measured
    return Written(stored, kept, duplicates)


class _Layout:
    """The pools' columns, rosters and the rows of one transaction."""

    def __init__(self, store: SqliteStore, writer: BulkWriter, pools: Sequence[tuple[str, Sequence[str]]]):
        self.store = store
        self.writer = writer
        self.pools: list[tuple[int, int, int, Roster]] = []  # (pool id, first column, last column, roster)
        first = 0
        self.host_ids: list[int] = []
        for name, hosts in pools:
            ids = store.rosters.host_ids(list(hosts))
            pool = store.rosters.pool_id(name)
            roster = store.rosters.exact(pool, tuple(ids))
            self.pools.append((pool, first, first + len(ids), roster))
            self.host_ids += ids
            first += len(ids)

    def unmeasured(self, times: np.ndarray, hold: float) -> np.ndarray | None:
        """times x columns: False where a measured sample of the computer lies within ``hold``; None: none."""
        if not len(times):
            return None
        groups = self.store.read_groups(int(times[0] - hold), int(times[-1] + hold + 1))
        measured = [group for group in groups if group.reconstructed is None or not group.reconstructed.all()]
        if not measured:
            return None
        column_of = {host: column for column, host in enumerate(self.host_ids)}
        free = np.ones((len(times), len(self.host_ids)), dtype=bool)
        for group in measured:
            wanted = np.array([column_of.get(host, -1) for host in group.host.tolist()], dtype=np.int64)
            seen = np.ones_like(group.up) if group.seen is None else group.seen
            if group.reconstructed is not None:
                seen = seen & ~group.reconstructed
            for row, when in enumerate(group.times.tolist()):
                hit = seen[row] & (wanted >= 0)
                if not hit.any():
                    continue
                near = (times >= when - hold) & (times <= when + hold)
                free[np.ix_(near, wanted[hit])] = False
        return free

    def write(self, times: np.ndarray, on: np.ndarray, seen: np.ndarray | None) -> tuple[int, int]:
        """Rows for these grid times: (samples added, duplicates)."""
        before_added, before_duplicates = self.writer.counts.added, self.writer.counts.duplicates
        stored = self.writer.stored_rows(int(times[0]), int(times[-1]))
        for pool, first, last, roster in self.pools:
            self.writer.write_matrix(
                pool, roster, times, on[:, first:last], None if seen is None else seen[:, first:last], stored
            )
        self.writer.flush_rows()
        return self.writer.counts.added - before_added, self.writer.counts.duplicates - before_duplicates
