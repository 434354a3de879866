"""Many samples at once into packed rows, with NumPy: what ``import``, the 2 -> 3 migration, ``import-legacy`` and
``write_samples`` share.

A Batch is a set of samples as parallel arrays with store ids for pools and hosts. ``BulkWriter.write``:

1. orders it by (time, host) and settles samples of one host and second inside the batch by the
   policy (``pinger.store.merge``): ``measured`` keeps the first of equal ones and refuses
   different ones (Conflict), the other policies keep the last;
2. sends the samples at sweep times the store already has rows for to ``merge.merge_time``;
3. packs the rest a pool at a time: the pool's current roster (the one this writer used last, else
   the pool's newest) when it holds every host, else a roster extended by the new hosts; one row
   per sweep time and part, the bytes ``pinger.store.packing.pack`` would make (tests compare them).

Nothing here commits: the caller holds the transaction.
"""

from __future__ import annotations

import math
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from operator import itemgetter
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from .merge import INSERT_ROW, Conflict, Incoming, MergeCounts, Policy, Stored, insert_rows, merge_time
from .packing import GROUP, MEASURED, PART, RECONSTRUCTED, RTT_COARSE, RTT_COARSE_OFFSET, RTT_NONE, Slot, pack
from .rosters import Roster, Rosters

_FINE_LIMIT_MS = (RTT_COARSE - 0.5) / 100
_KEY = itemgetter(0, 1, 2)  # a row's (time, pool, part)
CHUNK = 200_000  # SampleRows converted to a Batch at a time by batches_of_rows


class Batch(NamedTuple):
    time: np.ndarray  # int64 unix seconds
    pool: np.ndarray  # int64 pool ids
    host: np.ndarray  # int64 host ids
    up: np.ndarray  # bool
    code: np.ndarray  # uint16 round-trip time codes (packing.rtt_code); RTT_NONE where down or none
    line: np.ndarray | None  # int64 where each sample came from (a line of a file), for messages


def rtt_codes(rtt_ms: np.ndarray) -> np.ndarray:
    """``packing.rtt_code`` of each value (NaN: none), vectorised."""
    values = np.asarray(rtt_ms, dtype=np.float64)
    codes = np.full(values.shape, RTT_NONE, dtype=np.uint16)
    present = ~np.isnan(values)
    fine = present & (values < _FINE_LIMIT_MS)
    codes[fine] = np.maximum(np.rint(values[fine] * 100), 0).astype(np.uint16)
    coarse = present & ~fine
    codes[coarse] = np.minimum(np.rint(values[coarse]) + RTT_COARSE_OFFSET, RTT_NONE - 1).astype(np.uint16)
    return codes


def batches_of_rows(rosters: Rosters, samples: Iterable[Sequence[Any]], counted: list[int]) -> Iterator[Batch]:
    """SampleRows (time, pool, host, up, rtt_ms) as Batches of up to CHUNK; ``counted[0]`` grows by each."""
    iterator = iter(samples)
    pool_ids: dict[str, int] = {}
    while chunk := list(islice(iterator, CHUNK)):
        times, pools, hosts, ups, rtts = zip(*chunk, strict=True)
        for name in set(pools) - pool_ids.keys():
            pool_ids[name] = rosters.pool_id(name)
        host_ids = rosters.host_ids(hosts)
        up = np.array(ups, dtype=bool)
        rtt = np.array([math.nan if value is None else value for value in rtts], dtype=np.float64)
        rtt[~up] = math.nan
        counted[0] += len(chunk)
        yield Batch(
            np.array(times, dtype=np.int64),
            np.array([pool_ids[name] for name in pools], dtype=np.int64),
            np.array(host_ids, dtype=np.int64),
            up,
            rtt_codes(rtt),
            None,
        )


class BulkWriter:
    """Writes Batches into the store's packed rows by one policy; ``counts`` says what the merges did."""

    def __init__(self, db: sqlite3.Connection, rosters: Rosters, policy: Policy, reconstructed: bool = False):
        self.db = db
        self.rosters = rosters
        self.policy = policy
        self.source = RECONSTRUCTED if reconstructed else MEASURED
        self.counts = MergeCounts()
        self.rows_written = 0
        self._rows: list[tuple[Any, ...]] = []  # packed, not inserted yet: see flush_rows
        self._current: dict[int, Roster] = {}
        self._counts: dict[tuple[int, int], tuple[int, int]] = {}

    def write(self, batch: Batch, pool_counts: dict[tuple[int, int], tuple[int, int]] | None = None) -> None:
        """Write the batch; ``pool_counts`` ((time, pool) -> (online, total), the collector's counts of
        ``pool_status``) go on the pools' rows at those times (the 2 -> 3 migration carries them so)."""
        self._counts = dict(pool_counts or {})
        try:
            self._write(batch)
        finally:
            leftover, self._counts = self._counts, {}
        self.write_counts(leftover)

    def write_counts(self, pool_counts: dict[tuple[int, int], tuple[int, int]]) -> None:
        """Pool counts for sweep times and pools with stored rows (set on part 0) or none (a row of an
        empty roster: a sweep that saw none of the pool's hosts)."""
        for (time, pool), (online, total) in pool_counts.items():
            updated = self.db.execute(
                "UPDATE sweeps SET online = ?, total = ? WHERE time = ? AND pool = ? AND part = 0",
                (online, total, time, pool),
            ).rowcount
            if not updated:
                empty = self.rosters.exact(pool, ())
                self.db.execute(
                    INSERT_ROW, (time, pool, 0, empty.id, b"", None, None, None, MEASURED, None, online, total)
                )

    def flush_rows(self) -> None:
        """Insert the rows packed so far in key order: appended at the end of the tree, each page filled
        (pool after pool, the rows would land between each other and leave pages half empty)."""
        rows, self._rows = self._rows, []
        if not rows:
            return
        rows.sort(key=_KEY)
        insert_rows(self.db, rows)
        self.rows_written += len(rows)

    def _write(self, batch: Batch) -> None:
        if not len(batch.time):
            return
        batch = self._settled(batch)
        times = batch.time
        stored = self._stored_times(int(times[0]), int(times[-1]))
        if stored.size:
            at_stored = np.isin(times, stored)
            if at_stored.any():
                self._merge(_subset(batch, at_stored))
                batch = _subset(batch, ~at_stored)
        if not len(batch.time):
            return
        self.counts.added += len(batch.time)
        if not _strictly_ordered(batch.pool, batch.time, batch.host):
            batch = _subset(batch, np.lexsort((batch.host, batch.time, batch.pool)))
        pools = batch.pool
        cuts = np.flatnonzero(pools[1:] != pools[:-1]) + 1
        for start, stop in zip(np.r_[0, cuts].tolist(), np.r_[cuts, len(pools)].tolist(), strict=True):
            self._write_pool(int(pools[start]), _slice(batch, start, stop))
        self.flush_rows()

    # -- settling the batch ------------------------------------------------------------------------

    def _settled(self, batch: Batch) -> Batch:
        return settle(batch, self.policy, self.counts, self.source == RECONSTRUCTED)

    def _stored_times(self, first: int, last: int) -> np.ndarray:
        found = self.db.execute("SELECT DISTINCT time FROM sweeps WHERE time >= ? AND time <= ?", (first, last))
        return np.array([row[0] for row in found], dtype=np.int64)

    def _merge(self, batch: Batch) -> None:
        times = batch.time
        cuts = np.flatnonzero(times[1:] != times[:-1]) + 1
        reconstructed = self.source == RECONSTRUCTED
        for start, stop in zip(np.r_[0, cuts].tolist(), np.r_[cuts, len(times)].tolist(), strict=True):
            part = _slice(batch, start, stop)
            lines = part.line.tolist() if part.line is not None else [-1] * (stop - start)
            incoming = [
                Incoming(pool, host, Slot(int(up), code, reconstructed), line)
                for pool, host, up, code, line in zip(
                    part.pool.tolist(), part.host.tolist(), part.up.tolist(), part.code.tolist(), lines, strict=True
                )
            ]
            merge_time(self.db, self.rosters, int(times[start]), incoming, self.policy, self.counts)

    # -- packing new rows --------------------------------------------------------------------------

    def _write_pool(self, pool: int, batch: Batch) -> None:
        roster = self._current.get(pool) or self.rosters.newest(pool)
        known = roster.hosts if roster is not None else ()
        positions = self.rosters.positions(roster) if roster is not None else {}
        present = np.zeros(int(batch.host.max()) + 1, dtype=bool)
        present[batch.host] = True
        new = [host for host in np.flatnonzero(present).tolist() if host not in positions]
        wide = self.rosters.exact(pool, (*known, *new)) if new or roster is None else roster
        self._current[pool] = wide
        members = np.array(wide.hosts, dtype=np.int64)
        by_id = np.argsort(members)
        position = by_id[np.searchsorted(members[by_id], batch.host)]
        times = batch.time
        starts = np.flatnonzero(np.r_[True, times[1:] != times[:-1]])
        group = np.cumsum(np.r_[True, times[1:] != times[:-1]]) - 1
        if roster is not None and wide is not roster:
            narrow = np.maximum.reduceat(position, starts) < len(known)
            in_narrow = narrow[group]
            self._pack(pool, roster, _subset(batch, in_narrow), position[in_narrow])
            self._pack(pool, wide, _subset(batch, ~in_narrow), position[~in_narrow])
        else:
            self._pack(pool, wide, batch, position)

    def stored_rows(self, first: int, last: int) -> dict[tuple[int, int, int], tuple[int, bytes, bytes | None, int]]:
        """The rows stored with first <= time <= last: (time, pool, part) -> (roster, up, seen, source)."""
        return {
            (time, pool, part): (roster, up, seen, source)
            for time, pool, part, roster, up, seen, source in self.db.execute(
                "SELECT time, pool, part, roster, up, seen, source FROM sweeps WHERE time >= ? AND time <= ?",
                (first, last),
            )
        }

    def write_matrix(
        self,
        pool: int,
        roster: Roster,
        times: np.ndarray,
        up: np.ndarray,
        seen: np.ndarray | None = None,
        stored: dict[tuple[int, int, int], tuple[int, bytes, bytes | None, int]] | None = None,
    ) -> None:
        """One pool's rows from a dense matrix: ``up[i, j]`` is roster position j at times[i] (increasing),
        ``seen`` False where there is no sample (None: everywhere one). No round-trip times. ``stored``:
        the rows the store has at these times (``stored_rows``); where one is, a reconstructed row on the
        same roster is compared and replaced whole, anything else is merged a sample at a time."""
        size = len(roster.hosts)
        parts = max(1, -(-size // PART))
        codes = np.full(up.shape, RTT_NONE, dtype=np.uint16)
        mine = {(time, part) for (time, row_pool, part) in (stored or {}) if row_pool == pool}
        fresh = np.ones(len(times), dtype=bool)
        if mine:
            fresh = np.array([not any((int(time), part) in mine for part in range(parts)) for time in times.tolist()])
            self._write_over(
                pool, roster, times[~fresh], up[~fresh], None if seen is None else seen[~fresh], stored or {}
            )
        if not fresh.any():
            return
        times_list = times[fresh].tolist()
        up_fresh = up[fresh]
        seen_fresh = np.ones_like(up_fresh) if seen is None else seen[fresh]
        self.counts.added += int(seen_fresh.sum())
        self._add_rows(pool, roster, times_list, seen_fresh, up_fresh & seen_fresh, codes[: len(times_list)])

    def _write_over(
        self,
        pool: int,
        roster: Roster,
        times: np.ndarray,
        up: np.ndarray,
        seen: np.ndarray | None,
        stored: dict[tuple[int, int, int], tuple[int, bytes, bytes | None, int]],
    ) -> None:
        """write_matrix at sweep times the store has rows for."""
        size = len(roster.hosts)
        reconstructed = self.source == RECONSTRUCTED
        for row, time in enumerate(times.tolist()):
            row_seen = np.ones(size, dtype=bool) if seen is None else seen[row]
            row_up = up[row] & row_seen
            whole = True
            updates = []
            for part in range(max(1, -(-size // PART))):
                low = part * PART
                count = min(PART, size - low)
                found = stored.get((time, pool, part))
                packed = np.packbits(row_up[low : low + count], bitorder="little").tobytes().rstrip(b"\0")
                if (
                    found is None
                    or found[0] != roster.id
                    or found[2] is not None
                    or found[3] != self.source
                    or not row_seen[low : low + count].all()
                ):
                    whole = False
                    break
                updates.append((packed, found[1], part, count))
            if whole:
                for packed, old, part, count in updates:
                    if packed == old:
                        self.counts.duplicates += count
                    else:
                        self.counts.replaced += count
                        self.db.execute(
                            "UPDATE sweeps SET up = ? WHERE time = ? AND pool = ? AND part = ?",
                            (packed, time, pool, part),
                        )
                continue
            incoming = [
                Incoming(pool, host, Slot(int(row_up[position]), RTT_NONE, reconstructed), -1)
                for position, host in enumerate(roster.hosts)
                if row_seen[position]
            ]
            merge_time(self.db, self.rosters, time, incoming, self.policy, self.counts)

    def _pack(self, pool: int, roster: Roster, batch: Batch, position: np.ndarray) -> None:
        """Rows for the samples (in time order) of one pool on one roster."""
        if not len(batch.time):
            return
        times = batch.time
        first = np.r_[True, times[1:] != times[:-1]]
        group = np.cumsum(first) - 1
        group_times = times[first].tolist()
        size = len(roster.hosts)
        parts = max(1, -(-size // PART))
        width = parts * PART
        if len(group_times) * width > 8 * len(times) + (1 << 20):
            self._pack_sparse(pool, roster, batch, position)
            return
        seen = np.zeros((len(group_times), width), dtype=bool)
        seen[group, position] = True
        up = np.zeros_like(seen)
        up[group, position] = batch.up
        codes = np.full(seen.shape, RTT_NONE, dtype=np.uint16)
        codes[group, position] = batch.code
        self._add_rows(pool, roster, group_times, seen, up, codes)

    def _add_rows(
        self, pool: int, roster: Roster, times: list[int], seen: np.ndarray, up: np.ndarray, codes: np.ndarray
    ) -> None:
        """Rows to insert for matrices over the roster's positions (times x positions, wider is ignored): one
        row per time and part of the roster."""
        size = len(roster.hosts)
        for part in range(max(1, -(-size // PART))):
            columns = slice(part * PART, part * PART + min(PART, size - part * PART))
            self._rows += self._part_rows(
                pool, roster.id, part, times, seen[:, columns], up[:, columns], codes[:, columns]
            )

    def _part_rows(
        self,
        pool: int,
        roster: int,
        part: int,
        times: list[int],
        seen: np.ndarray,
        up: np.ndarray,
        codes: np.ndarray,
    ) -> list[tuple[Any, ...]]:
        count = seen.shape[1]
        stride = (count + 7) // 8
        any_seen = seen.any(axis=1)
        all_seen = np.all(seen, axis=1).astype(bool).tolist()
        up_blob = np.packbits(up, axis=1, bitorder="little").tobytes() if count else b""
        seen_blob = np.packbits(seen, axis=1, bitorder="little").tobytes() if count else b""
        with_rtt: list[bool] = (up & (codes != RTT_NONE)).any(axis=1).tolist()
        rtt_blob = codes[up].astype(">u2").tobytes()
        ups = up.sum(axis=1)
        ends = (np.cumsum(ups) * 2).tolist()
        starts = [end - 2 * n for end, n in zip(ends, ups.tolist(), strict=True)]
        rank_stride = 0
        rank_blob = b""
        if count > GROUP:
            groups = -(-count // GROUP)
            padded = np.zeros((up.shape[0], groups * GROUP), dtype=np.uint8)
            padded[:, :count] = up
            before = np.cumsum(padded.reshape(up.shape[0], groups, GROUP).sum(axis=2, dtype=np.int64), axis=1)
            rank_stride = groups - 1
            rank_blob = before[:, :-1].astype(np.uint8).tobytes()
        source = self.source
        counts = self._counts if part == 0 else {}
        rows = []
        for index in np.flatnonzero(any_seen).tolist():
            low = index * stride
            rtt = rank = None
            if with_rtt[index]:
                rtt = rtt_blob[starts[index] : ends[index]]
                if rank_stride:
                    rank = rank_blob[index * rank_stride : (index + 1) * rank_stride]
            rows.append(
                (
                    times[index],
                    pool,
                    part,
                    roster,
                    up_blob[low : low + stride].rstrip(b"\0"),
                    None if all_seen[index] else seen_blob[low : low + stride],
                    rtt,
                    rank,
                    source,
                    None,
                    *counts.pop((times[index], pool), (None, None)),
                )
            )
        return rows

    def _pack_sparse(self, pool: int, roster: Roster, batch: Batch, position: np.ndarray) -> None:
        """Rows a sweep time at a time, for sweeps that cover few of a large roster's hosts."""
        size = len(roster.hosts)
        rows = []
        times = batch.time.tolist()
        by_time: dict[int, dict[int, dict[int, tuple[int, int]]]] = {}
        for time, where, up, code in zip(times, position.tolist(), batch.up.tolist(), batch.code.tolist(), strict=True):
            by_time.setdefault(time, {}).setdefault(where // PART, {})[where % PART] = (int(up), code)
        for time, parts in by_time.items():
            for part, slots in sorted(parts.items()):
                count = min(PART, size - part * PART)
                up_bits = seen_bits = 0
                codes = []
                for slot in sorted(slots):
                    up, code = slots[slot]
                    seen_bits |= 1 << slot
                    if up:
                        up_bits |= 1 << slot
                        codes.append(code)
                packed = pack(count, up_bits, codes, seen_bits, seen_bits if self.source == RECONSTRUCTED else None)
                rows.append((time, pool, part, roster.id, *packed[:4], packed.source, packed.reconstructed, None, None))
        self._rows += rows


class _Run:
    """A spilled batch, sorted by time: one raw file per column (``BASE-NAME``)."""

    def __init__(self, base: Path, length: int):
        self.base = base
        self.length = length
        self.dtypes: dict[str, np.dtype[Any]] = {}
        self.time: np.ndarray = np.zeros(0, dtype=np.int64)

    def column(self, name: str) -> Path:
        return self.base.with_name(f"{self.base.name}-{name}")

    def read(self, name: str, start: int, end: int) -> np.ndarray:
        dtype = self.dtypes[name]
        return np.fromfile(self.column(name), dtype=dtype, count=end - start, offset=start * dtype.itemsize)


class TimeOrderedFeed:
    """Batches in any order into a BulkWriter, each sweep time written once: what import and
    ``write_samples`` feed.

    Packing wants a sweep's samples together: a batch whose sweep times all lie after the previous
    one's (a file in sweep order) is written as it comes, one batch behind. Once a batch reaches back
    into earlier times (a file in series order: every sweep of one host, then the next host), every
    batch from then on is sorted by time and spilled to a temporary file beside the store, and at
    ``finish`` the spilled runs are read back a window of time at a time (memory maps; each window
    about ``window`` samples, all of its sweeps complete) and written. Memory holds two batches or one
    window; the temporary directory holds the spilled samples (27 bytes each) until ``finish``.
    """

    def __init__(self, writer: BulkWriter, spill_dir: Path, window: int = 250_000):
        self.writer = writer
        self.spill_dir = spill_dir
        self.window = window
        self._held: Batch | None = None
        self._runs: list[_Run] = []
        self._temporary: tempfile.TemporaryDirectory[str] | None = None

    def feed(self, batch: Batch) -> None:
        if not len(batch.time):
            return
        if self._runs:
            self._spill(batch)
            return
        held = self._held
        if held is None or int(batch.time.min()) >= int(held.time.max()):
            if held is not None:
                self.writer.write(held)
            self._held = batch
            return
        self._spill(held)
        self._held = None
        self._spill(batch)

    def finish(self) -> None:
        """Write what is held or spilled, then remove the spilled runs."""
        try:
            if self._held is not None:
                if self._runs:
                    self._spill(self._held)
                else:
                    self.writer.write(self._held)
                self._held = None
            if self._runs:
                self._write_spilled()
        finally:
            self.close()

    def close(self) -> None:
        self._runs = []
        if self._temporary is not None:
            self._temporary.cleanup()
            self._temporary = None

    def _spill(self, batch: Batch) -> None:
        if self._temporary is None:
            self._temporary = tempfile.TemporaryDirectory(prefix=".pinger-import-", dir=self.spill_dir)
        order = np.argsort(batch.time, kind="stable")
        run = _Run(Path(self._temporary.name) / str(len(self._runs)), len(order))
        for name in Batch._fields:
            column = getattr(batch, name)
            if column is None:
                column = np.full(len(batch.time), -1, dtype=np.int64)
            column = column[order]
            run.dtypes[name] = column.dtype
            column.tofile(run.column(name))
        run.time = np.memmap(run.column("time"), dtype=np.int64, mode="r")  # searched, a few pages at a time
        self._runs.append(run)

    def _write_spilled(self) -> None:
        runs = self._runs
        positions = [0] * len(runs)
        last = max(int(run.time[-1]) for run in runs)
        low = min(int(run.time[0]) for run in runs)
        while low <= last:
            high = self._window_end(low, last, positions)
            ends = [int(np.searchsorted(run.time, high, "left")) for run in runs]
            parts = [
                {name: run.read(name, start, end) for name in Batch._fields}
                for run, start, end in zip(runs, positions, ends, strict=True)
                if end > start
            ]
            positions = ends
            if parts:
                columns = {name: np.concatenate([part[name] for part in parts]) for name in Batch._fields}
                line = columns["line"]
                self.writer.write(
                    Batch(
                        columns["time"],
                        columns["pool"],
                        columns["host"],
                        columns["up"],
                        columns["code"],
                        None if (line < 0).all() else line,
                    )
                )
            low = high

    def _window_end(self, low: int, last: int, positions: list[int]) -> int:
        """The first time after ``low`` such that the samples of [low, end) hold about ``window``."""

        def count(end: int) -> int:
            return sum(
                int(np.searchsorted(run.time, end, "left")) - start
                for run, start in zip(self._runs, positions, strict=True)
            )

        top = last + 1
        if count(top) <= self.window:
            return top
        bottom = low + 1
        while bottom < top:
            middle = (bottom + top) // 2
            if count(middle) < self.window:
                bottom = middle + 1
            else:
                top = middle
        return max(bottom, low + 1)


def settle(batch: Batch, policy: Policy, counts: MergeCounts, reconstructed: bool, keep_order: bool = False) -> Batch:
    """The batch with one sample per host and second (see the module), in (time, host) order, or in its
    own order with ``keep_order``. Raises Conflict (policy "measured"), naming the first line of the two."""
    if _strictly_ordered(batch.time, batch.host):
        return batch  # already in (time, host) order without a repeat: the common case, no sorting
    tiebreak = batch.line if batch.line is not None else np.arange(len(batch.time))
    order = np.lexsort((tiebreak, batch.host, batch.time))
    ordered = _subset(batch, order)
    same = (ordered.time[1:] == ordered.time[:-1]) & (ordered.host[1:] == ordered.host[:-1])
    if not same.any():
        return batch if keep_order else ordered
    later = np.flatnonzero(same) + 1
    differs = (
        (ordered.pool[later] != ordered.pool[later - 1])
        | (ordered.up[later] != ordered.up[later - 1])
        | (ordered.code[later] != ordered.code[later - 1])
    )
    source = RECONSTRUCTED if reconstructed else MEASURED
    if policy == "measured":
        if differs.any():
            index = int(later[np.flatnonzero(differs)[0]])
            first = index - 1
            while first > 0 and same[first - 1]:
                first -= 1
            raise Conflict(
                int(ordered.time[index]),
                int(ordered.host[index]),
                Incoming(
                    int(ordered.pool[index]),
                    int(ordered.host[index]),
                    _slot(ordered, index, source),
                    _line(ordered, index),
                ),
                Stored(int(ordered.pool[first]), _slot(ordered, first, source)),
                _line(ordered, first),
            )
        counts.duplicates += len(later)
        keep = np.r_[True, ~same]
    else:
        counts.replaced += len(later)
        keep = np.r_[~same, True]
    if keep_order:
        return _subset(batch, np.sort(order[keep]))
    return _subset(ordered, keep)


def _strictly_ordered(*keys: np.ndarray) -> bool:
    """Whether the rows of these key columns are in strictly increasing order (the first column first)."""
    if len(keys[0]) < 2:
        return True
    greater = np.zeros(len(keys[0]) - 1, dtype=bool)
    equal = np.ones(len(keys[0]) - 1, dtype=bool)
    for key in keys:
        greater |= equal & (key[1:] > key[:-1])
        equal &= key[1:] == key[:-1]
    return bool(greater.all())


def _subset(batch: Batch, which: np.ndarray) -> Batch:
    return Batch(
        batch.time[which],
        batch.pool[which],
        batch.host[which],
        batch.up[which],
        batch.code[which],
        None if batch.line is None else batch.line[which],
    )


def _slice(batch: Batch, start: int, stop: int) -> Batch:
    return Batch(
        batch.time[start:stop],
        batch.pool[start:stop],
        batch.host[start:stop],
        batch.up[start:stop],
        batch.code[start:stop],
        None if batch.line is None else batch.line[start:stop],
    )


def _slot(batch: Batch, index: int, source: int) -> Slot:
    return Slot(int(batch.up[index]), int(batch.code[index]), source == RECONSTRUCTED)


def _line(batch: Batch, index: int) -> int:
    return -1 if batch.line is None else int(batch.line[index])
