"""config → real pings in the sealed lab → SQLite store → aggregate → CSV, through the command line."""

from __future__ import annotations

import csv
import datetime as dt
import io
import sqlite3
import subprocess
from itertools import pairwise

import pytest

from tests.support import ROOT, pinger_command
from tests.support.processes import HANG_S

pytestmark = pytest.mark.e2e  # collect, aggregate and export in the lab, as an operator runs them

INTERVAL = 2  # seconds between sweeps
SWEEPS = 6
HOLD = 2
WATTS, STANDBY = 100.0, 2.0


def test_collect_aggregate_export_matches_what_the_lab_did(lab, write_config, tmp_path, daemon):
    always_on, switched_off, never_on = lab.address(0), lab.address(1), lab.address(2)
    store = tmp_path / "store.sqlite"
    config = write_config(f"""
        timezone: UTC
        interval: {INTERVAL}s
        collector: {{name: lab-test}}
        ping: {{timeout: 300ms, retries: 0}}
        allow: [10.199.0.0/16]
        storage: {{backend: sqlite, path: {store}}}
        aggregate: {{hold: {HOLD}s}}
        pools:
          - name: LAB
            watts: {WATTS}
            standby_watts: {STANDBY}
            hosts: [{always_on}, {switched_off}, {never_on}]
    """)
    lab.switch_on([always_on, switched_off])

    # Switch the second host off after the third sweep has been logged.
    collector = daemon("collect", "-c", str(config), "--sweeps", str(SWEEPS), popen=lab.popen)
    collector.wait_for_sweeps(3)
    lab.switch_off([switched_off])
    assert collector.finish() == 0, collector.log
    assert len(collector.sweep_lines) == SWEEPS

    with sqlite3.connect(store) as db:
        times = [row[0] for row in db.execute("SELECT DISTINCT time FROM ping ORDER BY time")]
        states = {
            host: [up for (up,) in db.execute("SELECT up FROM ping WHERE host = ? ORDER BY time", (host,))]
            for host in (always_on, switched_off, never_on)
        }
        pool_status = db.execute("SELECT online, total FROM pool_status ORDER BY time").fetchall()
        collector_rows = db.execute("SELECT collector, hosts FROM collector").fetchall()
    # One timestamp per sweep, on consecutive interval boundaries.
    assert len(times) == SWEEPS
    assert all(t % INTERVAL == 0 for t in times)
    assert [b - a for a, b in pairwise(times)] == [INTERVAL] * (SWEEPS - 1)
    assert states == {always_on: [1] * 6, switched_off: [1, 1, 1, 0, 0, 0], never_on: [0] * 6}
    assert pool_status == [(2, 3)] * 3 + [(1, 3)] * 3
    assert collector_rows == [("lab-test", 3)] * SWEEPS

    # Hand-computed by the nearest-sample rule (t1..t6 two seconds apart, hold 2 s):
    #   always on: from t1 - 2 to t6 + 2 = 10 + 4 = 14 s on, 14 s observed
    #   switched off after t3: on from t1 - 2 to the midpoint of t3 and t4 = 2 + 4 + 1 = 7 s; observed 14 s
    #   never on: 0 s on, 14 s observed
    days = sorted(
        {
            dt.datetime.fromtimestamp(t + offset, dt.UTC).date()
            for t in (times[0], times[-1])
            for offset in (-HOLD, HOLD)
        }
    )
    result = subprocess.run(
        pinger_command("aggregate", "-c", str(config), "--from", str(days[0]), "--to", str(days[-1])),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=HANG_S,
    )
    assert result.returncode == 0, result.stderr

    with sqlite3.connect(store) as db:
        runtime = dict(db.execute("SELECT host, sum(runtime_h) FROM host_daily GROUP BY host"))
    assert runtime[always_on] * 3600 == pytest.approx(14.0)
    assert runtime[switched_off] * 3600 == pytest.approx(7.0)
    assert runtime[never_on] == 0.0

    result = subprocess.run(
        pinger_command("export", "-c", str(config), "--from", str(days[0]), "--to", str(days[-1]), "--layout", "long"),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=HANG_S,
    )
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    columns = (
        "date pool phase pcs_total pcs_used runtime_h avg_runtime_h energy_kwh coverage runtime_closed_h on_at_close"
    )
    assert list(rows[0].keys()) == columns.split()
    assert {row["pool"] for row in rows} == {"LAB"} and all(row["pcs_total"] == "3" for row in rows)
    total_runtime_h = sum(float(row["runtime_h"]) for row in rows)
    assert total_runtime_h == pytest.approx(21 / 3600, abs=1e-6)
    # energy: (14 + 7) s × 100 W on, (0 + 7 + 14) s × 2 W standby
    energy_kwh = sum(float(row["energy_kwh"]) for row in rows)
    assert energy_kwh == pytest.approx((21 * WATTS + 21 * STANDBY) / 3600 / 1000, abs=1e-6)
    if len(rows) == 1:  # the usual case: all sweeps inside one UTC day
        row = rows[0]
        assert row["pcs_used"] == "2"
        assert float(row["avg_runtime_h"]) == pytest.approx(10.5 / 3600, abs=1e-6)
        assert float(row["coverage"]) == pytest.approx(14 / 86400, abs=1e-6)
        assert row["runtime_closed_h"] == "" and row["on_at_close"] == ""
