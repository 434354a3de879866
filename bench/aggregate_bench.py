"""Aggregation benchmark: one synthetic day of 10,000 PCs at 5-minute sweeps on the embedded store.

Writes 10,000 hosts × 288 sweeps (plus the neighbouring samples that decide the day's edges)
into a fresh SQLite store through ``SqliteStore.write_samples`` (so it runs on any schema), then
times `aggregate` of that day in a separate process and reports wall time, CPU time and peak RSS.
``--repeat N`` times it N times on the same store and reports the median. Pings nothing.

Usage: python -m bench.aggregate_bench [HOSTS] [DAYS] [--repeat 5]     (default 10000 1)
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import platform
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.support import ROOT

DAY = dt.date(2026, 11, 2)
POOL_SIZE = 250


def build(work: Path, hosts: int, days: int) -> Path:
    pools = []
    for pool_index in range(0, hosts, POOL_SIZE):
        count = min(POOL_SIZE, hosts - pool_index)
        first = 0x0A000000 + pool_index * 2 + 1  # 10.0.0.1 onwards, leaving gaps between pools
        first_text = ".".join(str(first >> s & 255) for s in (24, 16, 8, 0))
        last = first + count - 1
        last_text = ".".join(str(last >> s & 255) for s in (24, 16, 8, 0))
        pools.append((f"P{pool_index // POOL_SIZE:03d}", first, count, f"{first_text}-{last_text}"))
    config = work / "bench.yaml"
    config.write_text(
        "\n".join(
            ["timezone: Europe/Berlin", "interval: 5m", f"storage: {{path: {work / 'store.sqlite'}}}", "pools:"]
            + [
                f"  - {{name: {name}, watts: 80, standby_watts: 1, open: {{mon-fri: '08:00-20:00'}}, hosts: [{spec}]}}"
                for name, _, _, spec in pools
            ]
        )
        + "\n"
    )

    from pinger.store.sqlite import SqliteStore

    start = int(dt.datetime.combine(DAY, dt.time(0), tzinfo=dt.timezone(dt.timedelta(hours=1))).timestamp())
    times = range(start - 300, start + days * 86400 + 600, 300)
    rng = random.Random(7)
    hosts = []
    for name, first, count, _ in pools:
        for offset in range(count):
            address = first + offset
            host = ".".join(str(address >> s & 255) for s in (24, 16, 8, 0))
            hosts.append((name, host, rng.randrange(0, 86400), rng.randrange(0, 86400)))

    def samples():  # a sweep after another, as the collector writes them
        for t in times:
            second = (t - start) % 86400
            for name, host, on_from, on_to in hosts:
                up = on_from <= second < on_to
                yield (t, name, host, int(up), 0.3 if up else None)

    store = SqliteStore(work / "store.sqlite", ZoneInfo("Europe/Berlin"))  # any schema: through the store
    store.write_samples(samples())
    store.close()
    return config


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.aggregate_bench")
    parser.add_argument("hosts", nargs="?", type=int, default=10_000)
    parser.add_argument("days", nargs="?", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=5, help="runs of the aggregation (median reported)")
    args = parser.parse_args()
    hosts, days = args.hosts, args.days
    with tempfile.TemporaryDirectory() as work_dir:
        work = Path(work_dir)
        built = time.monotonic()
        config = build(work, hosts, days)
        with contextlib.closing(sqlite3.connect(work / "store.sqlite")) as db:
            samples = db.execute("SELECT count(*) FROM ping").fetchone()[0]
        print(
            f"# aggregate benchmark, {time.strftime('%Y-%m-%d')}, {platform.machine()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}"
        )
        print(
            f"store: {samples:,} samples of {hosts:,} hosts, {days} day(s), built in {time.monotonic() - built:.1f} s"
        )
        last = DAY + dt.timedelta(days=days - 1)
        walls, cpus = [], []
        for _ in range(args.repeat):
            started = time.monotonic()
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            result = subprocess.run(
                [sys.executable, "-m", "pinger", "aggregate", "-c", str(config), "--from", str(DAY), "--to", str(last)],
                capture_output=True,
                text=True,
                cwd=ROOT,
            )
            walls.append(time.monotonic() - started)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            if result.returncode != 0:
                print(result.stderr)
                return 1
            cpus.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
        wall, cpu = statistics.median(walls), statistics.median(cpus)
        print(
            f"aggregate {days} day(s), median of {args.repeat}: wall {wall:.2f} s (range {min(walls):.2f}-"
            f"{max(walls):.2f}), CPU {cpu:.2f} s, peak RSS {after.ru_maxrss / 1024:.0f} MB, "
            f"{samples / wall / 1e6:.2f} M samples/s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
