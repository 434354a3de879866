"""Import benchmark: `pinger import` of a large line-protocol file into a fresh SQLite store.

Generates LINES ordinary ``ping`` lines (``ping,host=10.0.3.7,pool=A101 up=1i,rtt_ms=0.251 <ns>``:
HOSTS hosts of one pool, one line per host per 5-minute sweep, about two thirds of them up) in a
temporary directory with a config (timezone UTC, the SQLite store in the same directory, one pool
of exactly the generated hosts), compiles Pinger's bytecode (as a regular install does), then times
``python -m pinger import -c CONFIG FILE --precision ns`` in a separate process, ``--repeat`` times
(a fresh store each time), and reports the median lines/s, wall time, CPU time and peak RSS.
With --careful it also times the same import forced onto the careful character-by-character
parser (the only parser before the fast path existed), for comparison. Pings nothing.

Usage: python -m bench.import_bench [LINES] [--hosts N] [--order sweep|series] [--careful] [--repeat 3]
       (default 3000000 lines, 10000 hosts, sweep order)
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.support import ROOT

FIRST_SWEEP = int(dt.datetime(2026, 6, 1, tzinfo=dt.UTC).timestamp())
INTERVAL_S = 300

# The careful path: the same command with the import's fast parser switched off in the process.
CAREFUL = (
    "import sys; import pinger.ingestion.import_lines as lp; lp.FAST_PATH = False; "
    "from pinger.cli import main; sys.exit(main(sys.argv[1:]))"
)


def generate(path: Path, lines: int, hosts: int, order: str) -> int:
    """Write the line-protocol file; return its size in bytes. ``order``: "sweep" (a sweep of every
    host after another, as the collector writes) or "series" (every sweep of one host, then the next
    host, as InfluxDB exports). Round-trip times have the collector's 3 decimals, 2,000 distinct ones."""
    names = [host_address(i) for i in range(1, hosts + 1)]
    sweeps = -(-lines // hosts)

    def line(i: int, sweep: int) -> str:
        stamp = (FIRST_SWEEP + sweep * INTERVAL_S) * 1_000_000_000
        if (i * 7 + sweep) % 3 == 0:
            return f"ping,host={names[i]},pool=A101 up=0i {stamp}\n"
        rtt = 100 + (i * 7919 + sweep * 104_729) % 2000  # microseconds
        return f"ping,host={names[i]},pool=A101 up=1i,rtt_ms={rtt // 1000}.{rtt % 1000:03d} {stamp}\n"

    if order == "sweep":
        keys = ((i, sweep) for sweep in range(sweeps) for i in range(hosts))
    else:
        keys = ((i, sweep) for i in range(hosts) for sweep in range(sweeps))
    with path.open("w", encoding="utf-8") as out:
        batch: list[str] = []
        for count, (i, sweep) in enumerate(keys):
            if count == lines:
                break
            batch.append(line(i, sweep))
            if len(batch) == 100_000:
                out.write("".join(batch))
                batch.clear()
        out.write("".join(batch))
    return path.stat().st_size


def host_address(number: int) -> str:
    """The generated host number (1-based): 10.0.{number >> 8}.{number & 255}."""
    return f"10.0.{number >> 8}.{number & 255}"


def write_config(work: Path, hosts: int) -> Path:
    config = work / "bench.yaml"
    config.write_text(
        "\n".join(
            [
                "timezone: UTC",
                "interval: 5m",
                f"storage: {{path: {work / 'store.sqlite'}}}",
                "pools:",
                f"  - {{name: A101, watts: 80, hosts: [10.0.0.1-{host_address(hosts)}]}}",
            ]
        )
        + "\n"
    )
    return config


def run_child(argv: list[str]) -> tuple[int, float, float, float, str]:
    """Run a command in a child process: (exit code, wall s, CPU s, peak RSS MB, stderr), from the
    child's own resource usage (os.wait4)."""
    started = time.monotonic()
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
    assert child.stderr is not None
    errors = child.stderr.read().decode(errors="replace")
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - started
    return child.returncode, wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, errors


def timed_import(label: str, argv: list[str], lines: int, work: Path, repeat: int) -> bool:
    """Run the import ``repeat`` times, each into a fresh store, and print the median figures."""
    runs = []
    for _ in range(repeat):
        for extra in ("", "-wal", "-shm"):
            (work / f"store.sqlite{extra}").unlink(missing_ok=True)
        code, wall, cpu, rss, errors = run_child(argv)
        if code != 0:
            print(f"{label}: exit {code}\n{errors[-3000:]}")
            return False
        runs.append((wall, cpu, rss))
    wall = statistics.median(run[0] for run in runs)
    cpu = statistics.median(run[1] for run in runs)
    print(
        f"{label}, median of {repeat}: {lines / wall:,.0f} lines/s, wall {wall:.2f} s "
        f"(range {min(run[0] for run in runs):.2f}-{max(run[0] for run in runs):.2f}), CPU {cpu:.2f} s "
        f"({lines / cpu:,.0f} lines per CPU second), peak RSS {max(run[2] for run in runs):.0f} MB"
    )
    return True


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.import_bench")
    parser.add_argument("lines", nargs="?", type=int, default=3_000_000)
    parser.add_argument("--hosts", type=int, default=10_000, help="hosts per sweep (at most 65534)")
    parser.add_argument(
        "--order",
        choices=("sweep", "series"),
        default="sweep",
        help="sweep: a sweep of all hosts after another (the collector's order, default); "
        "series: all sweeps of one host after another (InfluxDB's export order)",
    )
    parser.add_argument("--careful", action="store_true", help="also time the careful-parser-only path")
    parser.add_argument("--repeat", type=int, default=3, help="imports timed (median reported)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work_dir:
        work = Path(work_dir)
        config = write_config(work, args.hosts)
        samples = work / "samples.lp"
        built = time.monotonic()
        size = generate(samples, args.lines, args.hosts, args.order)
        print(
            f"# import benchmark, {time.strftime('%Y-%m-%d')}, {platform.machine()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}"
        )
        print(
            f"file: {args.lines:,} lines ({size / 1e6:.0f} MB) of {args.hosts:,} hosts in {args.order} order, "
            f"generated in {time.monotonic() - built:.1f} s"
        )
        command = ["import", "-c", str(config), str(samples), "--precision", "ns"]
        subprocess.run([sys.executable, "-m", "compileall", "-q", "pinger"], cwd=ROOT, check=True)
        if not timed_import("import", [sys.executable, "-m", "pinger", *command], args.lines, work, args.repeat):
            return 1
        if args.careful:
            careful = [sys.executable, "-c", CAREFUL, *command]
            if not timed_import("import, careful parser only", careful, args.lines, work, 1):
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
