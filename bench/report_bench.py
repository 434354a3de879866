"""Report benchmark: `pinger report` over 40 pools × 365 days of synthetic pool_daily rows on the embedded store.

Writes the rows of a synthetic study (reporting/simulate.py: 20 treated pools, 20 controls, a known
effect of -1 h per PC and day) into a fresh SQLite store, then times `pinger report` in a separate
process for each format, the process's start-up and imports included. Pings nothing.

Usage: python -m bench.report_bench [POOLS] [WEEKS]     (default 40 52: 364 days)
"""

from __future__ import annotations

import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from pinger.reporting.simulate import synthetic_study
from pinger.store.sqlite import SqliteStore
from tests.support import ROOT, pinger_command


def build(work: Path, pools: int, weeks: int) -> tuple[Path, str, str]:
    study = synthetic_study(
        pools=pools, treated=pools // 2, weeks_before=weeks // 2, weeks_after=weeks - weeks // 2, seed=1
    )
    lines = ["timezone: UTC", f"storage: {{path: {work / 'store.sqlite'}}}", "pools:"]
    for index, pool in enumerate(study.pools):  # addresses only name the PCs here: nothing is pinged
        lines.append(
            f"  - {{name: {pool.name}, watts: 80, open: {{mon-fri: '08:00-20:00'}}, "
            f"hosts: [10.{index}.0.1-10.{index}.0.{len(pool.hosts)}]}}"
        )
    lines += ["study:", "  phases:"]
    for phase in study.study.phases:
        end = f", end: {phase.end}" if phase.end else ""
        pools = f", pools: [{', '.join(sorted(phase.pools))}]" if phase.pools is not None else ""
        lines.append(f"    - {{name: {phase.name}, start: {phase.start}{end}{pools}}}")
    config = work / "bench.yaml"
    config.write_text("\n".join(lines) + "\n")
    store = SqliteStore(work / "store.sqlite", ZoneInfo("UTC"), "create")
    try:
        store.write_days([], study.rows)
    finally:
        store.close()
    return config, str(study.first), str(study.last)


def main() -> None:
    pools = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    weeks = int(sys.argv[2]) if len(sys.argv) > 2 else 52
    print(
        f"report benchmark: {pools} pools × {weeks * 7} days; {platform.python_implementation()} "
        f"{platform.python_version()}"
    )
    with tempfile.TemporaryDirectory(prefix="pinger-report-bench-") as name:
        config, first, last = build(Path(name), pools, weeks)
        for report_format in ("md", "json", "csv", "html"):
            times = []
            for _ in range(3):
                started = time.perf_counter()
                done = subprocess.run(
                    pinger_command(
                        "report",
                        "-c",
                        str(config),
                        "--from",
                        first,
                        "--to",
                        last,
                        "--format",
                        report_format,
                        "-o",
                        str(Path(name) / "out"),
                    ),
                    cwd=ROOT,
                    capture_output=True,
                    text=True,
                )
                times.append(time.perf_counter() - started)
                if done.returncode != 0:
                    raise SystemExit(done.stderr)
            size = (Path(name) / "out").stat().st_size
            print(f"  --format {report_format:<4}  best {min(times):.2f} s, worst {max(times):.2f} s  ({size:,} bytes)")


if __name__ == "__main__":
    main()
