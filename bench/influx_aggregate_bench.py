"""Aggregating one day of 10,000 PCs from InfluxDB: every sample (FluxRecords) against runs (csv.reader).

A server process answers the aggregator's queries with recorded answers: the in-test stand-in's own answers
(tests/support/influx_standin.py, its regexes and its _samples/_runs/_annotated_csv) to each pool's samples
query and runs query, computed once before the clock starts, then served as bytes over HTTP on 127.0.0.1;
writes and deletes are accepted unread. So what is timed is the client: `pinger aggregate --date DAY` as a
whole process, reading
  raw      every sample with the FluxRecord parser (InfluxStore.host_samples, as the aggregator reads a store
           without day_samples: the read before issue 21),
  raw-csv  every sample with csv.reader (this file's reader: what csv.reader alone saves),
  runs     the runs query's rows with csv.reader (InfluxStore.day_samples: what the aggregator does now).
Each is run several times, alternating; the medians are reported, with the range.

Samples: HOSTS hosts in pools of 250 with opening hours, Europe/Berlin, 5-minute sweeps over the day's sample
window (290 a host). Pattern "typical": each PC on for one random stretch of the day (as aggregate_bench);
"flapping": every PC changes state at every sweep (the worst case for runs: nothing to leave out).

Usage: python -m bench.influx_aggregate_bench [HOSTS] [ROUNDS]     (default 10000 5; raw runs ROUNDS - 2 times;
about 10 minutes on a 2-core machine, most of it the raw reads)
Pings nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.support import ROOT

DAY = dt.date(2026, 11, 2)
TZ = ZoneInfo("Europe/Berlin")
POOL_SIZE = 250
HOLD = 300


def pools_of(hosts: int) -> list[tuple[str, list[str]]]:
    return [
        (f"P{start // POOL_SIZE:03d}", [f"pc-{n:05d}" for n in range(start, min(start + POOL_SIZE, hosts))])
        for start in range(0, hosts, POOL_SIZE)
    ]


def write_config(work: Path, url: str, hosts: int) -> Path:
    config = work / "bench.yaml"
    lines = [
        "timezone: Europe/Berlin",
        "interval: 5m",
        f'storage: {{backend: influxdb, influxdb: {{url: "{url}", org: pinger, bucket: pinger, '
        f'daily_bucket: pinger_daily, token: bench-token, spool: "{work / "spool.sqlite"}"}}}}',
        "pools:",
    ]
    for name, members in pools_of(hosts):
        lines.append(f"  - {{name: {name}, watts: 80, standby_watts: 1, open: {{mon-fri: '08:00-20:00'}},")
        lines.append(f"     hosts: [{', '.join(members)}]}}")
    config.write_text("\n".join(lines) + "\n")
    return config


# -- the server process ----------------------------------------------------------------------------------------


def sample_times() -> range:
    start = int(dt.datetime.combine(DAY, dt.time(0), TZ).timestamp())
    stop = int(dt.datetime.combine(DAY + dt.timedelta(days=1), dt.time(0), TZ).timestamp())
    return range(start - HOLD, stop + HOLD, 300)


def states_of(pattern: str, rng: random.Random, times: range) -> list[int]:
    if pattern == "flapping":
        return [(t // 300) % 2 for t in times]
    on_from, on_to = sorted(rng.randrange(0, len(times)) for _ in range(2))
    return [int(on_from <= i < on_to) for i in range(len(times))]


def recorded_answers(hosts: int, pattern: str) -> tuple[dict[str, bytes], int, int]:
    """Each query the aggregator sends for DAY, with the stand-in's answer; and the rows in raw and runs answers."""
    from pinger.aggregator.daily import sample_window
    from pinger.store.flux import first_sample_flux, last_sample_flux, pool_runs_flux, pool_samples_flux
    from tests.support.influx_standin import InfluxStandin, Point, _annotated_csv

    rng = random.Random(7)
    times = sample_times()
    window = sample_window(DAY, TZ, HOLD)
    answers: dict[str, bytes] = {}
    raw_rows = runs_rows = 0
    for pool, members in pools_of(hosts):
        points = [
            Point("ping", {"pool": pool, "host": host}, {"up": up}, t * 10**9, "pinger")
            for host in members
            for t, up in zip(times, states_of(pattern, rng, times), strict=True)
        ]
        for flux, shape, answer in (
            (pool_samples_flux("pinger", pool, *window), InfluxStandin._SAMPLE_QUERY, InfluxStandin._samples),
            (pool_runs_flux("pinger", pool, *window, HOLD), InfluxStandin._RUNS_QUERY, InfluxStandin._runs),
        ):
            match = shape.match(flux)
            assert match is not None, flux
            columns, rows = answer(match, points)
            answers[flux] = _annotated_csv(columns, rows)
            if shape is InfluxStandin._SAMPLE_QUERY:
                raw_rows += len(rows)
            else:
                runs_rows += len(rows)
    edges = [(times[0], first_sample_flux("pinger")), (times[-1], last_sample_flux("pinger"))]
    for instant, flux in edges:
        answers[flux] = _annotated_csv([("_time", "dateTime:RFC3339", False)], [(0, {"_time": instant * 10**9})])
    return answers, raw_rows, runs_rows


def serve(hosts: int, pattern: str) -> None:
    """Record the answers, listen, say `ready PORT RAW_ROWS RUNS_ROWS` on stdout, serve until stdin closes."""
    from tests.support import influx_standin
    from tests.support.influx_standin import InfluxStandin, _error

    answers, raw_rows, runs_rows = recorded_answers(hosts, pattern)
    # As influxd (Go sets TCP_NODELAY): else Python's http.server sends the header and the body in two writes,
    # and Nagle's algorithm with the client's delayed ACK holds each answer back about 40 ms.
    influx_standin._Handler.disable_nagle_algorithm = True

    class Replay(InfluxStandin):
        def _query(self, query, headers, body):
            flux = json.loads(body)["query"].strip() + "\n"
            if flux not in answers:
                return _error(400, "bench replay: no recorded answer for this query")
            return 200, {"Content-Type": "text/csv; charset=utf-8"}, answers[flux]

        def _write(self, query, headers, body):
            return 204, {}, b""

        def _delete(self, query, headers, body):
            return 204, {}, b""

    with Replay(org="pinger", token="bench-token") as server:
        print(f"ready {server.port} {raw_rows} {runs_rows}", flush=True)
        sys.stdin.read()


# -- the client process ----------------------------------------------------------------------------------------


def raw_with_csv(self, pool: str, hosts: Sequence[str], start: float, stop: float) -> Iterator:
    """Every sample, as Queries.host_samples reads them, but with csv.reader (for the comparison only)."""
    from pinger.models import HostSamples
    from pinger.store.flux import pool_samples_flux
    from pinger.store.influx_runs import _nanoseconds

    wanted, current, where = set(hosts), None, {}
    for row in self.client.query_api().query_csv(pool_samples_flux(self.settings.bucket, pool, start, stop)):
        if row[0]:
            continue  # an annotation
        if row[1:3] == ["result", "table"]:
            where = {name: index for index, name in enumerate(row)}
            continue
        host = row[where["host"]]
        if current is None or host != current.host:
            if current is not None and current.host in wanted:
                yield current
            current = HostSamples(host, [], [])
        current.times.append(_nanoseconds(row[where["_time"]]) // 1_000_000_000)
        current.states.append(row[where["_value"]] != "0")
    if current is not None and current.host in wanted:
        yield current


def client(config: str, read: str) -> int:
    from pinger.cli import main
    from pinger.store.influx import InfluxStore
    from pinger.store.influx_queries import Queries

    if read != "runs":
        del InfluxStore.day_samples  # the aggregator then reads every sample through host_samples
    if read == "raw-csv":
        Queries.host_samples = raw_with_csv  # type: ignore[method-assign,assignment]
    return main(["aggregate", "-c", config, "--date", str(DAY)])


# -- the driver ------------------------------------------------------------------------------------------------


def timed(config: Path, read: str) -> tuple[float, float, float]:
    """(wall s, CPU s, peak RSS MB) of one client process."""
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.influx_aggregate_bench", "client", str(config), read],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.monotonic() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{read}: exit {process.returncode}: {process.stderr.read().decode()[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def measure(hosts: int, pattern: str, plan: dict[str, int], work: Path, say: Callable[[str], None]) -> None:
    server = subprocess.Popen(
        [sys.executable, "-m", "bench.influx_aggregate_bench", "serve", str(hosts), pattern],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        _, port, raw_rows, runs_rows = server.stdout.readline().split()
        config = write_config(work, f"http://127.0.0.1:{port}", hosts)
        say(f"{pattern}: {int(raw_rows):,} samples; the runs query answers {int(runs_rows):,} rows")
        results: dict[str, list[tuple[float, float, float]]] = {read: [] for read in plan}
        for round_ in range(max(plan.values())):
            for read, rounds in plan.items():
                if round_ < rounds:
                    results[read].append(timed(config, read))
        for read, runs in results.items():
            walls, cpus, rss = zip(*runs, strict=True)
            say(
                f"  {read:8} wall {statistics.median(walls):6.2f} s ({min(walls):.2f}-{max(walls):.2f}), "
                f"CPU {statistics.median(cpus):6.2f} s ({min(cpus):.2f}-{max(cpus):.2f}), "
                f"peak RSS {max(rss):.0f} MB, {len(runs)} runs"
            )
    finally:
        if server.stdin is not None:
            server.stdin.close()
        server.wait(timeout=60)


def main(argv: Sequence[str]) -> int:
    if argv[:1] == ["serve"]:
        serve(int(argv[1]), argv[2])
        return 0
    if argv[:1] == ["client"]:
        return client(argv[1], argv[2])
    hosts = int(argv[0]) if argv else 10_000
    rounds = int(argv[1]) if len(argv) > 1 else 5
    print(
        f"# InfluxDB aggregate benchmark, {time.strftime('%Y-%m-%d')}, {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; {hosts:,} PCs, one day; medians (range) of each client process"
    )
    with tempfile.TemporaryDirectory() as work_dir:
        work = Path(work_dir)
        measure(hosts, "typical", {"raw": max(rounds - 2, 1), "raw-csv": rounds, "runs": rounds}, work, print)
        measure(hosts, "flapping", {"runs": max(rounds - 2, 1)}, work, print)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
