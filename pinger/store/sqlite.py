"""The embedded store: one SQLite file (WAL mode), samples packed one row per pool and sweep, migrated on open.

Schema 3 (``pinger.store.layout``): raw samples live in ``sweeps``, one row per pool, sweep time and
part of the pool's roster, with up/down as bit maps and round-trip times as 16-bit codes; ``ping``
and ``pool_status`` are views with their documented columns. The collector's write packs in pure
Python (its start-up stays free of NumPy); bulk writes and reads pack and unpack with NumPy
(``pinger.store.bulk``, ``pinger.store.read``), imported when first used.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import compress, groupby
from operator import attrgetter, itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo

from pinger.errors import StoreError, StoreMissing
from pinger.localtime import day_bounds
from pinger.models import CollectorStatus, HostDay, HostResult, HostSamples, PoolDay, PoolHour, SampleRow, SweepResult
from pinger.schema import ALL, COLLECTOR, HOST_DAILY, MEASUREMENTS, POOL_DAILY, POOL_HOURLY, Measurement

from .interface import Access
from .merge import Incoming, MergeCounts, Policy, insert_rows, merge_time
from .migrations import PACKED_VERSION, RewriteNeeded, Transaction, check_current, migrate, present_columns
from .packing import PART, RTT_COARSE, RTT_NONE, Slot, pack, rtt_code
from .readonly import connect_read_only
from .rosters import Rosters
from .tables import insert_sql, record_of, rows, select_sql, unused_columns

if TYPE_CHECKING:
    from .bulk import Batch, BulkWriter, TimeOrderedFeed
    from .interface import DaySamples, SampleRuns
    from .read import Group

_POOL, _HOST, _UP, _RTT, _ERROR = (attrgetter(name) for name in ("pool", "host", "up", "rtt_ms", "error"))
_POWERS = [1 << position for position in range(PART)]
_FINE_MS = (RTT_COARSE - 0.5) / 100  # below this, rtt_code is round(rtt * 100)
BUSY_TIMEOUT_S = 30.0
BULK_CACHE_KIB = 16_384  # SQLite's page cache while a bulk write runs (default: 2 MB)


class SqliteStore:
    """Samples and daily rows in one SQLite file; safe for one writer and many readers at once.

    Implements SweepStore and HistoryStore, not Spooled: writes are committed before a call returns,
    so there is no outbox (nothing waits), and nothing needs checking at start beyond opening the file.
    ``timezone`` stamps each daily row with the local midnight that starts its day.

    ``access``: "create" (the collector and the import) makes the file and its directory when
    they are missing; "write" (the aggregator) and "read" (export, report) need the file to exist,
    so that a mistyped ``storage.path`` is an error rather than an empty store that reads as zeros.
    "read" opens read-only: no schema is created or migrated, and a read-only file or directory
    is enough; an older file is read as it stands.
    """

    def __init__(self, path: Path, timezone: ZoneInfo, access: Access = "create"):
        self.path = Path(path)
        self.timezone = timezone
        self._insert = {measurement.name: insert_sql(measurement) for measurement in ALL}
        self._present: dict[str, set[str]] | None = None  # an older file opened for reading: its tables' columns
        self._version = PACKED_VERSION
        if self.path.is_dir():
            raise StoreError(f"{self.path} is a directory, not a store file (storage.path)")
        if access != "create" and not self.path.exists():
            raise StoreMissing(f"no store at {self.path} (storage.path): run the collector first")
        try:
            if access == "create":
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = self._connect(access)
        except (sqlite3.Error, OSError) as err:
            raise StoreError(f"Cannot open the SQLite store {self.path}: {_explain(err, self.path)}") from None
        try:
            if access == "read":
                self._version = check_current(self._db, self.path)
                self._present = present_columns(self._db, self._version)
            else:
                self._open_current()
        except sqlite3.Error as err:
            self._db.close()
            raise StoreError(f"Cannot open the SQLite store {self.path}: {_explain(err, self.path)}") from None
        except BaseException:
            self._db.close()
            raise
        self.rosters = Rosters(self._db)
        self._writable = access != "read"
        self._sweep_ids: dict[
            str, tuple[tuple[str, ...], tuple[int, ...]]
        ] = {}  # pool -> its last sweep's hosts and ids
        if self._writable:
            self._pack_staged()

    def _pack_staged(self) -> None:
        """Pack the rows plain SQL inserted into the ``ping`` view (``ping_staged``), if any."""
        if self._db.execute("SELECT 1 FROM ping_staged LIMIT 1").fetchone() is None:
            return
        from .bulk import batches_of_rows

        with self.bulk("replace") as writer:
            staged = self._db.execute("SELECT time, pool, host, up, rtt_ms FROM ping_staged ORDER BY time, host")
            for batch in batches_of_rows(self.rosters, staged.fetchall(), [0]):
                writer.write(batch)
            self._db.execute("DELETE FROM ping_staged")

    def _connect(self, access: Access) -> sqlite3.Connection:
        if access == "read":
            return connect_read_only(self.path, BUSY_TIMEOUT_S)
        return sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)

    def _open_current(self) -> None:
        """WAL mode and the current schema; a file from before schema 3 is rewritten first (``rewrite``)."""
        while True:
            try:
                _while_busy(self._prepare, BUSY_TIMEOUT_S)
                return
            except RewriteNeeded:
                self._db.close()
                from .rewrite import rewrite_store

                rewrite_store(self.path, self.timezone)
                self._db = self._connect("write")

    def _prepare(self) -> None:
        """Two processes opening a new file at once both get here: the switch to WAL does not wait for
        the other's lock, so the caller retries it."""
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        migrate(self._db, self.path)

    @property
    def packed(self) -> bool:
        """False for an older file opened for reading (its samples are in the ``ping`` table)."""
        return self._version >= PACKED_VERSION

    # -- the collector's side (SweepStore) ------------------------------------------------

    def check(self) -> None:
        """Nothing to check: the file opened, and every write is committed before it returns."""

    def write_sweep(self, sweep: SweepResult, status: CollectorStatus) -> None:
        """Write one sweep's samples (one row per pool, with its pool counts) and its collector row in one
        transaction. A sample for a host and time the store already has replaces it."""
        with self._writing():
            self._write_sweep_rows(sweep)
            self._db.executemany(self._insert[COLLECTOR.name], rows(COLLECTOR, [status], self.timezone))

    def _write_sweep_rows(self, sweep: SweepResult) -> None:
        when = sweep.scheduled
        by_pool = _observed_by_pool(sweep.hosts)
        rosters = self.rosters
        ids = {}
        for name, results in by_pool.items():
            names = tuple(map(_HOST, results))
            known = self._sweep_ids.get(name)
            if known is None or known[0] != names:  # the same hosts as last sweep: their ids again
                known = self._sweep_ids[name] = (names, tuple(rosters.host_ids(names)))
            ids[name] = known[1]
        pools = {name: rosters.pool_id(name) for name in by_pool}
        if self._overlaps_stored(when, set(pools.values()), ids):
            self._merge_sweep(sweep.scheduled, by_pool, pools, ids)
            return
        written: list[tuple[object, ...]] = []
        for name, results in by_pool.items():
            pool, hosts = pools[name], ids[name]
            roster = rosters.for_sweep(pool, hosts)
            if roster.hosts == hosts:
                written += _rows_on_own_roster(when, pool, roster.id, results)
            else:
                written += _rows_on_wider_roster(when, pool, roster.id, rosters.positions(roster), results, hosts)
        insert_rows(self._db, written)

    def _overlaps_stored(self, when: int, pools: set[int], ids: dict[str, tuple[int, ...]]) -> bool:
        """Whether rows stored at this time hold a pool of the sweep or one of its hosts (two collectors
        with disjoint pools share a time without either)."""
        stored = self._db.execute("SELECT DISTINCT pool, roster FROM sweeps WHERE time = ?", (when,)).fetchall()
        if not stored:
            return False
        if any(pool in pools for pool, _ in stored):
            return True
        mine = {host for hosts in ids.values() for host in hosts}
        return any(not mine.isdisjoint(self.rosters.roster(roster).hosts) for _, roster in stored)

    def _merge_sweep(
        self,
        when: int,
        by_pool: dict[str, list[HostResult]],
        pools: dict[str, int],
        ids: dict[str, tuple[int, ...]],
    ) -> None:
        incoming = [
            Incoming(
                pools[name],
                host,
                Slot(int(result.up), rtt_code(result.rtt_ms) if result.up else RTT_NONE, False),
                -1,
            )
            for name, results in by_pool.items()
            for result, host in zip(results, ids[name], strict=True)
        ]
        counts = {pools[name]: (sum(1 for r in results if r.up), len(results)) for name, results in by_pool.items()}
        merge_time(self._db, self.rosters, when, incoming, "replace", MergeCounts(), pool_counts=counts)

    def newest_sweep(self, collector: str) -> int | None:
        """The scheduled time of the collector's newest stored sweep (its newest ``collector`` row); None: none."""
        found = self._db.execute(f"SELECT max(time) FROM {COLLECTOR.name} WHERE collector = ?", (collector,)).fetchone()
        return None if found[0] is None else int(found[0])

    def collectors(self) -> tuple[str, ...]:
        """The names of the collectors the store holds sweeps of, sorted."""
        found = self._db.execute(f"SELECT DISTINCT collector FROM {COLLECTOR.name} ORDER BY collector").fetchall()
        return tuple(name for (name,) in found)

    def close(self) -> None:
        self._db.close()

    # -- samples (HistoryStore) -----------------------------------------------------------

    def write_samples(
        self, samples: Iterable[SampleRow], policy: Policy = "replace", reconstructed: bool = False
    ) -> int:
        """Write raw ``ping`` samples (Samples or plain tuples in Sample's field order) in one
        transaction, all or none: when ``samples`` raises, nothing is kept and the exception
        propagates. Streams: memory holds one chunk of samples. A sample for a host and time the
        store has is settled by ``policy`` (``pinger.store.merge``; the protocol's rule: "replace").
        Returns how many samples were given."""
        from .bulk import batches_of_rows

        counted = [0]
        with self.bulk(policy, reconstructed) as writer:
            feed = self.feed(writer)
            try:
                for batch in batches_of_rows(self.rosters, samples, counted):
                    feed.feed(batch)
                feed.finish()
            finally:
                feed.close()
        return counted[0]

    def feed(self, writer: BulkWriter) -> TimeOrderedFeed:
        """A TimeOrderedFeed into ``writer`` that spills beside the store."""
        from .bulk import TimeOrderedFeed

        return TimeOrderedFeed(writer, self.path.parent)

    @contextlib.contextmanager
    def bulk(self, policy: Policy, reconstructed: bool = False) -> Iterator[BulkWriter]:
        """A BulkWriter inside one transaction (committed when the block ends without an exception)."""
        from .bulk import BulkWriter

        self._require_packed()
        with self._writing(), self._large_cache():
            yield BulkWriter(self._db, self.rosters, policy, reconstructed)

    def write_batch(self, writer: BulkWriter, batch: Batch) -> None:
        """``writer.write(batch)``, its SQLite failure one sentence naming the file."""
        try:
            writer.write(batch)
        except sqlite3.Error as err:
            raise StoreError(f"Cannot write to the SQLite store {self.path}: {err}") from None

    @contextlib.contextmanager
    def _large_cache(self) -> Iterator[None]:
        size = self._db.execute("PRAGMA cache_size").fetchone()[0]
        self._db.execute(f"PRAGMA cache_size = -{BULK_CACHE_KIB}")
        try:
            yield
        finally:
            self._db.execute(f"PRAGMA cache_size = {size}")

    def host_samples(self, pool: str, hosts: Sequence[str], start: float, stop: float) -> Iterator[HostSamples]:
        """Each host's samples, found by host name whatever pool they were recorded in."""
        if not self.packed:
            yield from self._table_host_samples(hosts, start, stop)
            return
        found = self.day_samples([(pool, hosts)], start, stop)
        by_host: dict[int, tuple[list[int], list[bool]]] = {}
        for block in found.blocks:
            times = block.times.astype("int64").tolist()
            for column, index in enumerate(block.host.tolist()):
                by_host[index] = (times, block.up[:, column].tolist())
        runs = found.runs
        index_list, run_times, states = runs.host.tolist(), runs.start.astype("int64").tolist(), runs.up.tolist()
        first = 0
        while first < len(index_list):
            last = first
            while last < len(index_list) and index_list[last] == index_list[first]:
                last += 1
            by_host[index_list[first]] = (run_times[first:last], states[first:last])
            first = last
        for index in sorted(by_host):
            yield HostSamples(hosts[index], *by_host[index])

    def _table_host_samples(self, hosts: Sequence[str], start: float, stop: float) -> Iterator[HostSamples]:
        """An older file's ``ping`` table, read as it stands."""
        for host in hosts:
            found = self._db.execute(
                "SELECT time, up FROM ping WHERE host = ? AND time >= ? AND time < ? ORDER BY time",
                (host, start, stop),
            ).fetchall()
            yield HostSamples(host, [row[0] for row in found], [bool(row[1]) for row in found])

    def day_samples(self, pools: Sequence[tuple[str, Sequence[str]]], start: float, stop: float) -> DaySamples:
        """The samples of the pools' hosts with start <= time < stop (see DaySamples): host indexes count
        the pools' host lists one after another. A host's samples are found by its name, whatever pool
        they were recorded in; one read for every pool."""
        from .interface import DaySamples
        from .read import day_samples, read_groups

        names = [host for _, hosts in pools for host in hosts]
        if self.packed and self._writable:
            self._pack_staged()
        if not self.packed:
            return DaySamples(_runs_of(self._table_host_samples(names, start, stop), names))
        index_of = self._known_hosts(names)
        return day_samples(read_groups(self._db, self.rosters, start, stop), index_of)

    def read_groups(self, start: float, stop: float, codes: bool = False) -> list[Group]:
        """The packed rows with start <= time < stop as NumPy matrices, a Group per roster part (hosts x sweep
        times): what analysts read whole days with, far faster than the ``ping`` view (docs/store.md)."""
        from .read import read_groups

        self._require_packed()
        return read_groups(self._db, self.rosters, start, stop, codes=codes)

    def _known_hosts(self, names: Sequence[str]) -> dict[int, int]:
        """host id -> index in ``names`` for the names the store has (the first index of a repeated name)."""
        positions: dict[str, int] = {}
        for index, name in enumerate(names):
            positions.setdefault(name, index)
        return {
            host: positions[name] for name, host in self._db.execute("SELECT name, id FROM hosts") if name in positions
        }

    def first_sample_time(self) -> int | None:
        return self._edge_sample_time("min")

    def last_sample_time(self) -> int | None:
        return self._edge_sample_time("max")

    def _edge_sample_time(self, edge: Literal["min", "max"]) -> int | None:
        """The time of the oldest ("min") or newest ("max") sample, rows staged through the ``ping`` view
        included; a packed row whose hosts were none of them seen holds no sample."""
        if self.packed and self._writable:
            self._pack_staged()
        if not self.packed:
            found: int | None = self._db.execute(f"SELECT {edge}(time) FROM ping").fetchone()[0]
            return found
        order = "DESC" if edge == "max" else "ASC"
        row = self._db.execute(
            "SELECT time FROM sweeps WHERE seen IS NULL OR seen <> zeroblob(length(seen)) "
            f"ORDER BY time {order} LIMIT 1"
        ).fetchone()
        return None if row is None else int(row[0])

    def _require_packed(self) -> None:
        if not self.packed:
            raise StoreError(f"{self.path} is opened read-only at schema {self._version}: it cannot be written")

    # -- daily rows -----------------------------------------------------------------------

    def write_days(
        self, host_days: Sequence[HostDay], pool_days: Sequence[PoolDay], pool_hours: Sequence[PoolHour] = ()
    ) -> None:
        """Replace the daily and hourly rows of every (pool, day) given, in one transaction."""
        with self._writing():
            for pool_day in pool_days:
                self._db.execute(
                    f"DELETE FROM {HOST_DAILY.name} WHERE pool = ? AND date = ?",
                    (pool_day.pool, pool_day.day.isoformat()),
                )
                start, stop = day_bounds(pool_day.day, self.timezone)
                self._db.execute(
                    f"DELETE FROM {POOL_HOURLY.name} WHERE pool = ? AND time >= ? AND time < ?",
                    (pool_day.pool, start, stop),
                )
            self._write(HOST_DAILY.name, rows(HOST_DAILY, host_days, self.timezone))
            self._write(POOL_DAILY.name, rows(POOL_DAILY, pool_days, self.timezone))
            self._write(POOL_HOURLY.name, rows(POOL_HOURLY, pool_hours, self.timezone))

    def pool_hours(self, first: dt.date, last: dt.date, pools: Sequence[str] | None = None) -> list[PoolHour]:
        if self._present is not None and POOL_HOURLY.name not in self._present:
            return []  # a store from before pool_hourly, read as it stands
        start, stop = day_bounds(first, self.timezone)[0], day_bounds(last, self.timezone)[1]
        query = f"{self._select(POOL_HOURLY)} WHERE time >= ? AND time < ?"
        params: list[object] = [start, stop]
        if pools:
            query += f" AND pool IN ({', '.join('?' * len(pools))})"
            params.extend(pools)
        return [record_of(POOL_HOURLY, row) for row in self._db.execute(query + " ORDER BY time, pool", params)]

    def pool_days(self, first: dt.date, last: dt.date, pools: Sequence[str] | None = None) -> list[PoolDay]:
        query = f"{self._select(POOL_DAILY)} WHERE date >= ? AND date <= ?"
        params: list[str] = [first.isoformat(), last.isoformat()]
        if pools:
            query += f" AND pool IN ({', '.join('?' * len(pools))})"
            params.extend(pools)
        return [record_of(POOL_DAILY, row) for row in self._db.execute(query + " ORDER BY date, pool", params)]

    def last_aggregated_day(self) -> dt.date | None:
        value = self._db.execute(f"SELECT max(date) FROM {POOL_DAILY.name}").fetchone()[0]
        return dt.date.fromisoformat(value) if value else None

    def _select(self, measurement: Measurement) -> str:
        """The SELECT of a measurement; on an older file opened for reading, a column it lacks reads NULL."""
        return select_sql(measurement, None if self._present is None else self._present.get(measurement.name, set()))

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """One transaction; its failure is one sentence naming the file. Ids made in a transaction that
        rolls back are forgotten."""
        try:
            with Transaction(self._db):
                yield
        except sqlite3.Error as err:
            self.rosters.rollback()
            self._sweep_ids.clear()
            raise StoreError(f"Cannot write to the SQLite store {self.path}: {err}") from None
        except BaseException:
            self.rosters.rollback()
            self._sweep_ids.clear()
            raise
        self.rosters.commit()

    def _write(self, table: str, batch: Sequence[Sequence[object]]) -> None:
        """Insert rows of a measurement's table; an optional column that is NULL in every row is left out
        (sqlite3 binds None slowly: 10,000 host_daily rows without pricing bind 20,000 of them)."""
        measurement = MEASUREMENTS[table]
        skipped = unused_columns(measurement, batch)
        if skipped:
            pick = itemgetter(*(index for index in range(len(batch[0])) if index not in skipped))
            self._db.executemany(insert_sql(measurement, skipped), [pick(row) for row in batch])
        else:
            self._db.executemany(self._insert[table], batch)


def _runs_of(found: Iterable[HostSamples], names: Sequence[str]) -> SampleRuns:
    """Host samples as SampleRuns of one sample each (hosts indexed by their first place in ``names``)."""
    import numpy as np

    from .interface import SampleRuns

    first: dict[str, int] = {}
    for index, name in enumerate(names):
        first.setdefault(name, index)
    index_list: list[int] = []
    times: list[float] = []
    states: list[bool] = []
    for host in found:
        index_list += [first[host.host]] * len(host.times)
        times += host.times
        states += host.states
    as_float = np.array(times, dtype=np.float64)
    return SampleRuns(np.array(index_list, dtype=np.int64), as_float, as_float, np.array(states, dtype=bool))


def _while_busy(step: Callable[[], None], timeout: float) -> None:
    """Run ``step``, again while SQLite says the database is locked, for up to ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            step()
            return
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) or time.monotonic() >= deadline:
                raise
            time.sleep(0.05)


def _explain(err: BaseException, path: Path) -> str:
    """The reason in the user's terms: a directory or file that cannot be written is named as such."""
    directory = path.parent
    if not os.access(directory, os.W_OK):
        return (
            f"the directory {directory} is read-only (SQLite writes {path.name}-wal and {path.name}-shm "
            "beside the store)"
        )
    if path.exists() and not os.access(path, os.W_OK):
        return f"the file {path} is read-only"
    return str(err)


def _observed_by_pool(hosts: Sequence[HostResult]) -> dict[str, list[HostResult]]:
    """A sweep's observed hosts by pool, in sweep order; a pool none of whose hosts was observed maps to []
    (its row says 0 of 0). A host not observed (HostResult.observed) gets no sample: not even a down bit."""
    by_pool: dict[str, list[HostResult]] = {}
    for name, outcomes in groupby(hosts, key=_POOL):  # a pool's hosts follow each other in a sweep
        found = by_pool.get(name)
        if found is None:
            by_pool[name] = list(outcomes)
        else:
            found.extend(outcomes)
    for name, results in by_pool.items():
        if any(map(_ERROR, results)):  # rare: test it at C speed before filtering in Python
            by_pool[name] = [result for result in results if result.observed]
    return by_pool


def _rows_on_own_roster(when: int, pool: int, roster: int, results: list[HostResult]) -> list[tuple[object, ...]]:
    """The rows of a pool's sweep that covered its roster exactly (in roster order): no ``seen`` bit map."""
    ups = list(map(_UP, results))
    online = sum(ups)
    rtts = list(map(_RTT, results))
    written: list[tuple[object, ...]] = []
    for part, first in enumerate(range(0, max(len(results), 1), PART)):
        up_part = ups[first : first + PART]
        up_bits = sum(compress(_POWERS, up_part))  # bit i set where position i is up
        codes = [
            round(rtt * 100) if rtt is not None and 0 <= rtt < _FINE_MS else rtt_code(rtt)
            for rtt in compress(rtts[first : first + PART], up_part)
        ]
        packed = pack(len(up_part), up_bits, codes)
        counts = (online, len(results)) if part == 0 else (None, None)
        written.append((when, pool, part, roster, *packed[:4], packed.source, None, *counts))
    return written


def _rows_on_wider_roster(
    when: int,
    pool: int,
    roster: int,
    positions: dict[int, int],
    results: list[HostResult],
    hosts: tuple[int, ...],
) -> list[tuple[object, ...]]:
    """The rows of a pool's sweep that covered some of its roster's hosts: a ``seen`` bit map marks them."""
    online = sum(map(_UP, results))
    slots: dict[int, dict[int, tuple[int, int]]] = {}
    for result, host_id in zip(results, hosts, strict=True):
        position = positions[host_id]
        code = rtt_code(result.rtt_ms) if result.up else RTT_NONE
        slots.setdefault(position // PART, {})[position % PART] = (int(result.up), code)
    slots.setdefault(0, {})
    size = len(positions)
    written: list[tuple[object, ...]] = []
    for part in sorted(slots):
        up_bits = seen_bits = 0
        codes = []
        for slot in sorted(slots[part]):
            up, code = slots[part][slot]
            seen_bits |= 1 << slot
            if up:
                up_bits |= 1 << slot
                codes.append(code)
        packed = pack(min(PART, size - part * PART), up_bits, codes, seen_bits)
        counts = (online, len(results)) if part == 0 else (None, None)
        written.append((when, pool, part, roster, *packed[:4], packed.source, None, *counts))
    return written
