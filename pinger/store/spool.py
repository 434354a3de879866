"""The durable outbox: batches of line protocol committed to SQLite before any network write.

A batch (one sweep's points) is appended in one transaction and removed only after InfluxDB
acknowledged it, so a restart, a SIGKILL or an outage loses nothing and, since InfluxDB
overwrites a point with the same series and time, a batch delivered twice is stored once.
Batches the server rejects as malformed (HTTP 400) are kept in a separate table for inspection
rather than retried forever or dropped. The scheduled time of each collector's newest sweep is kept
too, committed with its batch and kept after delivery: what ``pinger health`` reads.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import NamedTuple

from pinger.errors import SpoolFull, StoreError, StoreMissing

from .readonly import connect_read_only

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, bucket TEXT NOT NULL, "
    "created REAL NOT NULL, points INTEGER NOT NULL, bytes INTEGER NOT NULL, lines TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS rejected (id INTEGER PRIMARY KEY, bucket TEXT NOT NULL, created REAL NOT NULL, "
    "rejected REAL NOT NULL, reason TEXT NOT NULL, lines TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS newest_sweep (collector TEXT PRIMARY KEY, time INTEGER NOT NULL)",
)


class Batch(NamedTuple):
    id: int
    bucket: str
    points: int
    lines: str


class Spool:
    """A SQLite outbox; each thread gets its own connection."""

    def __init__(self, path: Path, max_bytes: int):
        self.path = Path(path)
        self.max_bytes = max_bytes
        self._local = threading.local()
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = self._db()
            db.execute("PRAGMA journal_mode=WAL")
            for statement in _SCHEMA:
                db.execute(statement)
        except (sqlite3.Error, OSError) as err:
            raise StoreError(f"Cannot open the spool {self.path}: {err}") from None

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
            # FULL: a batch reported as spooled survives a power cut, not just a crash.
            db.execute("PRAGMA synchronous=FULL")
            self._local.db = db
        return db

    def append(self, bucket: str, lines: list[str], sweep: tuple[str, int] | None = None) -> int:
        """Commit one batch; return its id. Raises SpoolFull when the bound would be passed.
        ``sweep``: (collector name, scheduled time) of the sweep the batch holds, committed with it as
        that collector's newest sweep (see newest_spooled_sweep)."""
        with self._transaction() as db:
            batch_id = self._insert(bucket, lines, self.pending_bytes())
            if sweep is not None:
                db.execute(
                    "INSERT INTO newest_sweep (collector, time) VALUES (?, ?) ON CONFLICT (collector) "
                    "DO UPDATE SET time = max(time, excluded.time)",
                    sweep,
                )
        return batch_id

    def append_all(self, bucket: str, batches: Iterable[list[str]]) -> int:
        """Commit many batches in one transaction, all or none: when the bound would be passed
        (SpoolFull), the spool cannot be written (StoreError) or ``batches`` raises, nothing is
        kept and the exception propagates. Returns the number of points."""
        points = 0
        with self._transaction():
            pending = self.pending_bytes()
            for lines in batches:
                self._insert(bucket, lines, pending)
                pending += len("\n".join(lines).encode())
                points += len(lines)
        return points

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction of this thread's connection, under the lock: committed when the block
        ends, rolled back when it raises (the exception propagates); sqlite3's errors become StoreError."""
        with self._lock:
            db = self._db()
            try:
                db.execute("BEGIN IMMEDIATE")
                try:
                    yield db
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
                db.execute("COMMIT")
            except sqlite3.Error as err:
                raise StoreError(f"Cannot write to the spool {self.path}: {err}") from None

    def _insert(self, bucket: str, lines: list[str], pending_bytes: int) -> int:
        text = "\n".join(lines)
        size = len(text.encode())
        if pending_bytes + size > self.max_bytes:
            raise SpoolFull(
                f"the spool {self.path} holds {pending_bytes / 1e6:.1f} MB, its bound "
                f"(storage.influxdb.spool_max) is {self.max_bytes / 1e6:.1f} MB"
            )
        cursor = self._db().execute(
            "INSERT INTO outbox (bucket, created, points, bytes, lines) VALUES (?, ?, ?, ?, ?)",
            (bucket, time.time(), len(lines), size, text),
        )
        assert cursor.lastrowid is not None  # an INSERT into a rowid table always sets it
        return cursor.lastrowid

    def oldest(self, max_points: int) -> list[Batch]:
        """The oldest batches, in order, up to about ``max_points`` points (at least one batch)."""
        batches: list[Batch] = []
        points = 0
        for row in self._db().execute("SELECT id, bucket, points, lines FROM outbox ORDER BY id LIMIT 1000"):
            if batches and points + row[2] > max_points:
                break
            batches.append(Batch(*row))
            points += row[2]
        return batches

    def remove(self, ids: list[int]) -> None:
        self._db().executemany("DELETE FROM outbox WHERE id = ?", [(i,) for i in ids])

    def reject(self, batch: Batch, reason: str) -> None:
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute(
                "INSERT INTO rejected SELECT id, bucket, created, ?, ?, lines FROM outbox WHERE id = ?",
                (time.time(), reason, batch.id),
            )
            db.execute("DELETE FROM outbox WHERE id = ?", (batch.id,))
            db.execute("COMMIT")
        except sqlite3.Error:
            db.execute("ROLLBACK")
            raise

    def backlog(self) -> int:
        """Batches waiting for delivery."""
        return self._count("SELECT count(*) FROM outbox")

    def pending_bytes(self) -> int:
        return self._count("SELECT coalesce(sum(bytes), 0) FROM outbox")

    def rejected_count(self) -> int:
        return self._count("SELECT count(*) FROM rejected")

    def _count(self, query: str) -> int:
        return int(self._db().execute(query).fetchone()[0])

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None


def newest_spooled_sweep(path: Path, collector: str) -> int | None:
    """The scheduled time of the newest sweep the collector committed to the spool at ``path``, delivered
    or not; None when it has committed none (or the spool was made by a Pinger that did not record it).
    Read-only, also in a directory the reader cannot write (see connect_read_only): raises StoreMissing when
    there is no spool."""
    if not Path(path).exists():
        raise StoreMissing(f"no spool at {path} (storage.influxdb.spool): the collector has not run here")
    try:
        db = connect_read_only(Path(path), timeout=30.0)
        try:
            found = db.execute("SELECT time FROM newest_sweep WHERE collector = ?", (collector,)).fetchone()
        finally:
            db.close()
    except sqlite3.OperationalError as err:
        if "no such table" in str(err):
            return None
        raise StoreError(f"Cannot read the spool {path}: {err}") from None
    except sqlite3.Error as err:
        raise StoreError(f"Cannot read the spool {path}: {err}") from None
    return None if found is None else int(found[0])


class SpoolSummary(NamedTuple):
    """What ``pinger health`` reads of a spool besides one collector's newest sweep."""

    collectors: tuple[str, ...]  # the collectors whose sweeps it holds (or held), by name
    rejected: int  # batches InfluxDB refused as malformed, kept in the 'rejected' table
    newest_rejected_at: float | None  # when the newest of them was refused (unix seconds)
    newest_reason: str | None


def spool_summary(path: Path) -> SpoolSummary:
    """The collectors and the rejected batches of the spool at ``path``, read-only (as newest_spooled_sweep)."""
    if not Path(path).exists():
        raise StoreMissing(f"no spool at {path} (storage.influxdb.spool): the collector has not run here")
    try:
        db = connect_read_only(Path(path), timeout=30.0)
        try:
            tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            collectors = (
                tuple(name for (name,) in db.execute("SELECT collector FROM newest_sweep ORDER BY collector"))
                if "newest_sweep" in tables
                else ()
            )
            count, newest, reason = (
                db.execute(
                    "SELECT count(*), max(rejected), (SELECT reason FROM rejected ORDER BY rejected DESC LIMIT 1) "
                    "FROM rejected"
                ).fetchone()
                if "rejected" in tables
                else (0, None, None)
            )
        finally:
            db.close()
    except sqlite3.Error as err:
        raise StoreError(f"Cannot read the spool {path}: {err}") from None
    return SpoolSummary(collectors, int(count), newest, reason)
