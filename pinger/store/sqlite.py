"""The embedded store: one SQLite file (WAL mode), one table per measurement of the data schema."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator, Sequence

from pinger.errors import StoreError
from pinger.models import CollectorStatus, SweepResult

if TYPE_CHECKING:
    from pinger.aggregator.daily import HostDay, PoolDay

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS ping (
    time INTEGER NOT NULL, pool TEXT NOT NULL, host TEXT NOT NULL,
    up INTEGER NOT NULL, rtt_ms REAL,
    PRIMARY KEY (host, time)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS pool_status (
    time INTEGER NOT NULL, pool TEXT NOT NULL, online INTEGER NOT NULL, total INTEGER NOT NULL,
    PRIMARY KEY (pool, time)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS collector (
    time INTEGER NOT NULL, collector TEXT NOT NULL, hosts INTEGER NOT NULL, online INTEGER NOT NULL,
    sweep_s REAL NOT NULL, spool_backlog INTEGER NOT NULL, write_errors INTEGER NOT NULL,
    PRIMARY KEY (collector, time)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS host_daily (
    time INTEGER NOT NULL, date TEXT NOT NULL, pool TEXT NOT NULL, host TEXT NOT NULL,
    runtime_h REAL NOT NULL, coverage REAL NOT NULL,
    PRIMARY KEY (pool, date, host)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS pool_daily (
    time INTEGER NOT NULL, date TEXT NOT NULL, pool TEXT NOT NULL, phase TEXT, tags TEXT NOT NULL,
    pcs_total INTEGER NOT NULL, pcs_used INTEGER NOT NULL, runtime_h REAL NOT NULL,
    avg_runtime_h REAL NOT NULL, energy_kwh REAL NOT NULL, coverage REAL NOT NULL,
    runtime_closed_h REAL, on_at_close INTEGER,
    PRIMARY KEY (date, pool)
) WITHOUT ROWID;
"""

POOL_DAILY_COLUMNS = (
    "date", "pool", "phase", "tags", "pcs_total", "pcs_used", "runtime_h", "avg_runtime_h",
    "energy_kwh", "coverage", "runtime_closed_h", "on_at_close",
)


class SqliteStore:
    """Samples and daily rows in one SQLite file; safe for one writer and many readers at once."""

    def __init__(self, path: Path):
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StoreError(f"{self.path} was written by a newer Pinger (schema {version}); upgrade Pinger")
            with self._transaction():
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except (sqlite3.Error, OSError) as err:
            raise StoreError(f"Cannot open the SQLite store {self.path}: {err}") from None

    def _transaction(self):
        return _Transaction(self._db)

    def close(self) -> None:
        self._db.close()

    # -- samples ---------------------------------------------------------------

    def write_sweep(self, sweep: SweepResult, status: CollectorStatus) -> None:
        """Write one sweep's ping, pool_status and collector points in one transaction."""
        time = sweep.scheduled
        try:
            with self._transaction():
                self._db.executemany(
                    "INSERT OR REPLACE INTO ping (time, pool, host, up, rtt_ms) VALUES (?, ?, ?, ?, ?)",
                    [(time, h.pool, h.host, int(h.up), h.rtt_ms) for h in sweep.hosts],
                )
                self._db.executemany(
                    "INSERT OR REPLACE INTO pool_status (time, pool, online, total) VALUES (?, ?, ?, ?)",
                    [(time, pool, online, total) for pool, (online, total) in sweep.pool_counts().items()],
                )
                self._db.execute(
                    "INSERT OR REPLACE INTO collector VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (time, status.collector, status.hosts, status.online, round(status.sweep_s, 4),
                     status.spool_backlog, status.write_errors),
                )
        except sqlite3.Error as err:
            raise StoreError(f"Cannot write to the SQLite store {self.path}: {err}") from None

    def write_samples(self, samples: Iterable[tuple[int, str, str, bool, float | None]]) -> int:
        """Write raw ``ping`` samples (time, pool, host, up, rtt_ms) in one transaction."""
        rows = [(t, pool, host, int(up), rtt) for t, pool, host, up, rtt in samples]
        with self._transaction():
            self._db.executemany(
                "INSERT OR REPLACE INTO ping (time, pool, host, up, rtt_ms) VALUES (?, ?, ?, ?, ?)", rows)
        return len(rows)

    def host_samples(self, host: str, start: float, stop: float) -> tuple[list[int], list[bool]]:
        """A host's sample times and states with start <= time < stop, in time order."""
        rows = self._db.execute(
            "SELECT time, up FROM ping WHERE host = ? AND time >= ? AND time < ? ORDER BY time",
            (host, start, stop),
        ).fetchall()
        return [row[0] for row in rows], [bool(row[1]) for row in rows]

    def pool_samples(self, pool: str, hosts: Sequence[str], start: float, stop: float
                     ) -> Iterator[tuple[str, list[int], list[bool]]]:
        """(host, times, states) for each host given, found by host name whatever pool it was recorded in."""
        for host in hosts:
            yield (host, *self.host_samples(host, start, stop))

    def sample_count(self) -> int:
        return self._db.execute("SELECT count(*) FROM ping").fetchone()[0]

    def first_sample_time(self) -> int | None:
        return self._db.execute("SELECT min(time) FROM ping").fetchone()[0]

    # -- daily rows ------------------------------------------------------------

    def write_days(self, host_days: Sequence["HostDay"], pool_days: Sequence["PoolDay"],
                   day_starts: dict[dt.date, int]) -> None:
        """Replace the daily rows of every (pool, day) given, in one transaction."""
        with self._transaction():
            for pool_day in pool_days:
                self._db.execute("DELETE FROM host_daily WHERE pool = ? AND date = ?",
                                 (pool_day.pool, pool_day.day.isoformat()))
            self._db.executemany(
                "INSERT OR REPLACE INTO host_daily VALUES (?, ?, ?, ?, ?, ?)",
                [(day_starts[h.day], h.day.isoformat(), h.pool, h.host, h.runtime_h, h.coverage)
                 for h in host_days],
            )
            self._db.executemany(
                "INSERT OR REPLACE INTO pool_daily VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(day_starts[p.day], p.day.isoformat(), p.pool, p.phase, json.dumps(p.tags, sort_keys=True),
                  p.pcs_total, p.pcs_used, p.runtime_h, p.avg_runtime_h, p.energy_kwh, p.coverage,
                  p.runtime_closed_h, p.on_at_close) for p in pool_days],
            )

    def pool_days(self, first: dt.date, last: dt.date, pools: Sequence[str] | None = None) -> list[dict]:
        """Stored pool_daily rows for first..last (inclusive) as dicts, by date then pool."""
        query = f"SELECT {', '.join(POOL_DAILY_COLUMNS)} FROM pool_daily WHERE date >= ? AND date <= ?"
        params: list = [first.isoformat(), last.isoformat()]
        if pools:
            query += f" AND pool IN ({', '.join('?' * len(pools))})"
            params.extend(pools)
        rows = self._db.execute(query + " ORDER BY date, pool", params).fetchall()
        result = []
        for row in rows:
            record = dict(zip(POOL_DAILY_COLUMNS, row))
            record["tags"] = json.loads(record["tags"])
            result.append(record)
        return result

    def host_days(self, day: dt.date, pool: str) -> dict[str, tuple[float, float]]:
        """host -> (runtime_h, coverage) stored for a pool and day."""
        rows = self._db.execute(
            "SELECT host, runtime_h, coverage FROM host_daily WHERE pool = ? AND date = ?",
            (pool, day.isoformat()),
        ).fetchall()
        return {host: (runtime, coverage) for host, runtime, coverage in rows}

    def last_aggregated_day(self) -> dt.date | None:
        value = self._db.execute("SELECT max(date) FROM pool_daily").fetchone()[0]
        return dt.date.fromisoformat(value) if value else None


class _Transaction:
    """BEGIN IMMEDIATE … COMMIT, or ROLLBACK on any exception."""

    def __init__(self, db: sqlite3.Connection):
        self._db = db

    def __enter__(self):
        self._db.execute("BEGIN IMMEDIATE")
        return self._db

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self._db.execute("COMMIT")
        else:
            self._db.execute("ROLLBACK")
        return False
