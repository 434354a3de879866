"""Sweep benchmark in the sealed lab: pinger sweep against fping and icmplib.multiping, same run, same hosts.

Builds a lab (tests/support/lab.py) with N hosts, half of them on; the other half are routed to a
neighbour namespace that drops them, so "off" costs a real timeout. Measures whole-process
wall time, CPU time and peak RSS of each tool, and checks that each found exactly the hosts
that are on. Prints ratios against `fping -i0` measured in the same run.

The two tools the 1.2x goal compares (`fping -i0` and `pinger sweep` at full rate) run
--repeat times, alternating, and the table shows their medians with the range beside; the
peers that are only there for context run once. The pinger packages' bytecode is compiled
first, as `pip install` does for a regular install, so that no run pays for compiling them.

Usage: python -m bench.sweep_bench [--repeat R] [N ...]
       (defaults: R = 7, N = 4094 16382; needs root and fping)
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests.support import ROOT
from tests.support.lab import Lab, can_build_labs

ENGINE_CPU = """
import sys, time
from pinger.config_load import load_config
from pinger.collector.engine import ping_addresses
config = load_config(sys.argv[1])
addresses = [host.name for pool in config.pools for host in pool.hosts]
cpu = time.process_time()
outcomes = ping_addresses(addresses, config.ping)
print(f"{time.process_time() - cpu:.4f} {sum(o.up for o in outcomes)}")
"""

MULTIPING = """
import json, sys
from icmplib import multiping
addresses = open(sys.argv[1]).read().split()
hosts = multiping(addresses, count=1, interval=0, timeout=1, concurrent_tasks=1024, privileged=True)
print(json.dumps([h.address for h in hosts if h.is_alive]))
"""


@dataclass
class Run:
    tool: str
    wall_s: float
    cpu_s: float
    rss_mb: float
    found: set[str]


def run_measured(lab: Lab, tool: str, argv: list[str], parse) -> Run:
    """Run one tool in the lab; wall from start to exit, CPU and peak RSS from its rusage."""
    started = time.monotonic()
    process = subprocess.Popen(lab.command(argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out_chunks, err_chunks = [], []
    # communicate() would reap the child and lose its rusage; read the pipes, then wait4 ourselves.
    import selectors

    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ, out_chunks)
    selector.register(process.stderr, selectors.EVENT_READ, err_chunks)
    while selector.get_map():
        for key, _ in selector.select():
            chunk = os.read(key.fileobj.fileno(), 65536)
            if chunk:
                key.data.append(chunk)
            else:
                selector.unregister(key.fileobj)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.monotonic() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    out = b"".join(out_chunks).decode()
    err = b"".join(err_chunks).decode()
    if process.returncode not in (0, 1):  # fping exits 1 when some hosts are unreachable
        raise SystemExit(f"{tool} failed ({process.returncode}): {err[-2000:]}")
    return Run(tool, wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, parse(out, err))


def parse_pinger(out: str, _err: str) -> set[str]:
    return {record["host"] for record in map(json.loads, out.splitlines()) if record["up"]}


def parse_fping(out: str, err: str) -> set[str]:
    # -c1 -q: "10.199.0.1 : xmt/rcv/%loss = 1/1/0%, min/avg/max = …" on stderr
    found = set()
    for line in err.splitlines():
        if "xmt/rcv" in line:
            host, rest = line.split(" : ", 1)
            if rest.split("=")[1].strip().split("/")[1] == "1":
                found.add(host.strip())
    return found


def parse_multiping(out: str, _err: str) -> set[str]:
    return set(json.loads(out))


def median_run(runs: list[Run]) -> tuple[Run, str]:
    """The run of median wall time (its CPU and RSS alongside), and the wall range over all runs."""
    ordered = sorted(runs, key=lambda run: run.wall_s)
    middle = ordered[(len(ordered) - 1) // 2]
    if len(runs) == 1:
        return middle, ""
    spread = f" ({ordered[0].wall_s:.2f}-{ordered[-1].wall_s:.2f}, median of {len(runs)})"
    return Run(
        middle.tool,
        statistics.median(run.wall_s for run in runs),
        middle.cpu_s,
        middle.rss_mb,
        middle.found if all(run.found == middle.found for run in runs) else set(),
    ), spread


def bench(count: int, workdir: Path, repeat: int) -> list[tuple[Run, str, set[str]]]:
    with Lab() as lab:
        hosts = [lab.address(i) for i in range(count)]
        on = set(hosts[::2])
        lab.switch_on(on)
        host_file = workdir / f"hosts-{count}.txt"
        host_file.write_text("\n".join(hosts) + "\n")
        config = workdir / f"bench-{count}.yaml"
        config.write_text(
            "\n".join(
                [
                    "timezone: UTC",
                    "ping: {timeout: 1s, retries: 0, rate: 1000000}",
                    "allow: [10.199.0.0/16]",
                    "pools:",
                    "  - name: BENCH",
                    "    watts: 1",
                    f"    hosts: [{hosts[0]}-{hosts[-1]}]",
                ]
            )
            + "\n"
        )
        paced = workdir / f"bench-{count}-paced.yaml"
        paced.write_text(config.read_text().replace("rate: 1000000", "rate: 1000"))
        pinger = [str(Path(sys.executable).with_name("pinger")), "sweep", "-c"]  # the installed command
        tools = [
            ("fping -i0", ["fping", "-c1", "-t1000", "-r0", "-i0", "-q", "-f", str(host_file)], parse_fping),
            ("pinger (rate 1e6)", pinger + [str(config), "--json"], parse_pinger),
            ("fping -i1", ["fping", "-c1", "-t1000", "-r0", "-i1", "-q", "-f", str(host_file)], parse_fping),
            ("pinger (rate 1000)", pinger + [str(paced), "--json"], parse_pinger),
            ("icmplib.multiping 1024", [sys.executable, "-c", MULTIPING, str(host_file)], parse_multiping),
        ]
        compared, context = tools[:2], tools[2:]
        series: dict[str, list[Run]] = {tool: [] for tool, _, _ in compared}
        for _ in range(repeat):  # alternate, so both see the same drift in machine load
            for tool, argv, parse in compared:
                series[tool].append(run_measured(lab, tool, argv, parse))
        runs = [(*median_run(series[tool]), on) for tool, _, _ in compared]
        runs += [(run_measured(lab, tool, argv, parse), "", on) for tool, argv, parse in context]
        engine = lab.run([sys.executable, "-c", ENGINE_CPU, str(config)], cwd=ROOT)
        cpu, found = engine.stdout.split()
        print(
            f"engine alone, {count} hosts: {float(cpu):.3f} s CPU for the sweep itself "
            f"({float(cpu) / count * 4094:.3f} s per 4,094 hosts), {found} on",
            flush=True,
        )
        return runs


def main() -> int:
    parser = argparse.ArgumentParser(description="pinger sweep against fping and icmplib.multiping in a sealed lab")
    parser.add_argument("--repeat", type=int, default=7, help="runs of fping -i0 and pinger at full rate (median)")
    parser.add_argument("counts", type=int, nargs="*", default=[4094, 16382], metavar="N", help="hosts per lab")
    args = parser.parse_args()
    reason = can_build_labs()
    if reason:
        print(f"sweep bench skipped: {reason}")
        return 1
    if not shutil.which("fping"):
        print("sweep bench needs fping (Debian: apt-get install fping)")
        return 1
    for package in ("pinger", "collector", "aggregator", "ingestion"):
        compileall.compile_dir(ROOT / package, quiet=1)
    print(
        f"# sweep benchmark, {time.strftime('%Y-%m-%d')}, {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )
    print("| hosts | tool | wall s | CPU s | peak RSS MB | found / on | exact | wall vs fping -i0 | CPU vs fping -i0 |")
    print("|---:|---|---:|---:|---:|---:|---|---:|---:|")
    failed = False
    with tempfile.TemporaryDirectory() as work:
        for count in args.counts:
            results = bench(count, Path(work), max(1, args.repeat))
            reference = results[0][0]
            for run, spread, on in results:
                exact = run.found == on
                failed |= run.tool.startswith("pinger") and not exact
                print(
                    f"| {count} | {run.tool} | {run.wall_s:.2f}{spread} | {run.cpu_s:.3f} | {run.rss_mb:.0f} | "
                    f"{len(run.found & on)} / {len(on)}{' +' + str(len(run.found - on)) if run.found - on else ''} | "
                    f"{'yes' if exact else 'NO'} | {run.wall_s / reference.wall_s:.2f} | "
                    f"{run.cpu_s / reference.cpu_s if reference.cpu_s else float('nan'):.2f} |",
                    flush=True,
                )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
