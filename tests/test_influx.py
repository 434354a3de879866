"""The InfluxDB path: the collector writes through the durable spool and loses nothing, whatever the server does.

Runs against the in-test stand-in (tests/support/influx_standin.py); the round-trip test also runs against a
real InfluxDB 2 when PINGER_TEST_INFLUXDB_URL, PINGER_TEST_INFLUXDB_TOKEN and PINGER_TEST_INFLUXDB_ORG
are set (its bucket PINGER_TEST_INFLUXDB_BUCKET, default "pinger", must exist).
Pings only loopback addresses.
"""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import threading
import time
from itertools import pairwise

import pytest

from tests.support import ROOT, influx_storage, pinger_command
from tests.support.in_process import run_in_process
from tests.support.influx_standin import InfluxStandin
from tests.support.processes import HANG_S, wait_until

HOSTS = ["127.0.0.1", "127.0.0.2", "127.0.0.3"]
POINTS_PER_SWEEP = len(HOSTS) + 1 + 1  # ping per host, pool_status, collector
REAL_URL = os.environ.get("PINGER_TEST_INFLUXDB_URL")


@pytest.fixture
def standin():
    with InfluxStandin(org="pinger", token="s3cret-token", buckets=("pinger", "pinger_daily")) as server:
        yield server


def influx_config(write_config, tmp_path, url, org="pinger", bucket="pinger", interval="1s", name="influx.yaml"):
    return write_config(
        f"""
        timezone: UTC
        interval: {interval}
        collector: {{name: influx-test}}
        ping: {{timeout: 500ms, retries: 0}}
        allow: [127.0.0.0/8]
        {influx_storage(url, tmp_path / "spool.sqlite", org=org, bucket=bucket)}
        pools:
          - {{name: LOOP, watts: 50, hosts: [{", ".join(HOSTS)}]}}
    """,
        name,
    )


def collect(daemon, config, token="s3cret-token", *args):
    return daemon("collect", "-c", str(config), *args, env={"INFLUX_TOKEN": token})


def writes_arrived(standin) -> int:
    return len([r for r in standin.requests if r.path == "/api/v2/write"])


def spool_backlog(tmp_path) -> int:
    with sqlite3.connect(tmp_path / "spool.sqlite") as db:
        return db.execute("SELECT count(*) FROM outbox").fetchone()[0]


def sweep_times(server, measurement="ping") -> list[int]:
    return sorted({p.time_ns // 10**9 for p in server.points(bucket="pinger", measurement=measurement)})


def test_sweeps_arrive_with_the_schema_types(standin, write_config, tmp_path, daemon):
    config = influx_config(write_config, tmp_path, standin.url)
    collector = collect(daemon, config, "s3cret-token", "--sweeps", "3")
    assert collector.finish() == 0, collector.log
    pings = standin.points(bucket="pinger", measurement="ping")
    assert len(pings) == 3 * len(HOSTS)
    assert {p.tags["host"] for p in pings} == set(HOSTS) and {p.tags["pool"] for p in pings} == {"LOOP"}
    assert all(p.fields["up"] == 1 and type(p.fields["up"]) is int for p in pings)
    assert all(type(p.fields["rtt_ms"]) is float for p in pings)
    times = sweep_times(standin)
    assert len(times) == 3 and [b - a for a, b in pairwise(times)] == [1, 1]
    status = standin.points(bucket="pinger", measurement="pool_status")
    assert [(p.fields["online"], p.fields["total"]) for p in status] == [(3, 3)] * 3
    own = standin.points(bucket="pinger", measurement="collector")
    assert [p.tags["collector"] for p in own] == ["influx-test"] * 3
    assert set(own[0].fields) == {"hosts", "online", "sweep_s", "spool_backlog", "write_errors"}
    assert spool_backlog(tmp_path) == 0
    assert "s3cret-token" not in collector.log  # secrets never logged


def test_an_outage_mid_run_loses_nothing_and_duplicates_nothing(standin, write_config, tmp_path, daemon):
    config = influx_config(write_config, tmp_path, standin.url)
    collector = collect(daemon, config)
    collector.wait_for_sweeps(2)
    standin.stop()  # connection refused from now on
    collector.wait_for_sweeps(3)
    assert spool_backlog(tmp_path) >= 2  # the outage's sweeps wait on disk
    standin.start()
    collector.wait_for_sweeps(3)
    wait_until(lambda: spool_backlog(tmp_path) == 0, "draining the spool after the outage")
    assert collector.stop() == 0
    # The stop may catch a delivery in flight (the connection drops) or between deliveries (refused).
    assert re.search(
        r"is not reachable \((connection refused|the server closed the connection without answering)\)", collector.log
    ), collector.log
    assert collector.log.count("is not reachable") == 1  # said once per outage, not every retry
    assert "spool drained" in collector.log
    times = sweep_times(standin)
    assert len(times) == len(collector.sweep_lines) >= 8
    assert [b - a for a, b in pairwise(times)] == [1] * (len(times) - 1)  # no sweep missing
    # Every sweep's points once: one ping point per host and sweep, one collector point per sweep.
    assert len(standin.points(bucket="pinger", measurement="ping")) == len(times) * len(HOSTS)
    assert spool_backlog(tmp_path) == 0
    accepted = [r for r in standin.requests if r.path == "/api/v2/write" and r.status == 204]
    assert len(accepted) <= len(times)  # never more deliveries than sweeps: nothing was sent twice


def test_a_server_that_drops_a_write_mid_request_is_reported_in_plain_words(standin, write_config, tmp_path, caplog):
    from pinger.config_load import load_config
    from pinger.store.influx import InfluxStore

    config = load_config(influx_config(write_config, tmp_path, standin.url), environ={"INFLUX_TOKEN": "s3cret-token"})
    store = InfluxStore(config, deliver=False)
    try:
        store.spool.append("pinger", ["ping,pool=LOOP,host=127.0.0.1 up=1i,rtt_ms=0.1 1780000000000000000"])
        standin.set_delay(5)

        def go_down_once_the_write_arrived():  # while the server holds its answer back
            wait_until(lambda: writes_arrived(standin), "the write's arrival")
            standin.stop()

        threading.Thread(target=go_down_once_the_write_arrived, daemon=True).start()
        with caplog.at_level("INFO", logger="pinger"):
            assert store.deliver_pending(deadline=time.monotonic() + 2) is False
    finally:
        standin.set_delay(0)
    (report,) = [r.getMessage() for r in caplog.records if "is not reachable" in r.getMessage()]
    assert "(the server closed the connection without answering); 1 sweeps wait in the spool" in report
    assert "RemoteDisconnected" not in report and "Connection aborted" not in report
    assert store.backlog() == 1  # still spooled, sent again later


def test_sigkill_while_the_server_is_away_then_restart_delivers_every_sweep(standin, write_config, tmp_path, daemon):
    config = influx_config(write_config, tmp_path, standin.url)
    standin.stop()
    killed = collect(daemon, config)
    killed.wait_for_sweeps(3)
    killed.stop(signal.SIGKILL)
    assert spool_backlog(tmp_path) >= 3
    standin.start()
    restarted = collect(daemon, config, "s3cret-token", "--sweeps", "1")
    assert restarted.finish() == 0, restarted.log
    sweeps_done = len(killed.sweep_lines) + 1
    assert len(sweep_times(standin)) == sweeps_done
    assert len(standin.points(bucket="pinger", measurement="ping")) == sweeps_done * len(HOSTS)
    assert spool_backlog(tmp_path) == 0


@pytest.mark.parametrize(
    "token, bucket, org, message",
    [
        ("wrong-token", "pinger", "pinger", "rejects the token (401)"),
        ("s3cret-token", "nope", "pinger", "has no bucket 'nope' in organization 'pinger'"),
        ("s3cret-token", "pinger", "elsewhere", "has no organization 'elsewhere'"),
    ],
)
def test_wrong_settings_end_the_collector_with_one_sentence(
    standin, write_config, tmp_path, daemon, token, bucket, org, message
):
    config = influx_config(write_config, tmp_path, standin.url, org=org, bucket=bucket)
    collector = collect(daemon, config, token, "--sweeps", "1")
    assert collector.finish() == 2
    assert "Traceback" not in collector.log and message in collector.log
    assert len([line for line in collector.lines if line.startswith("pinger:")]) == 1
    assert token not in collector.log


def test_retry_after_is_honoured(standin, write_config, tmp_path, daemon):
    config = influx_config(write_config, tmp_path, standin.url)
    standin.fail_next(2, 503, retry_after=2)
    collector = collect(daemon, config, "s3cret-token", "--sweeps", "1")
    assert collector.finish() == 0, collector.log
    err = collector.log
    writes = [r for r in standin.requests if r.path == "/api/v2/write"]
    assert [r.status for r in writes][:3] == [503, 503, 204]
    assert writes[1].arrived_at - writes[0].arrived_at >= 1.9 and writes[2].arrived_at - writes[1].arrived_at >= 1.9
    assert len(standin.points(bucket="pinger", measurement="ping")) == len(HOSTS)
    assert "InfluxDB answered 503" in err and "after 2 s as it asked" in err


def test_a_batch_the_server_calls_malformed_is_kept_aside_not_retried_forever(standin, write_config, tmp_path, daemon):
    config = influx_config(write_config, tmp_path, standin.url)
    standin.fail_next(1, 400)
    collector = collect(daemon, config, "s3cret-token", "--sweeps", "2")
    assert collector.finish() == 0, collector.log
    err = collector.log
    with sqlite3.connect(tmp_path / "spool.sqlite") as db:
        rejected = db.execute("SELECT reason, lines FROM rejected").fetchall()
    assert len(rejected) == 1 and rejected[0][0].startswith("400")
    assert rejected[0][1].count("\n") + 1 == POINTS_PER_SWEEP  # the whole sweep is kept, line for line
    assert len(sweep_times(standin)) == 1  # the other sweep arrived
    assert "kept in the spool's 'rejected' table" in err


@pytest.mark.skipif(not REAL_URL, reason="no real InfluxDB: set PINGER_TEST_INFLUXDB_URL, _TOKEN and _ORG")
def test_round_trip_against_a_real_influxdb(write_config, tmp_path, daemon):
    from influxdb_client import InfluxDBClient

    token, org = os.environ["PINGER_TEST_INFLUXDB_TOKEN"], os.environ["PINGER_TEST_INFLUXDB_ORG"]
    bucket = os.environ.get("PINGER_TEST_INFLUXDB_BUCKET", "pinger")
    config = influx_config(write_config, tmp_path, REAL_URL, org=org, bucket=bucket)
    started = int(time.time())
    collector = collect(daemon, config, token, "--sweeps", "2")
    assert collector.finish() == 0, collector.log
    with InfluxDBClient(url=REAL_URL, token=token, org=org) as client:
        tables = client.query_api().query(
            f'from(bucket: "{bucket}") |> range(start: {started - 5}) '
            f'|> filter(fn: (r) => r._measurement == "ping" and r._field == "up" and r.pool == "LOOP") '
            f"|> group() |> count()"
        )
    assert tables[0].records[0].get_value() == 2 * len(HOSTS)


@pytest.mark.slow
def test_import_aggregate_and_rerun_through_influxdb(standin, write_config, tmp_path):
    # Samples go in with `pinger import` (through the spool), come back with the aggregator's Flux query,
    # and the daily rows land in the daily bucket; a re-run with another phase leaves no stale series.
    import datetime as dt

    def config_text(phase_line: str) -> str:
        return f"""
            timezone: UTC
            interval: 5m
            {influx_storage(standin.url, tmp_path / "spool.sqlite")}
            pools:
              - {{name: "Mensa Süd", watts: 100, tags: {{building: main}}, hosts: [10.0.0.1, 10.0.0.2]}}
            {phase_line}
        """

    config = write_config(config_text("study: {phases: [{name: before, start: 2026-10-01}]}"))
    midnight = int(dt.datetime(2026, 11, 2, tzinfo=dt.UTC).timestamp())
    lines = []
    for step in range(-1, 290):  # 10.0.0.1 on 08:00-10:00, 10.0.0.2 never; one sample beyond each edge
        t = midnight + step * 300
        lines.append(f"ping,pool=Mensa\\ Süd,host=10.0.0.1 up={int(96 <= step < 120)}i {t}")
        lines.append(f"ping,pool=Mensa\\ Süd,host=10.0.0.2 up=0i {t}")
    samples = tmp_path / "samples.lp"
    samples.write_text("\n".join(lines) + "\n")

    def pinger(*args):
        result = run_in_process(*args, env={"INFLUX_TOKEN": "s3cret-token"})
        assert result.returncode == 0, result.stderr
        return result

    pinger("import", "-c", str(config), str(samples), "--precision", "s")
    assert len(standin.points(bucket="pinger", measurement="ping")) == 2 * 291
    pinger("aggregate", "-c", str(config), "--date", "2026-11-02")
    daily = standin.points(bucket="pinger_daily", measurement="pool_daily")
    assert len(daily) == 1
    row = daily[0]
    assert row.time_ns == midnight * 10**9
    assert row.tags == {"pool": "Mensa Süd", "building": "main", "phase": "before"}
    # on from 07:57:30 to 09:57:30 by the midpoint rule: 2 h; 0.2 kWh at 100 W; both hosts fully observed
    assert (row.fields["pcs_total"], row.fields["pcs_used"]) == (2, 1)
    assert row.fields["runtime_h"] == pytest.approx(2.0) and row.fields["energy_kwh"] == pytest.approx(0.2)
    assert row.fields["coverage"] == pytest.approx(1.0)
    hosts = {
        p.tags["host"]: p.fields["runtime_h"] for p in standin.points(bucket="pinger_daily", measurement="host_daily")
    }
    assert hosts == {"10.0.0.1": pytest.approx(2.0), "10.0.0.2": 0.0}

    config.write_text(config_text("study: {phases: [{name: after, start: 2026-11-01}]}"))
    pinger("aggregate", "-c", str(config), "--date", "2026-11-02")
    daily = standin.points(bucket="pinger_daily", measurement="pool_daily")
    assert [p.tags["phase"] for p in daily] == ["after"]  # the 'before' series of that day is gone
    assert len(standin.points(bucket="pinger_daily", measurement="host_daily")) == 2


@pytest.mark.skipif(not REAL_URL, reason="no real InfluxDB: set PINGER_TEST_INFLUXDB_URL, _TOKEN and _ORG")
def test_import_and_aggregate_against_a_real_influxdb(write_config, tmp_path):
    # The aggregator's Flux query and its delete predicate, on a real server, in buckets made for this test.
    import datetime as dt
    import uuid

    from influxdb_client import InfluxDBClient

    token, org = os.environ["PINGER_TEST_INFLUXDB_TOKEN"], os.environ["PINGER_TEST_INFLUXDB_ORG"]
    raw = f"pinger_test_{uuid.uuid4().hex[:8]}"
    daily = raw + "_daily"
    with InfluxDBClient(url=REAL_URL, token=token, org=org) as client:
        made = [client.buckets_api().create_bucket(bucket_name=name, org=org) for name in (raw, daily)]
        try:
            config = write_config(f"""
                timezone: UTC
                {influx_storage(REAL_URL, tmp_path / "spool.sqlite", org=org, bucket=raw, daily_bucket=daily)}
                pools:
                  - {{name: "Mensa Süd", watts: 100, hosts: [10.0.0.1, 10.0.0.2]}}
            """)
            midnight = int(dt.datetime(2026, 11, 2, tzinfo=dt.UTC).timestamp())
            lines = [
                f"ping,pool=Mensa\\ Süd,host=10.0.0.{h} up={int(h == 1 and 96 <= step < 120)}i {midnight + step * 300}"
                for step in range(-1, 290)
                for h in (1, 2)
            ]
            (tmp_path / "s.lp").write_text("\n".join(lines) + "\n")
            env = {**os.environ, "INFLUX_TOKEN": token}
            for args in (
                ("import", "-c", str(config), str(tmp_path / "s.lp"), "--precision", "s"),
                ("aggregate", "-c", str(config), "--date", "2026-11-02"),
                ("aggregate", "-c", str(config), "--date", "2026-11-02"),
            ):  # idempotent re-run
                result = subprocess.run(
                    pinger_command(*args), cwd=ROOT, capture_output=True, text=True, env=env, timeout=HANG_S
                )
                assert result.returncode == 0, result.stderr
            tables = client.query_api().query(
                f'from(bucket: "{daily}") |> range(start: 2026-11-01T00:00:00Z, stop: 2026-11-04T00:00:00Z) '
                f'|> filter(fn: (r) => r._measurement == "pool_daily" and r._field == "runtime_h")'
            )
            values = [record.get_value() for table in tables for record in table.records]
            assert values == [pytest.approx(2.0)]  # one row, 07:57:30-09:57:30 by the midpoint rule
        finally:
            for bucket in made:
                client.buckets_api().delete_bucket(bucket)


def test_nightly_catch_up_and_export_through_influxdb(standin, write_config, tmp_path, daemon):
    # With InfluxDB as the store the nightly aggregator finds the first sample and the last aggregated
    # day by Flux, catches up to yesterday, and `pinger export` reads the rows back.
    import datetime as dt

    today = dt.datetime.now(dt.UTC).date()
    first_day = today - dt.timedelta(days=3)
    start = int(dt.datetime.combine(first_day, dt.time(0), tzinfo=dt.UTC).timestamp())
    config = write_config(f"""
        timezone: UTC
        {influx_storage(standin.url, tmp_path / "spool.sqlite")}
        pools:
          - {{name: A, watts: 50, tags: {{room: "1.04"}}, hosts: [10.0.0.1]}}
    """)
    samples = tmp_path / "s.lp"
    samples.write_text("".join(f"ping,pool=A,host=10.0.0.1 up=1i {t}\n" for t in range(start, start + 3 * 86400, 300)))
    env = {"INFLUX_TOKEN": "s3cret-token"}
    importer = daemon("import", "-c", str(config), str(samples), "--precision", "s", env=env)
    assert importer.finish() == 0, importer.log

    nightly = daemon("aggregate", "-c", str(config), "--nightly", env=env)
    nightly.wait_for("nightly: next run at")
    assert nightly.stop() == 0
    assert f"nightly: aggregating {first_day} to {today - dt.timedelta(days=1)}" in nightly.log
    days = sorted({p.time_ns // 10**9 for p in standin.points(bucket="pinger_daily", measurement="pool_daily")})
    assert days == [start, start + 86400, start + 2 * 86400]

    # Nothing new, but the last recheck_days (default 3) are redone for late samples: replaced, not doubled.
    again = daemon("aggregate", "-c", str(config), "--nightly", env=env)
    again.wait_for("nightly: next run at")
    assert again.stop() == 0
    assert (
        f"nightly: aggregating {first_day} to {today - dt.timedelta(days=1)} "
        "(3 already aggregated, redone for late samples)"
    ) in again.log
    rows = standin.points(bucket="pinger_daily", measurement="pool_daily")
    assert sorted(p.time_ns // 10**9 for p in rows if "runtime_h" in p.fields) == days

    export = daemon(
        "export",
        "-c",
        str(config),
        "--from",
        str(first_day),
        "--to",
        str(first_day + dt.timedelta(days=1)),
        env=env,
        popen=lambda argv, **kw: subprocess.Popen(argv, stdout=subprocess.PIPE, **kw),
    )
    out, _ = export.process.communicate(timeout=HANG_S)
    assert export.process.returncode == 0
    # Up all day, every 5 minutes from the first midnight: the first day's edge before 00:00 is unobserved
    # but the day itself is fully covered (the first sample speaks from 00:00 - hold).
    assert out.splitlines() == [
        "date,pool,phase,pcs_total,pcs_used,runtime_h,avg_runtime_h,energy_kwh,coverage,runtime_closed_h,on_at_close",
        f"{first_day},A,,1,1,24,24,1.2,1,,",
        f"{first_day + dt.timedelta(days=1)},A,,1,1,24,24,1.2,1,,",
    ]


def test_every_flux_query_the_store_sends_is_valid():
    from pinger.store import flux
    from tests.support.flux_check import check_flux

    queries = {
        "samples": flux.pool_samples_flux("pinger", 'Raum "B"', 1_793_487_600, 1_793_574_000),
        "runs": flux.pool_runs_flux("pinger", 'Raum "B"', 1_793_487_600, 1_793_574_000, 300),
        "first sample": flux.first_sample_flux("pinger"),
        "last day": flux.last_daily_flux("pinger_daily"),
        "pool days": flux.pool_days_flux("pinger_daily", 1_793_487_600, 1_793_574_000),
    }
    assert check_flux(list(queries.values()), labels=list(queries)) == []


def test_the_nightly_aggregator_outlives_an_unreachable_store(standin, write_config, tmp_path, daemon):
    config = influx_config(write_config, tmp_path, standin.url)
    standin.stop()
    nightly = daemon("aggregate", "-c", str(config), "--nightly", env={"INFLUX_TOKEN": "s3cret-token"})
    nightly.wait_for("nightly: next run at")
    assert nightly.process.poll() is None  # still running, waiting to retry
    assert nightly.stop() == 0
    assert "nightly: aggregation failed" in nightly.log and "retrying in 15 minutes" in nightly.log
    assert "Traceback" not in nightly.log


def test_the_spool_is_made_once_when_the_delivery_thread_and_a_sweep_both_need_it(
    standin, write_config, tmp_path, monkeypatch
):
    from pinger.config_load import load_config
    from pinger.store import influx, influx_delivery

    made = []
    real_spool = influx_delivery.Spool

    def slow_spool(*args):
        made.append(args)
        time.sleep(0.2)  # opening takes a while: the second caller arrives meanwhile
        return real_spool(*args)

    monkeypatch.setattr(influx_delivery, "Spool", slow_spool)
    config = load_config(influx_config(write_config, tmp_path, standin.url), environ={"INFLUX_TOKEN": "s3cret-token"})
    store = influx.InfluxStore(config, deliver=False)
    seen = []
    callers = [threading.Thread(target=lambda: seen.append(store.spool)) for _ in range(2)]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join()
    assert len(made) == 1 and seen[0] is seen[1]
    store.close()
