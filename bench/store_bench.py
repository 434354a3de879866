"""Store benchmark: bytes per sample on disk, and the collector's write of one sweep at any store size.

Two measurements on the embedded SQLite store, with the synthetic data of ``bench/store_data.py``
(about 45 % up, round-trip times with the collector's three decimals). Pings nothing.

``size``: writes DAYS days of HOSTS hosts a sweep at a time through ``SqliteStore.write_sweep`` (the
collector's own path, with its pool counts and status rows) into a fresh store, and reports the
bytes per sample of the file plus its write-ahead log while open and after closing; ``--no-rtt``
writes the same samples without round-trip times.

``write``: times ``write_sweep`` of SWEEPS sweeps of HOSTS hosts (default 16,382) on an empty store,
then loads DAYS days (default 30) of the same hosts through ``write_samples`` (``--load-order host``:
a host after another, the old ``(host, time)`` key's order; ``sweep``: a sweep after another) and
times SWEEPS more sweeps written after them; reports the medians and the range.

``view``: times queries of the ``ping`` relation as an analyst writes them (one host-day, with and
without its pool, one pool-day, a whole day) on DAYS (default 2) days of HOSTS hosts: on schema 2 the
old table, on schema 3 the view. ``overflow``: a HOSTS-host pool (default 2,000) packed one row per
sweep or one row per 256 hosts: bytes per sample and overflow pages.

Usage: python -m bench.store_bench size [--hosts 10000] [--days 1] [--pool-sizes mixed|N] [--no-rtt]
       python -m bench.store_bench write [--hosts 16382] [--days 30] [--sweeps 21] [--load-order sweep|host]
       python -m bench.store_bench view [--hosts 10000] [--days 2]
       python -m bench.store_bench overflow [--hosts 2000]
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from bench import store_data
from pinger.models import CollectorStatus, HostResult, SweepResult
from pinger.store.sqlite import SqliteStore

UTC = ZoneInfo("UTC")


def on_disk(path: Path) -> int:
    return sum(Path(f"{path}{suffix}").stat().st_size for suffix in ("", "-wal") if Path(f"{path}{suffix}").exists())


def sweep_of(
    rows: list[tuple[int, str, str, int, float | None]], rtt: bool = True
) -> tuple[SweepResult, CollectorStatus]:
    hosts = tuple(HostResult(pool, host, bool(up), value if rtt else None) for _, pool, host, up, value in rows)
    sweep = SweepResult(rows[0][0], 1.0, hosts)
    return sweep, CollectorStatus(rows[0][0], "bench", len(hosts), sweep.online, 1.0)


def timed_writes(store: SqliteStore, hosts: int, times, pool_sizes: str) -> list[float]:
    spent = []
    for rows in store_data.sweep_rows(hosts, times, pool_sizes):
        sweep, status = sweep_of(rows)
        started = time.perf_counter()
        store.write_sweep(sweep, status)
        spent.append(time.perf_counter() - started)
    return spent


def summary(spent: list[float]) -> str:
    ms = sorted(value * 1000 for value in spent)
    return f"median {statistics.median(ms):.1f} ms (range {ms[0]:.1f}-{ms[-1]:.1f} ms, {len(ms)} sweeps)"


def measure_size(args: argparse.Namespace, work: Path) -> None:
    path = work / "store.sqlite"
    store = SqliteStore(path, UTC)
    samples = 0
    started = time.monotonic()
    for rows in store_data.sweep_rows(args.hosts, store_data.sweep_times(args.days), args.pool_sizes):
        sweep, status = sweep_of(rows, rtt=not args.no_rtt)
        store.write_sweep(sweep, status)
        samples += len(rows)
    open_bytes = on_disk(path)
    store.close()
    closed = on_disk(path)
    print(
        f"size: {samples:,} samples of {args.hosts:,} hosts ({args.pool_sizes} pools), {args.days:g} day(s), "
        f"{'no RTTs' if args.no_rtt else 'with RTTs'}, written in {time.monotonic() - started:.0f} s: "
        f"{open_bytes / samples:.2f} bytes/sample open (file + WAL {open_bytes / 1e6:.1f} MB), "
        f"{closed / samples:.2f} closed ({closed / 1e6:.1f} MB)"
    )


def measure_write(args: argparse.Namespace, work: Path) -> None:
    path = work / "store.sqlite"
    store = SqliteStore(path, UTC)
    first = store_data.sweep_times(args.sweeps / 288 + 0.001)[: args.sweeps]
    empty = timed_writes(store, args.hosts, first, args.pool_sizes)
    print(f"write {args.hosts:,} hosts, empty store: {summary(empty)}")
    load_from = int(first[-1]) + store_data.INTERVAL_S
    loaded = store_data.sweep_times(args.days, load_from)
    started = time.monotonic()
    if args.load_order == "host":
        count = store.write_samples(store_data.host_rows(args.hosts, loaded, args.pool_sizes))
    else:
        count = store.write_samples(
            row for rows in store_data.sweep_rows(args.hosts, loaded, args.pool_sizes) for row in rows
        )
    store.close()
    spent = time.monotonic() - started
    print(f"loaded {count:,} samples ({args.days:g} days) in {spent:.0f} s: {on_disk(path) / 1e9:.2f} GB")
    store = SqliteStore(path, UTC)
    after = store_data.sweep_times(args.sweeps / 288 + 0.001, int(loaded[-1]) + store_data.INTERVAL_S)[: args.sweeps]
    full = timed_writes(store, args.hosts, after, args.pool_sizes)
    store.close()
    print(f"write {args.hosts:,} hosts, {args.days:g} days stored: {summary(full)}")


def measure_view(args: argparse.Namespace, work: Path) -> None:
    """Queries of ``ping`` as an analyst writes them, on DAYS days of HOSTS hosts (any schema)."""
    path = work / "store.sqlite"
    store = SqliteStore(path, UTC)
    times = store_data.sweep_times(args.days)
    store.write_samples(row for rows in store_data.sweep_rows(args.hosts, times, args.pool_sizes) for row in rows)
    store.close()
    first, last = int(times[0]), int(times[0]) + 86_400
    layout = store_data.pools(args.hosts, args.pool_sizes)
    pool, members = layout[3]
    host = store_data.host_name(members[0])
    queries = [
        ("one host, one day", "SELECT * FROM ping WHERE host = ? AND time >= ? AND time < ?", (host, first, last)),
        (
            "one host and its pool, one day",
            "SELECT * FROM ping WHERE host = ? AND pool = ? AND time >= ? AND time < ?",
            (host, pool, first, last),
        ),
        (
            f"one pool ({len(members)} hosts), one day",
            "SELECT * FROM ping WHERE pool = ? AND time >= ? AND time < ?",
            (pool, first, last),
        ),
        ("every sample of one day", "SELECT count(*), sum(up) FROM ping WHERE time >= ? AND time < ?", (first, last)),
    ]
    db = sqlite3.connect(path)
    print(
        f"view: {args.hosts:,} hosts ({args.pool_sizes} pools), {args.days:g} days stored, {on_disk(path) / 1e6:.0f} MB"
    )
    for label, query, parameters in queries:
        spent = []
        for _ in range(3 if "every" in label else 7):
            started = time.perf_counter()
            found = db.execute(query, parameters).fetchall()
            spent.append(time.perf_counter() - started)
        print(f"  {label}: median {statistics.median(spent) * 1000:,.1f} ms ({len(found)} rows)")
    db.close()


def measure_overflow(args: argparse.Namespace, work: Path) -> None:
    """Why rows hold at most 256 hosts: one pool of HOSTS hosts (default 2,000) packed into one row per
    sweep, or into one row per 256 hosts, in a table keyed as ``sweeps`` is; bytes per sample and overflow pages."""
    hosts = args.hosts
    rng = np.random.default_rng(3)
    for label, per_row in (("one row per sweep", hosts), ("one row per 256 hosts", 256)):
        path = work / f"{per_row}.sqlite"
        db = sqlite3.connect(path, isolation_level=None)
        db.execute(
            "CREATE TABLE sweeps (time INTEGER NOT NULL, pool INTEGER NOT NULL, part INTEGER NOT NULL, "
            "up BLOB NOT NULL, rtt BLOB, PRIMARY KEY (time, pool, part)) WITHOUT ROWID"
        )
        db.execute("BEGIN")
        for sweep in range(2000):
            up = rng.random(hosts) < 0.45
            for part, first in enumerate(range(0, hosts, per_row)):
                chunk = up[first : first + per_row]
                codes = rng.integers(10, 200, int(chunk.sum())).astype(">u2").tobytes()
                bits = np.packbits(chunk, bitorder="little").tobytes()
                db.execute("INSERT INTO sweeps VALUES (?, 1, ?, ?, ?)", (sweep * 300, part, bits, codes))
        db.execute("COMMIT")
        overflow = db.execute("SELECT count(*) FROM dbstat WHERE name = 'sweeps' AND pagetype = 'overflow'").fetchone()[
            0
        ]
        db.close()
        size = on_disk(path) / (2000 * hosts)
        print(f"overflow, {hosts:,}-host pool, {label}: {size:.2f} bytes/sample, {overflow:,} overflow pages")


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.store_bench")
    parser.add_argument("what", choices=("size", "write", "view", "overflow"))
    parser.add_argument("--hosts", type=int)
    parser.add_argument("--days", type=float)
    parser.add_argument("--pool-sizes", default="mixed", help="mixed (20 to 60 hosts, 40 on average) or a number")
    parser.add_argument("--no-rtt", action="store_true", help="size: store no round-trip times")
    parser.add_argument("--sweeps", type=int, default=21, help="write: sweeps timed on each store")
    parser.add_argument("--load-order", choices=("sweep", "host"), default="sweep")
    parser.add_argument("--dir", type=Path, help="where to build the store (default: a temporary directory)")
    args = parser.parse_args()
    args.hosts = args.hosts or {"write": 16_382, "overflow": 2_000}.get(args.what, 10_000)
    args.days = args.days if args.days is not None else {"write": 30.0, "view": 2.0}.get(args.what, 1.0)
    print(
        f"# store benchmark, {time.strftime('%Y-%m-%d')}, {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )
    with tempfile.TemporaryDirectory(dir=args.dir) as work_dir:
        measure = {"size": measure_size, "write": measure_write, "view": measure_view, "overflow": measure_overflow}
        measure[args.what](args, Path(work_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
