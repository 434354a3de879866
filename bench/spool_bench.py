"""Spool and InfluxDB writer benchmark against the in-test stand-in (a Python HTTP server on 127.0.0.1).

Measures: how fast sweeps are committed to the spool (synchronous=FULL), how fast a backlog
drains through the real influxdb-client when delivery is unbounded, and the daemon's bounded
drain rate. The stand-in parses line protocol in Python, so it, not Pinger, is usually the limit
of the unbounded figure: a real InfluxDB takes more.

Usage: python -m bench.spool_bench [SWEEPS] [HOSTS]     (default 200 1000)
"""

from __future__ import annotations

import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from pinger.config_load import load_config
from pinger.models import CollectorStatus, HostResult, SweepResult
from pinger.store import influx
from tests.support.influx_standin import InfluxStandin


def sweep(scheduled: int, hosts: int) -> SweepResult:
    return SweepResult(
        scheduled,
        0.5,
        tuple(
            HostResult("P", f"10.0.{i // 250}.{i % 250 + 1}", i % 3 != 0, 0.42 if i % 3 else None) for i in range(hosts)
        ),
    )


def status_of(swept: SweepResult) -> CollectorStatus:
    return CollectorStatus(swept.scheduled, "bench", len(swept.hosts), swept.online, swept.duration_s)


def main() -> int:
    sweeps = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    hosts = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    points = sweeps * (hosts + 2)
    print(
        f"# spool benchmark, {time.strftime('%Y-%m-%d')}, {platform.machine()}, {os.cpu_count()} cores, "
        f"{sweeps} sweeps of {hosts} hosts ({points:,} points)"
    )
    with tempfile.TemporaryDirectory() as work, InfluxStandin(token="t") as server:
        config_path = Path(work) / "c.yaml"
        config_path.write_text(f"""timezone: UTC
storage:
  backend: influxdb
  influxdb: {{url: "{server.url}", org: pinger, bucket: pinger, token: t, spool: "{work}/spool.sqlite"}}
pools: [{{name: P, watts: 1, hosts: [10.0.0.1]}}]
""")
        config = load_config(config_path, environ={})
        store = influx.InfluxStore(config, deliver=False)
        prepared = [sweep(1_800_000_000 + k * 300, hosts) for k in range(sweeps)]

        started = time.monotonic()
        for item in prepared:
            store.write_sweep(item, status_of(item))
        spooled = time.monotonic() - started
        print(
            f"spool: {sweeps / spooled:,.0f} sweeps/s committed ({points / spooled:,.0f} points/s), "
            f"{store.spool.pending_bytes() / 1e6:.1f} MB on disk"
        )

        started = time.monotonic()
        assert store.deliver_pending()
        drained = time.monotonic() - started
        print(
            f"unbounded delivery to the stand-in: {points / drained:,.0f} points/s ({sweeps / drained:,.1f} sweeps/s)"
        )
        assert len(server.points(measurement="ping")) == sweeps * hosts
        store.close(flush_seconds=0)

        # The daemon's delivery thread, with its rate bound, over a fresh backlog.
        server.stop()
        store = influx.InfluxStore(config, deliver=False)
        for item in prepared:
            later = item._replace(scheduled=item.scheduled + 10**6)
            store.write_sweep(later, status_of(later))
        store.close(flush_seconds=0)
        server.start()
        store = influx.InfluxStore(config, deliver=True)
        started = time.monotonic()
        while store.backlog():
            time.sleep(0.05)
        drained = time.monotonic() - started
        print(
            f"daemon drain (bound {influx.MAX_POINTS_PER_SECOND:,} points/s): {points / drained:,.0f} points/s, "
            f"a backlog of {sweeps} sweeps in {drained:.1f} s"
        )
        store.close(flush_seconds=0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
