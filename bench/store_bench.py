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

Usage: python -m bench.store_bench size [--hosts 10000] [--days 1] [--pool-sizes mixed|N] [--no-rtt]
       python -m bench.store_bench write [--hosts 16382] [--days 30] [--sweeps 21] [--load-order sweep|host]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

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


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.store_bench")
    parser.add_argument("what", choices=("size", "write"))
    parser.add_argument("--hosts", type=int)
    parser.add_argument("--days", type=float)
    parser.add_argument("--pool-sizes", default="mixed", help="mixed (20 to 60 hosts, 40 on average) or a number")
    parser.add_argument("--no-rtt", action="store_true", help="size: store no round-trip times")
    parser.add_argument("--sweeps", type=int, default=21, help="write: sweeps timed on each store")
    parser.add_argument("--load-order", choices=("sweep", "host"), default="sweep")
    parser.add_argument("--dir", type=Path, help="where to build the store (default: a temporary directory)")
    args = parser.parse_args()
    args.hosts = args.hosts or (10_000 if args.what == "size" else 16_382)
    args.days = args.days if args.days is not None else (1.0 if args.what == "size" else 30.0)
    print(
        f"# store benchmark, {time.strftime('%Y-%m-%d')}, {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )
    with tempfile.TemporaryDirectory(dir=args.dir) as work_dir:
        (measure_size if args.what == "size" else measure_write)(args, Path(work_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
