"""The embedded store: one SQLite file (WAL mode), one table per declared measurement, migrated on open."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import chain, islice
from operator import itemgetter
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from pinger.errors import StoreError, StoreMissing
from pinger.localtime import day_bounds
from pinger.models import CollectorStatus, HostDay, HostSamples, PoolDay, PoolHour, SampleRow, SweepResult
from pinger.schema import ALL, COLLECTOR, HOST_DAILY, PING, POOL_DAILY, POOL_HOURLY, POOL_STATUS, Measurement

from .interface import SpoolFill
from .migrations import Transaction, check_current, migrate, present_columns
from .readonly import connect_read_only
from .tables import column_names, insert_sql, record_of, row_maker, rows, select_sql

Access = Literal["create", "write", "read"]
BUSY_TIMEOUT_S = 30.0
BULK_WINDOW = 100_000  # samples sorted into key order at a time, in write_samples: ~15 MB
BULK_CACHE_KIB = 65_536  # SQLite's page cache while write_samples runs (default: 2 MB)
_BY_HOST = itemgetter(column_names(PING).index(PING.sqlite_key[0]))  # the key's first column: no tuple per row


class SqliteStore:
    """Samples and daily rows in one SQLite file; safe for one writer and many readers at once.

    Implements SweepStore and HistoryStore. Writes are committed before a call returns, so there
    is no outbox: nothing waits, and nothing needs checking at start beyond opening the file.
    ``timezone`` stamps each daily row with the local midnight that starts its day.

    ``access``: "create" (the collector and the import) makes the file and its directory when
    they are missing; "write" (the aggregator) and "read" (export, report) need the file to exist,
    so that a mistyped ``storage.path`` is an error rather than an empty store that reads as zeros.
    "read" opens read-only: no schema is created or migrated, and a read-only file or directory
    is enough.
    """

    def __init__(self, path: Path, timezone: ZoneInfo, access: Access = "create"):
        self.path = Path(path)
        self.timezone = timezone
        self._insert = {measurement.name: insert_sql(measurement) for measurement in ALL}
        self._present: dict[str, set[str]] | None = None  # an older file opened for reading: its tables' columns
        if self.path.is_dir():
            raise StoreError(f"{self.path} is a directory, not a store file (storage.path)")
        if access != "create" and not self.path.exists():
            raise StoreMissing(f"no store at {self.path} (storage.path): run the collector first")
        try:
            if access == "create":
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = (
                connect_read_only(self.path, BUSY_TIMEOUT_S)
                if access == "read"
                else sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
            )
        except (sqlite3.Error, OSError) as err:
            raise StoreError(f"Cannot open the SQLite store {self.path}: {_explain(err, self.path)}") from None
        try:
            if access == "read":
                self._present = present_columns(self._db, check_current(self._db, self.path))
            else:
                _while_busy(self._prepare, BUSY_TIMEOUT_S)
        except sqlite3.Error as err:
            self._db.close()
            raise StoreError(f"Cannot open the SQLite store {self.path}: {_explain(err, self.path)}") from None
        except StoreError:
            self._db.close()
            raise

    def _prepare(self) -> None:
        """WAL mode and the current schema. Two processes opening a new file at once both get here:
        the switch to WAL does not wait for the other's lock, so the caller retries it."""
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        migrate(self._db, self.path)

    # -- the collector's side (SweepStore) ------------------------------------------------

    def check(self) -> None:
        """Nothing to check: the file opened, and every write is committed before it returns."""

    def write_sweep(self, sweep: SweepResult, status: CollectorStatus) -> None:
        """Write one sweep's ping, pool_status and collector points in one transaction."""
        with self._writing():
            self._write(PING.name, rows(PING, sweep.samples(), self.timezone))
            self._write(POOL_STATUS.name, rows(POOL_STATUS, sweep.pool_statuses(), self.timezone))
            self._write(COLLECTOR.name, rows(COLLECTOR, [status], self.timezone))

    def backlog(self) -> int:
        return 0

    def spool_fill(self) -> SpoolFill | None:
        return None

    def write_errors(self) -> int:
        return 0

    def newest_sweep(self, collector: str) -> int | None:
        """The scheduled time of the collector's newest stored sweep (its newest ``collector`` row); None: none."""
        found = self._db.execute(f"SELECT max(time) FROM {COLLECTOR.name} WHERE collector = ?", (collector,)).fetchone()
        return None if found[0] is None else int(found[0])

    def close(self, flush_seconds: float = 0.0) -> None:
        self._db.close()

    # -- samples and daily rows (HistoryStore) --------------------------------------------

    def write_samples(self, samples: Iterable[SampleRow]) -> int:
        """Write raw ``ping`` samples (Samples or plain tuples in Sample's field order) in one
        transaction, all or none: when ``samples`` raises, nothing is kept and the exception
        propagates. Streams: memory holds one window of samples.

        A window at a time is sorted into the table's key order (host, then time) before it is
        inserted: a file lists a sweep of every host after another, so each row would land far from
        the one before; in key order the B-tree takes them about twice as fast. The sort is stable,
        so of two samples of one host and time the later in the file still wins. A larger page
        cache for the duration keeps the pages of a window's hosts in memory.
        """
        rows = map(row_maker(PING, self.timezone), samples)
        windows = iter(lambda: sorted(islice(rows, BULK_WINDOW), key=_BY_HOST), [])
        written = 0

        def counted(window: list[Sequence[object]]) -> list[Sequence[object]]:
            nonlocal written
            written += len(window)
            return window

        with self._writing(), self._large_cache():
            self._db.executemany(self._insert[PING.name], chain.from_iterable(map(counted, windows)))
        return written

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
        for host in hosts:
            found = self._db.execute(
                "SELECT time, up FROM ping WHERE host = ? AND time >= ? AND time < ? ORDER BY time",
                (host, start, stop),
            ).fetchall()
            yield HostSamples(host, [row[0] for row in found], [bool(row[1]) for row in found])

    def first_sample_time(self) -> int | None:
        found: int | None = self._db.execute("SELECT min(time) FROM ping").fetchone()[0]
        return found

    def last_sample_time(self) -> int | None:
        found: int | None = self._db.execute("SELECT max(time) FROM ping").fetchone()[0]
        return found

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
        """One transaction; its failure is one sentence naming the file."""
        try:
            with Transaction(self._db):
                yield
        except sqlite3.Error as err:
            raise StoreError(f"Cannot write to the SQLite store {self.path}: {err}") from None

    def _write(self, table: str, batch: Sequence[Sequence[object]]) -> None:
        self._db.executemany(self._insert[table], batch)


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
