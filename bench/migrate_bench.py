"""Migration benchmark: a large schema-2 store (samples one row each) migrated to schema 3 (packed).

Writes a schema-2 file as the release before schema 3 did (its tables, declared as they are now,
``PRAGMA user_version = 2``): HOSTS hosts in pools of 20 to 60 over DAYS days at 5-minute sweeps,
the synthetic samples of ``bench/store_data.py`` in the old ``(host, time)`` key order, one
``pool_status`` row per pool and sweep and one ``collector`` row per sweep. Then opens it with the
current store in a child process, which migrates it, and reports the time, the sizes before and
after, the largest size the new file reached beside the old one (sampled every 0.2 s), the child's
peak RSS, and checks the sample count through the ``ping`` view. Pings nothing.

Usage: python -m bench.migrate_bench [--hosts 10000] [--days 30] [--dir DIR]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import store_data
from pinger.schema import ALL
from pinger.store.tables import create_table_sql
from tests.support import ROOT

CHILD = """
import logging, sys
from pathlib import Path
from zoneinfo import ZoneInfo
logging.basicConfig(level=logging.INFO, format="%(message)s")
from pinger.store.sqlite import SqliteStore
SqliteStore(Path(sys.argv[1]), ZoneInfo("UTC")).close()
"""


def build(path: Path, hosts: int, days: float) -> int:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    db.execute("BEGIN")
    for measurement in ALL:
        db.execute(create_table_sql(measurement))
    db.execute("PRAGMA user_version = 2")
    times = store_data.sweep_times(days)
    count = 0
    batch: list[tuple] = []
    for row in store_data.host_rows(hosts, times, "mixed"):
        batch.append(row)
        if len(batch) == 500_000:
            db.executemany("INSERT INTO ping VALUES (?, ?, ?, ?, ?)", batch)
            count += len(batch)
            batch.clear()
    db.executemany("INSERT INTO ping VALUES (?, ?, ?, ?, ?)", batch)
    count += len(batch)
    layout = store_data.pools(hosts, "mixed")
    db.executemany(
        "INSERT INTO pool_status VALUES (?, ?, ?, ?)",
        ((int(t), name, len(members) // 2, len(members)) for name, members in layout for t in times),
    )
    db.executemany(
        "INSERT INTO collector VALUES (?, 'bench', ?, ?, 1.0, 0, 0)", ((int(t), hosts, hosts // 2) for t in times)
    )
    db.execute("COMMIT")
    db.close()
    return count


def on_disk(path: Path) -> int:
    return sum(Path(f"{path}{suffix}").stat().st_size for suffix in ("", "-wal") if Path(f"{path}{suffix}").exists())


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.migrate_bench")
    parser.add_argument("--hosts", type=int, default=10_000)
    parser.add_argument("--days", type=float, default=30.0)
    parser.add_argument("--dir", type=Path, help="where to build the store (default: a temporary directory)")
    args = parser.parse_args()
    print(
        f"# migration benchmark, {time.strftime('%Y-%m-%d')}, {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )
    with tempfile.TemporaryDirectory(dir=args.dir) as work_dir:
        path = Path(work_dir) / "store.sqlite"
        started = time.monotonic()
        samples = build(path, args.hosts, args.days)
        before = on_disk(path)
        print(
            f"schema 2: {samples:,} samples of {args.hosts:,} hosts, {args.days:g} days, built in "
            f"{time.monotonic() - started:.0f} s: {before / 1e6:,.0f} MB ({before / samples:.1f} bytes/sample)"
        )
        subprocess.run([sys.executable, "-m", "compileall", "-q", "pinger"], cwd=ROOT, check=True)
        target = Path(f"{path}.schema3")
        largest = 0
        started = time.monotonic()
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(path)], cwd=ROOT, stderr=subprocess.PIPE, text=True)
        while child.poll() is None:
            if target.exists():
                largest = max(largest, target.stat().st_size)
            time.sleep(0.2)
        wall = time.monotonic() - started
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        assert child.stderr is not None
        log = child.stderr.read()
        if child.returncode != 0:
            print(log[-3000:])
            return 1
        after = on_disk(path)
        db = sqlite3.connect(path)
        first_day = (int(store_data.EPOCH) + 86_400,)
        viewed = db.execute("SELECT count(*) FROM ping WHERE time < ?", first_day).fetchone()[0]
        version = db.execute("PRAGMA user_version").fetchone()[0]
        db.close()
        print(
            f"migrated to schema {version} in {wall:.0f} s ({samples / wall:,.0f} samples/s): "
            f"{before / 1e6:,.0f} MB -> {after / 1e6:,.0f} MB ({after / samples:.2f} bytes/sample); "
            f"the new file beside the old one reached {largest / 1e6:,.0f} MB ({largest / before:.1%} of the old file)"
        )
        expected = args.hosts * 288
        print(f"first day through the ping view: {viewed:,} samples (expected {expected:,}); peak RSS {peak:.0f} MB")
        print("log: " + " | ".join(line for line in log.splitlines() if "migrat" in line or "complete" in line))
    return 0


if __name__ == "__main__":
    sys.exit(main())
