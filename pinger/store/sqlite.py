"""The embedded store: one SQLite file (WAL mode), one table per declared measurement, migrated on open."""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from zoneinfo import ZoneInfo

from pinger.errors import StoreError
from pinger.models import CollectorStatus, HostDay, HostSamples, PoolDay, Sample, SweepResult
from pinger.schema import ALL, COLLECTOR, HOST_DAILY, PING, POOL_DAILY, POOL_STATUS

from .interface import SpoolFill
from .migrations import Transaction, migrate
from .tables import insert_sql, record_of, row_maker, rows, select_sql


class SqliteStore:
    """Samples and daily rows in one SQLite file; safe for one writer and many readers at once.

    Implements SweepStore and HistoryStore. Writes are committed before a call returns, so there
    is no outbox: nothing waits, and nothing needs checking at start beyond opening the file.
    ``timezone`` stamps each daily row with the local midnight that starts its day.
    """

    def __init__(self, path: Path, timezone: ZoneInfo):
        self.path = Path(path)
        self.timezone = timezone
        self._insert = {measurement.name: insert_sql(measurement) for measurement in ALL}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        except (sqlite3.Error, OSError) as err:
            raise StoreError(f"Cannot open the SQLite store {self.path}: {err}") from None
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            migrate(self._db, self.path)
        except sqlite3.Error as err:
            self._db.close()
            raise StoreError(f"Cannot open the SQLite store {self.path}: {err}") from None
        except StoreError:
            self._db.close()
            raise

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

    def close(self, flush_seconds: float = 0.0) -> None:
        self._db.close()

    # -- samples and daily rows (HistoryStore) --------------------------------------------

    def write_samples(self, samples: Iterable[Sample]) -> int:
        """Write raw ``ping`` samples in one transaction, all or none: when ``samples`` raises, nothing
        is kept and the exception propagates. Streams: memory does not grow with the number of samples."""
        written = 0

        def counted() -> Iterator[Sequence[object]]:
            nonlocal written
            for row in map(row_maker(PING, self.timezone), samples):
                written += 1
                yield row

        with self._writing():
            self._db.executemany(self._insert[PING.name], counted())
        return written

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

    def write_days(self, host_days: Sequence[HostDay], pool_days: Sequence[PoolDay]) -> None:
        """Replace the daily rows of every (pool, day) given, in one transaction."""
        with self._writing():
            for pool_day in pool_days:
                self._db.execute(f"DELETE FROM {HOST_DAILY.name} WHERE pool = ? AND date = ?",
                                 (pool_day.pool, pool_day.day.isoformat()))
            self._write(HOST_DAILY.name, rows(HOST_DAILY, host_days, self.timezone))
            self._write(POOL_DAILY.name, rows(POOL_DAILY, pool_days, self.timezone))

    def pool_days(self, first: dt.date, last: dt.date, pools: Sequence[str] | None = None) -> list[PoolDay]:
        query = f"{select_sql(POOL_DAILY)} WHERE date >= ? AND date <= ?"
        params: list[str] = [first.isoformat(), last.isoformat()]
        if pools:
            query += f" AND pool IN ({', '.join('?' * len(pools))})"
            params.extend(pools)
        return [record_of(POOL_DAILY, row) for row in self._db.execute(query + " ORDER BY date, pool", params)]

    def last_aggregated_day(self) -> dt.date | None:
        value = self._db.execute(f"SELECT max(date) FROM {POOL_DAILY.name}").fetchone()[0]
        return dt.date.fromisoformat(value) if value else None

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
