"""Legacy import benchmark: `pinger import-legacy` of a large synthetic dump of the first system.

Writes a ``dumpdata --indent 2`` fixture of COMPUTERS computers in pools of 50 over DAYS days (each
PC-day 0 to 3 sessions at the first system's 5-minute pings, sessions past midnight split there as
the first system does, the last session of each PC still open), records in dumpdata's order (pools,
computers, computer days, intervals, each by pk). Then, in one child process, runs the import's
steps as `pinger import-legacy` does and times each: reading and checking the dump, writing the
samples into a fresh SQLite store (committed; then closing it, which checkpoints its WAL),
aggregating the imported days; and reports samples/s of the write, the store's size and the
child's peak RSS.
With --read-only it stops after reading and checking (for dumps whose history would take long
to write). Pings nothing.

Usage: python -m bench.legacy_bench [--computers 10000] [--days 14] [--read-only]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.support import ROOT

FIRST_DAY = dt.date(2026, 1, 5)
PING_S = 300
PHASE_S = 37  # the first system's pings run at :00:37, :05:37, ... (celery beat is not clock-aligned)
DAY_S = 86_400


def first_day_of(days: int) -> dt.date:
    """FIRST_DAY, or earlier where the dump would reach into the future (the import refuses instants more
    than a day ahead of the clock)."""
    return min(FIRST_DAY, dt.date.today() - dt.timedelta(days=days + 2))


def _iso(seconds: float) -> str:
    whole = int(seconds)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{int(round((seconds - whole) * 1000)):03d}Z"


def _sessions(computer: int, day: int) -> list[tuple[float, float]]:
    """One PC-day's sessions at ping instants (seconds of the day, the end may pass midnight)."""
    rng = random.Random(computer * 100_003 + day)
    found = []
    at = 7 * 3600 + rng.randrange(0, 3 * 3600)
    for _ in range(rng.choice((0, 1, 1, 2, 2, 3))):
        start = at // PING_S * PING_S + PHASE_S + rng.randrange(0, 900) / 1000
        end = start + rng.randrange(2, 60) * PING_S
        if end >= 2 * DAY_S - 1:
            break
        found.append((start, end))
        at = int(end) + rng.randrange(1, 12) * PING_S
    return found


def _record(model: str, pk: int, fields: str) -> str:
    return f'{{\n  "model": "pingerservice.{model}",\n  "pk": {pk},\n  "fields": {{\n{fields}\n  }}\n}}'


def generate(path: Path, computers: int, days: int) -> tuple[int, int]:
    """Write the fixture; return (computer days, intervals)."""
    first_day = first_day_of(days)
    base = int(dt.datetime.combine(first_day, dt.time(), dt.UTC).timestamp())
    pools = -(-computers // 50)

    def pieces() -> list[tuple[int, int, float, float | None]]:
        """(computer, utc day, start, end) of every interval piece, in the order the first system made them."""
        made = []
        for day in range(days):
            for computer in range(computers):
                for start, end in _sessions(computer, day):
                    absolute_start, absolute_end = base + day * DAY_S + start, base + day * DAY_S + end
                    midnight = base + (day + 1) * DAY_S
                    if absolute_end > midnight:  # split: closed 23:59:59, reopened 00:00:00
                        made.append((computer, day, absolute_start, midnight - 1))
                        made.append((computer, day + 1, midnight, absolute_end))
                    else:
                        made.append((computer, day, absolute_start, absolute_end))
        return made

    made = pieces()
    last_of: dict[int, int] = {}
    for index, (computer, _, _, _) in enumerate(made):
        last_of[computer] = index
    still_open = set(last_of.values())
    day_pks: dict[tuple[int, int], int] = {}
    for computer, day, _, _ in made:
        day_pks.setdefault((computer, day), len(day_pks) + 1)
    with path.open("w", encoding="utf-8") as out:
        out.write("[\n")
        parts = []
        for pool in range(pools):
            parts.append(
                _record(
                    "pool",
                    pool + 1,
                    f'    "room_no": "R{pool:04d}",\n    "keyboard_layout": "DE",\n'
                    f'    "printer": false,\n    "pc_power_consumption": 80',
                )
            )
        for computer in range(computers):
            parts.append(
                _record(
                    "computer",
                    computer + 1,
                    f'    "pool": {computer // 50 + 1},\n'
                    f'    "ip": "10.{computer >> 16}.{(computer >> 8) & 255}.'
                    f'{computer & 255}"',
                )
            )
        out.write(",\n".join(parts))
        for (computer, day), pk in day_pks.items():
            date = (first_day + dt.timedelta(days=day)).isoformat()
            out.write(
                ",\n"
                + _record(
                    "computerday",
                    pk,
                    f'    "computer": {computer + 1},\n    "date": "{date}",\n    "duration": "01:00:00"',
                )
            )
        for index, (computer, day, start, end) in enumerate(made):
            end_text = "null" if index in still_open else json.dumps(_iso(end))
            out.write(
                ",\n"
                + _record(
                    "interval",
                    index + 1,
                    f'    "day": {day_pks[(computer, day)]},\n'
                    f'    "start_time": "{_iso(start)}",\n'
                    f'    "end_time": {end_text}',
                )
            )
        out.write("\n]\n")
    return len(day_pks), len(made)


CHILD = r"""
import json, sys, time
from pathlib import Path
from pinger.config_load import parse_config
from pinger.ingestion.legacy import check_existing_config, scan_dump, _write_packed
from pinger.ingestion.legacy_config import config_text
from pinger.ingestion.legacy_samples import grid_around
from pinger.store import open_history_store
from pinger.aggregator.job import aggregate_days
from pinger.localtime import local_day

dump, work, read_only = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3] == "1"
figures = {}
started = time.monotonic()
scan = scan_dump(dump, work)
figures["read_s"] = time.monotonic() - started
if not read_only:
    text = config_text(scan.pools, source=dump.name, timezone="UTC", interval_s=300,
                       store_path=str(work / "store.sqlite"))
    config = parse_config(text, "bench.yaml", {})
    pool_of = check_existing_config(scan, config)
    grid = grid_around(scan.first_ms, scan.last_ms, 300)
    started = time.monotonic()
    store = open_history_store(config, "create")
    figures["samples"] = _write_packed(store, scan, config, pool_of, grid)[0]
    figures["write_s"] = time.monotonic() - started
    store.close()
    figures["close_s"] = time.monotonic() - started - figures["write_s"]
    figures["store_bytes"] = sum(p.stat().st_size for p in work.glob("store.sqlite*"))
    started = time.monotonic()
    aggregate_days(config, local_day(grid.first, config.timezone), local_day(grid.last, config.timezone))
    figures["aggregate_s"] = time.monotonic() - started
# The high-water mark of this process's own memory: getrusage's ru_maxrss would also count the
# parent's memory at the fork (Linux folds it in at exec), and the parent held the generated dump.
figures["peak_rss_mb"] = next(int(line.split()[1]) for line in open("/proc/self/status")
                              if line.startswith("VmHWM:")) / 1024
print(json.dumps(figures))
"""


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.legacy_bench")
    parser.add_argument("--computers", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--read-only", action="store_true", help="only read and check the dump")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="legacy-bench-", dir=os.environ.get("BENCH_DIR")) as work_dir:
        work = Path(work_dir)
        dump = work / "pingerdump.json"
        built = time.monotonic()
        days, intervals = generate(dump, args.computers, args.days)
        print(
            f"# legacy import benchmark, {time.strftime('%Y-%m-%d')}, {platform.machine()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}"
        )
        print(
            f"dump: {args.computers:,} computers x {args.days} days: {days:,} computer days, "
            f"{intervals:,} intervals, {dump.stat().st_size / 1e6:,.0f} MB, "
            f"generated in {time.monotonic() - built:.0f} s"
        )
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, "-c", CHILD, str(dump), str(work), "1" if args.read_only else "0"],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        wall = time.monotonic() - started
        if result.returncode != 0:
            print(f"exit {result.returncode}\n{result.stderr[-3000:]}")
            return 1
        figures = json.loads(result.stdout.strip().splitlines()[-1])
        print(f"read and check: {figures['read_s']:.1f} s ({intervals / figures['read_s']:,.0f} intervals/s)")
        if not args.read_only:
            samples, write_s = figures["samples"], figures["write_s"]
            print(
                f"write: {samples:,} samples in {write_s:.1f} s (committed): {samples / write_s:,.0f} samples/s; "
                f"closing the store (its WAL checkpoint) {figures['close_s']:.1f} s more"
            )
            print(f"aggregate: {figures['aggregate_s']:.1f} s")
            size = figures["store_bytes"]
            print(f"store: {size / 1e6:,.0f} MB, {size / samples:.2f} bytes/sample")
        print(f"whole child: wall {wall:.1f} s, peak RSS {figures['peak_rss_mb']:.0f} MB (VmHWM)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
