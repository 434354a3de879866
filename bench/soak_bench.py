"""Collector soak: `pinger collect` over many hosts at a short interval, its memory and CPU per sweep over time.

Builds the sealed lab (tests/support/lab.py) with HOSTS addresses, half of them on, in pools of 40,
optionally fills the SQLite store first with DAYS days of synthetic samples of the same hosts
(``bench/store_data.py``, written as the collector would have), then runs ``pinger collect``
inside the lab for MINUTES minutes at a 5 s interval. After every sweep (its log line) it reads the
process's CPU time and resident memory from /proc, and reports the CPU per sweep and the RSS for
the first and the last tenth of the sweeps (medians), so that growth with time or with the store
shows. Needs root; pings only the lab.

Usage: python -m bench.soak_bench [--hosts 16382] [--minutes 10] [--days 0] [--dir DIR]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from bench import store_data
from tests.support import ROOT
from tests.support.lab import Lab, can_build_labs

POOL_SIZE = 40
TICKS = os.sysconf("SC_CLK_TCK")


def config_text(addresses: list[str], store: Path) -> str:
    lines = [
        "timezone: UTC",
        "interval: 5s",
        "collector: {name: soak}",
        "ping: {timeout: 1s, retries: 0, rate: 1000000}",
        "allow: [10.199.0.0/16]",
        f"storage: {{path: {store}}}",
        "pools:",
    ]
    for first in range(0, len(addresses), POOL_SIZE):
        chunk = addresses[first : first + POOL_SIZE]
        lines.append(f"  - {{name: S{first // POOL_SIZE:04d}, watts: 80, hosts: [{chunk[0]}-{chunk[-1]}]}}")
    return "\n".join(lines) + "\n"


def prefill(store: Path, addresses: list[str], days: float) -> int:
    """DAYS days of samples of these hosts ending before now, a sweep at a time through write_samples."""
    from pinger.store.sqlite import SqliteStore

    end = int(time.time()) // 300 * 300 - 300
    times = np.arange(end - int(days * 86_400), end, 300, dtype=np.int64)
    pools = [f"S{index // POOL_SIZE:04d}" for index in range(len(addresses))]
    indexes = np.arange(len(addresses))

    def rows():
        for start in range(0, len(times), 288):
            chunk = times[start : start + 288]
            up, rtt = store_data.states(indexes, chunk)
            for row, when in enumerate(chunk.tolist()):
                ups, rtts = up[row].tolist(), rtt[row].tolist()
                for index, address in enumerate(addresses):
                    yield (
                        (when, pools[index], address, 1, rtts[index])
                        if ups[index]
                        else (when, pools[index], address, 0, None)
                    )

    sqlite = SqliteStore(store, ZoneInfo("UTC"))
    try:
        return sqlite.write_samples(rows())
    finally:
        sqlite.close()


def sample_process(pid: int) -> tuple[float, float]:
    """(CPU seconds so far, resident MB) of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / TICKS
    rss = next(
        int(line.split()[1])
        for line in Path(f"/proc/{pid}/status").read_text().splitlines()
        if line.startswith("VmRSS:")
    )
    return cpu, rss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak_bench")
    parser.add_argument("--hosts", type=int, default=16_382)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--days", type=float, default=0.0, help="days of samples stored before the soak")
    parser.add_argument("--dir", type=Path, help="where to put the store (default: a temporary directory)")
    args = parser.parse_args()
    reason = can_build_labs()
    if reason:
        print(f"soak benchmark needs the lab: {reason}")
        return 1
    print(
        f"# collector soak, {time.strftime('%Y-%m-%d')}, {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )
    subprocess.run([sys.executable, "-m", "compileall", "-q", "pinger"], cwd=ROOT, check=True)
    with tempfile.TemporaryDirectory(dir=args.dir) as work_dir, Lab() as lab:
        work = Path(work_dir)
        addresses = [lab.address(index) for index in range(args.hosts)]
        lab.switch_on(addresses[::2])
        store = work / "store.sqlite"
        if args.days:
            started = time.monotonic()
            count = prefill(store, addresses, args.days)
            print(f"store filled with {count:,} samples ({args.days:g} days) in {time.monotonic() - started:.0f} s")
        config = work / "soak.yaml"
        config.write_text(config_text(addresses, store))
        log = (work / "collect.log").open("w+")
        collector = lab.popen(
            [sys.executable, "-m", "pinger", "collect", "-c", str(config)], stdout=log, stderr=log, cwd=ROOT
        )
        readings: list[tuple[float, float, float]] = []
        seen = 0
        deadline = time.monotonic() + args.minutes * 60
        try:
            while time.monotonic() < deadline and collector.poll() is None:
                time.sleep(0.5)
                log.seek(0)
                sweeps = sum(1 for line in log if "hosts on," in line)
                if sweeps > seen:
                    seen = sweeps
                    readings.append((time.monotonic(), *sample_process(collector.pid)))
        finally:
            collector.terminate()
            collector.wait(timeout=60)
        log.seek(0)
        lines = log.read().splitlines()
        if len(readings) < 6:
            print("too few sweeps:\n" + "\n".join(lines[-20:]))
            return 1
        cpu = [later[1] - earlier[1] for earlier, later in zip(readings, readings[1:], strict=False)]
        tenth = max(len(cpu) // 10, 3)
        rss = [reading[2] for reading in readings]
        size = sum(path.stat().st_size for path in work.glob("store.sqlite*")) / 1e6
        print(
            f"{args.hosts:,} hosts in pools of {POOL_SIZE}, 5 s interval, {len(readings)} sweeps in "
            f"{args.minutes:g} min, store {size:,.0f} MB at the end"
        )
        print(
            f"CPU per sweep (sweep + write), median: first tenth {statistics.median(cpu[:tenth]) * 1000:.0f} ms, "
            f"last tenth {statistics.median(cpu[-tenth:]) * 1000:.0f} ms"
        )
        print(
            f"RSS: first tenth {statistics.median(rss[:tenth]):.0f} MB, "
            f"last tenth {statistics.median(rss[-tenth:]):.0f} MB, peak {max(rss):.0f} MB"
        )
        late = [line for line in lines if "waiting to be written" in line or "skipped" in line]
        print(f"sweeps late or waiting: {len(late)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
