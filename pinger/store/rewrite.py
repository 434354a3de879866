"""Migration 2 -> 3: the samples of a schema-2 file packed into a new file, which then replaces the old one.

Why a new file: dropping the old ``ping`` table in place would not give its space back, and with
``secure_delete`` (as SQLite is built here) it writes every freed page again, doubling file and
write-ahead log for a while (0.76 -> 1.51 GB measured). A new file needs only the packed size
beside the old one (about a twentieth of it), and the old file is never written:

1. the old file is switched to a rollback journal, which succeeds only when no other process has
   it open (a collector, an export): otherwise the migration is refused with one sentence, and
   nothing changes; then a write lock keeps other writers out while it runs;
2. ``NAME.schema3`` beside it (left over from an interrupted run: removed first) gets the
   daily tables as they are, and the samples a block of time at a time (every host's samples of
   the block, read by the old ``(host, time)`` key, packed pool by pool), with progress;
3. once complete and flushed to disk, it is renamed over the old file (atomic), and the directory
   is flushed. The before and after sizes are logged.

Interrupted at any point before the rename (SIGKILL, a full disk, power loss), the old file is as
it was, at schema 2, and the next open starts the migration again; a full disk is one sentence.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sqlite3
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from pinger.errors import StoreError
from pinger.progress import Progress

from .bulk import Batch, BulkWriter, rtt_codes
from .layout import create_statements
from .migrations import PACKED_VERSION, VIEWS
from .rosters import Rosters

log = logging.getLogger("pinger.store")

BLOCK_SAMPLES = 250_000  # samples per block of time, about (memory: ~40 MB at the peak of a block)
FIRST_BLOCK_S = 600  # the first block is short: its rate sizes the next; a day of 10,000 hosts took 419 MB
SUFFIX = ".schema3"
LOCK_WAIT_S = 30.0


def temporary_path(path: Path) -> Path:
    return path.with_name(path.name + SUFFIX)


def rewrite_store(path: Path, timezone: ZoneInfo, block_samples: int = BLOCK_SAMPLES) -> None:
    """Rewrite the schema-2 file at ``path`` as schema 3 (see the module); StoreError on failure."""
    old = _exclusive(path)
    target = temporary_path(path)
    replaced = False
    try:
        version = old.execute("PRAGMA user_version").fetchone()[0]
        if version != PACKED_VERSION - 1:
            return  # another process migrated it meanwhile
        before = _on_disk(path)
        _check_space(path, before)
        for leftover in (target, Path(f"{target}-journal"), Path(f"{target}-wal"), Path(f"{target}-shm")):
            leftover.unlink(missing_ok=True)
        log.info("migrating %s (%.1f MB) to schema 3: samples packed one row per pool and sweep", path, before / 1e6)
        started = time.monotonic()
        try:
            samples = _build(old, path, target, block_samples)
        except sqlite3.Error as err:
            target.unlink(missing_ok=True)
            Path(f"{target}-journal").unlink(missing_ok=True)
            full = "full" in str(err)
            raise StoreError(
                f"Cannot migrate {path} to schema 3: "
                + (f"the disk is full ({_free(path) / 1e6:.0f} MB free)" if full else str(err))
                + "; the store is unchanged at schema 2"
            ) from None
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        os.replace(target, path)
        replaced = True
        _sync_directory(path.parent)
        after = _on_disk(path)
        log.info(
            "migrated %s to schema 3 in %.0f s: %d samples, %.1f MB -> %.1f MB",
            path,
            time.monotonic() - started,
            samples,
            before / 1e6,
            after / 1e6,
        )
    finally:
        if not replaced:
            _release(old)
        old.close()


def _release(old: sqlite3.Connection) -> None:
    """The old file back in WAL mode, as it was (the write lock let go first)."""
    with contextlib.suppress(sqlite3.Error):
        old.execute("ROLLBACK")
        old.execute("PRAGMA journal_mode=WAL")


def _exclusive(path: Path) -> sqlite3.Connection:
    """The old file, switched to a rollback journal (which needs every other connection gone) and
    held with a write lock. StoreError naming the reason when another process has it open."""
    db = sqlite3.connect(path, timeout=LOCK_WAIT_S, isolation_level=None)
    deadline = time.monotonic() + LOCK_WAIT_S
    while True:
        try:
            mode = db.execute("PRAGMA journal_mode=DELETE").fetchone()[0]
            if mode == "delete":
                db.execute("BEGIN IMMEDIATE")
                return db
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) and "busy" not in str(err):
                db.close()
                raise StoreError(f"Cannot migrate {path} to schema 3: {err}; the store is unchanged") from None
        if time.monotonic() >= deadline:
            db.close()
            raise StoreError(
                f"Cannot migrate {path} to schema 3 while another process has it open (a collector, an export, "
                "the nightly aggregation): stop it and try again; the store is unchanged at schema 2"
            )
        time.sleep(0.1)


def _check_space(path: Path, size: int) -> None:
    need = size // 8 + (64 << 20)
    free = _free(path)
    if free < need:
        raise StoreError(
            f"Cannot migrate {path} to schema 3: it needs about {need / 1e6:.0f} MB free beside the store "
            f"({free / 1e6:.0f} MB are); the store is unchanged at schema 2"
        )


def _free(path: Path) -> int:
    return shutil.disk_usage(path.parent).free


def _on_disk(path: Path) -> int:
    return sum(Path(f"{path}{suffix}").stat().st_size for suffix in ("", "-wal") if Path(f"{path}{suffix}").exists())


def _build(old: sqlite3.Connection, path: Path, target: Path, block_samples: int) -> int:
    new = sqlite3.connect(target, isolation_level=None)
    try:
        new.execute("PRAGMA journal_mode=OFF")  # a failed build is deleted, never used
        new.execute("PRAGMA synchronous=OFF")
        new.execute(f"PRAGMA cache_size = -{16 << 10}")
        new.execute("BEGIN")
        _copy_tables(old, new)
        for statement in create_statements():
            new.execute(statement)
        samples = _copy_samples(old, new, path, block_samples)
        new.execute(f"PRAGMA user_version = {PACKED_VERSION}")
        new.execute("COMMIT")
        new.execute("PRAGMA journal_mode=WAL")
    finally:
        new.close()
    with target.open("rb+") as handle:
        os.fsync(handle.fileno())
    log.info(
        "the new file %s is complete: %.1f MB beside the old one, which it now replaces", target, _on_disk(target) / 1e6
    )
    return samples


def _copy_tables(old: sqlite3.Connection, new: sqlite3.Connection) -> None:
    """Every table but ``ping`` and ``pool_status``, as the old file declares it, with its rows."""
    tables = old.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
    ).fetchall()
    for name, sql in tables:
        if name in VIEWS:
            continue
        new.execute(sql)
        columns = [row[1] for row in old.execute(f'PRAGMA table_info("{name}")')]
        marks = ", ".join("?" * len(columns))
        cursor = old.execute(f'SELECT * FROM "{name}"')
        while chunk := cursor.fetchmany(10_000):
            new.executemany(f'INSERT INTO "{name}" VALUES ({marks})', chunk)
    for (sql,) in old.execute("SELECT sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"):
        if not any(f"ON {view} " in sql or f"ON {view}(" in sql for view in VIEWS):
            new.execute(sql)


def _sync_directory(directory: Path) -> None:
    """Make a rename in ``directory`` durable."""
    handle = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def _names(db: sqlite3.Connection, table: str, column: str) -> list[str]:
    """The distinct values of a table's leading key column, one index seek each."""
    found: list[str] = []
    row = db.execute(f"SELECT min({column}) FROM {table}").fetchone()
    while row is not None and row[0] is not None:
        found.append(row[0])
        row = db.execute(f"SELECT min({column}) FROM {table} WHERE {column} > ?", (row[0],)).fetchone()
    return found


def _copy_samples(old: sqlite3.Connection, new: sqlite3.Connection, path: Path, block_samples: int) -> int:
    first, last = old.execute("SELECT min(time), max(time) FROM ping").fetchone()
    status_first, status_last = old.execute("SELECT min(time), max(time) FROM pool_status").fetchone()
    lows = [value for value in (first, status_first) if value is not None]
    highs = [value for value in (last, status_last) if value is not None]
    if not lows:
        return 0
    first, last = min(lows), max(highs)
    hosts = _names(old, "ping", "host")
    status_pools = _names(old, "pool_status", "pool")
    rosters = Rosters(new)
    host_ids = dict(zip(hosts, rosters.host_ids(hosts), strict=True))
    pool_ids: dict[str, int] = {}
    writer = BulkWriter(new, rosters, "replace")
    progress = Progress(last - first + 1, f"migrate {path.name} to schema 3")
    block = FIRST_BLOCK_S
    start = first
    copied = 0
    while start <= last:
        stop = min(start + block, last + 1)
        count = _copy_block(old, new, writer, rosters, hosts, host_ids, pool_ids, status_pools, start, stop)
        copied += count
        progress.update(stop - first, f"seconds of samples, {copied} samples")
        rate = count / (stop - start)
        block = int(min(max(block_samples / rate if rate else 7 * 86_400, 600), 4 * block, 7 * 86_400))
        start = stop
    return copied


def _copy_block(
    old: sqlite3.Connection,
    new: sqlite3.Connection,
    writer: BulkWriter,
    rosters: Rosters,
    hosts: list[str],
    host_ids: dict[str, int],
    pool_ids: dict[str, int],
    status_pools: list[str],
    start: int,
    stop: int,
) -> int:
    times: list[np.ndarray] = []
    pools: list[np.ndarray] = []
    ids: list[np.ndarray] = []
    ups: list[np.ndarray] = []
    rtts: list[np.ndarray] = []
    for host in hosts:
        found = old.execute(
            "SELECT time, pool, up, rtt_ms FROM ping WHERE host = ? AND time >= ? AND time < ?", (host, start, stop)
        ).fetchall()
        if not found:
            continue
        when, pool_names, states, rtt_values = zip(*found, strict=True)
        for name in set(pool_names) - pool_ids.keys():
            pool_ids[name] = rosters.pool_id(name)
        times.append(np.array(when, dtype=np.int64))
        pools.append(np.array([pool_ids[name] for name in pool_names], dtype=np.int64))
        ids.append(np.full(len(found), host_ids[host], dtype=np.int64))
        ups.append(np.array(states, dtype=bool))
        rtts.append(np.array([np.nan if value is None else value for value in rtt_values], dtype=np.float64))
    counts: dict[tuple[int, int], tuple[int, int]] = {}
    for name in status_pools:
        found = old.execute(
            "SELECT time, online, total FROM pool_status WHERE pool = ? AND time >= ? AND time < ?", (name, start, stop)
        ).fetchall()
        if found and name not in pool_ids:
            pool_ids[name] = rosters.pool_id(name)
        for when, online, total in found:
            counts[(when, pool_ids[name])] = (online, total)
    if not times:
        writer.write_counts(counts)
        return 0
    up = np.concatenate(ups)
    rtt = np.concatenate(rtts)
    rtt[~up] = np.nan
    batch = Batch(np.concatenate(times), np.concatenate(pools), np.concatenate(ids), up, rtt_codes(rtt), None)
    writer.write(batch, counts)
    return len(batch.time)
