"""Daily rows in InfluxDB carry their local date and the pool's config position, and Grafana's wide table reads them.

The stand-in tests run here; the last test runs the wide table's exact Flux (grafana/dashboards) on a real
InfluxDB 2 when PINGER_TEST_INFLUXDB_URL, _TOKEN and _ORG are set (as tests/test_influx.py's real tests).
No pings: samples are imported as line protocol.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import subprocess
import uuid
from zoneinfo import ZoneInfo

import pytest

from pinger.schema import DATE_FIELD, POOL_DAILY, POOL_ORDER_FIELD
from tests.support import ROOT, influx_storage, pinger_command
from tests.support.flux_check import IMPORT, substitute_variables
from tests.support.influx_standin import InfluxStandin

REAL_URL = os.environ.get("PINGER_TEST_INFLUXDB_URL")
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def standin():
    with InfluxStandin(org="pinger", token="s3cret-token", buckets=("pinger", "pinger_daily")) as server:
        yield server


def open_store(write_config, tmp_path, url):
    from pinger.config_load import load_config
    from pinger.store.influx import InfluxStore

    config = write_config(f"""
        timezone: Europe/Berlin
        {influx_storage(url, tmp_path / "spool.sqlite")}
        pools:
          - {{name: Zeta, watts: 50, hosts: [10.0.0.1]}}
          - {{name: Alpha, watts: 50, tags: {{building: main}}, hosts: [10.0.0.2]}}
    """)
    return InfluxStore(load_config(config, environ={"INFLUX_TOKEN": "s3cret-token"}), deliver=False)


def rows_of(day: dt.date):
    from pinger.models import HostDay, PoolDay

    hosts = [
        HostDay("Zeta", "10.0.0.1", day, 2.0, 1.0, 0.1, None, None),
        HostDay("Alpha", "10.0.0.2", day, 6.0, 1.0, 0.3, None, None),
    ]
    pools = [
        PoolDay(day, "Zeta", None, {}, 1, 1, 2.0, 2.0, 0.1, 1.0, None, None),
        PoolDay(day, "Alpha", "baseline", {"building": "main"}, 1, 1, 6.0, 6.0, 0.3, 1.0, None, None),
    ]
    return hosts, pools


def test_only_daily_points_get_the_influxdb_only_fields():
    from pinger.schema import ALL, HOST_DAILY, influx_field_names

    extra = {m.name: influx_field_names(m)[len(m.field_names) :] for m in ALL}
    assert extra == {
        "ping": (),
        "pool_status": (),
        "collector": (),
        HOST_DAILY.name: (DATE_FIELD,),
        POOL_DAILY.name: (DATE_FIELD, POOL_ORDER_FIELD),
        "pool_hourly": (),
    }
    assert all(influx_field_names(m)[: len(m.field_names)] == m.field_names for m in ALL)


def test_daily_points_carry_their_local_date_and_the_pools_place_in_the_config(standin, write_config, tmp_path):
    store = open_store(write_config, tmp_path, standin.url)
    days = [dt.date(2026, 10, 25), dt.date(2026, 10, 26)]  # a 25-hour day (DST ends) and the day after
    try:
        written = []
        for day in days:
            hosts, pools = rows_of(day)
            store.write_days(hosts, pools)
            written += pools
        read = store.pool_days(days[0], days[-1])
    finally:
        store.close()
    pools = standin.points(bucket="pinger_daily", measurement="pool_daily")
    assert sorted(
        (p.time_ns // 10**9, p.tags["pool"], p.fields[DATE_FIELD], p.fields[POOL_ORDER_FIELD]) for p in pools
    ) == sorted(
        (int(dt.datetime.combine(day, dt.time(0), BERLIN).timestamp()), pool, day.isoformat(), order)
        for day in days
        for pool, order in (("Zeta", 0), ("Alpha", 1))
    )
    assert all(type(p.fields[POOL_ORDER_FIELD]) is int for p in pools)
    hosts = standin.points(bucket="pinger_daily", measurement="host_daily")
    assert sorted(p.fields[DATE_FIELD] for p in hosts) == sorted(day.isoformat() for day in days for _ in "zz")
    assert all(POOL_ORDER_FIELD not in p.fields for p in hosts)
    # Read back as written: the new fields are neither tags nor figures.
    assert sorted(read) == sorted(written)


def test_rows_written_before_the_date_field_read_back_by_their_time(standin, write_config, tmp_path):
    from pinger.localtime import day_start
    from pinger.store.influx import point_line
    from pinger.store.influx_client import write_lines

    store = open_store(write_config, tmp_path, standin.url)
    day = dt.date(2026, 11, 2)
    _, pools = rows_of(day)
    try:
        write_lines(
            store.client,
            "pinger",
            "pinger_daily",
            [point_line(POOL_DAILY, p, day_start(day, BERLIN)) for p in pools],
            100,
        )
        assert sorted(store.pool_days(day, day)) == sorted(pools)
    finally:
        store.close()


# -- the wide table's Flux on a real InfluxDB ------------------------------------------------------------------------


def grafana_script(query: str, variables: dict, start: dt.datetime, stop: dt.datetime, bucket: str, org: str) -> str:
    """The script Grafana's Flux datasource sends for ``query``: variables replaced, v defined, imports first."""
    lines = substitute_variables(query, variables).splitlines()
    imports = [line.strip() for line in lines if IMPORT.match(line)]
    utc = "%Y-%m-%dT%H:%M:%SZ"
    v = (
        f"v = {{timeRangeStart: {start.astimezone(dt.UTC).strftime(utc)}, "
        f"timeRangeStop: {stop.astimezone(dt.UTC).strftime(utc)}, windowPeriod: 1h, "
        f"defaultBucket: {json.dumps(bucket)}, organization: {json.dumps(org)}}}"
    )
    return "\n".join([*imports, v, *(line for line in lines if not IMPORT.match(line))]) + "\n"


def table_query(title_part: str) -> str:
    board = json.loads((ROOT / "grafana" / "dashboards" / "daily-runtime-energy.json").read_text())
    (query,) = [p["targets"][0]["query"] for p in board["panels"] if title_part in p["title"]]
    return query


def shown(value) -> str:
    """A cell as Grafana's download writes it (tests/test_grafana_download.py: unit "string")."""
    from tests.test_grafana_download import javascript_string

    if value is None:
        return ""
    return javascript_string(value) if isinstance(value, float) else str(value)


@pytest.mark.skipif(not REAL_URL, reason="no real InfluxDB: set PINGER_TEST_INFLUXDB_URL, _TOKEN and _ORG")
def test_both_tables_flux_give_the_exports_header_and_values_on_a_real_influxdb(write_config, tmp_path):
    """The dashboards' own Flux on InfluxDB 2.7 (the GitHub job): over the end of summer time, with pricing,
    a pool moved in the config for the last day, viewed from New York: both tables' header and every value as
    Grafana writes it equal `pinger export`'s, string for string."""
    from influxdb_client import InfluxDBClient

    token, org = os.environ["PINGER_TEST_INFLUXDB_TOKEN"], os.environ["PINGER_TEST_INFLUXDB_ORG"]
    raw = f"pinger_test_{uuid.uuid4().hex[:8]}"
    daily = raw + "_daily"  # the dashboards read v.defaultBucket + "_daily"
    first, last = dt.date(2026, 10, 24), dt.date(2026, 10, 26)  # over the end of summer time
    pools = {
        "Zeta": "{name: Zeta, watts: 50, hosts: [10.0.0.1]}",
        "Raum": '{name: "Raum Ä 1", watts: 100, hosts: [10.0.0.2]}',
    }

    def config(name: str, order: tuple[str, str]):
        return write_config(
            f"""
            timezone: Europe/Berlin
            {influx_storage(REAL_URL, tmp_path / "spool.sqlite", org=org, bucket=raw, daily_bucket=daily)}
            energy: {{currency: EUR, price: 0.3175, co2_g_per_kwh: 380}}
            pools:
              - {pools[order[0]]}
              - {pools[order[1]]}
            """,
            name,
        )

    before, moved = config("before.yaml", ("Zeta", "Raum")), config("moved.yaml", ("Raum", "Zeta"))
    env = {**os.environ, "INFLUX_TOKEN": token}

    def pinger(*args: str) -> str:
        result = subprocess.run(pinger_command(*args), cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
        assert result.returncode == 0, result.stderr
        return result.stdout

    with InfluxDBClient(url=REAL_URL, token=token, org=org) as client:
        made = [client.buckets_api().create_bucket(bucket_name=name, org=org) for name in (raw, daily)]
        try:
            start = int(dt.datetime.combine(first, dt.time(0), BERLIN).timestamp())
            stop = int(dt.datetime.combine(last + dt.timedelta(days=2), dt.time(0), BERLIN).timestamp())
            lines = []
            for t in range(start - 300, stop, 300):
                local = dt.datetime.fromtimestamp(t, BERLIN)
                zeta = int(8 <= local.hour < 10 or local.minute == 35)
                lines.append(f"ping,pool=Zeta,host=10.0.0.1 up={zeta}i {t}")
                lines.append(f"ping,pool=Raum\\ Ä\\ 1,host=10.0.0.2 up={int(12 <= local.hour < 18)}i {t}")
            (tmp_path / "s.lp").write_text("\n".join(lines) + "\n")
            pinger("import", "-c", str(before), str(tmp_path / "s.lp"), "--precision", "s")
            pinger("aggregate", "-c", str(before), "--from", str(first), "--to", str(last))
            pinger("aggregate", "-c", str(moved), "--date", str(last))  # the last day with the pools swapped
            span = ("--from", str(first), "--to", str(last))
            exported = {
                layout: list(csv.reader(io.StringIO(pinger("export", "-c", str(moved), *span, "--layout", layout))))
                for layout in ("wide", "long")
            }
            # A viewer in New York picks the three days in their own zone: the site's three days come back.
            viewer = ZoneInfo("America/New_York")
            got = {}
            for layout, title in (("wide", "Download CSV"), ("long", "long layout")):
                script = grafana_script(
                    table_query(title),
                    {"pool": ["Zeta", "Raum Ä 1"]},
                    dt.datetime.combine(first, dt.time(0), viewer),
                    dt.datetime.combine(last + dt.timedelta(days=1), dt.time(0), viewer),
                    raw,
                    org,
                )
                tables = client.query_api().query(script, org=org)
                assert len(tables) == 1, layout
                header = [c.label for c in tables[0].columns if c.label not in ("result", "table")]
                got[layout] = [header] + [[shown(r.values[name]) for name in header] for r in tables[0].records]
        finally:
            for bucket in made:
                client.buckets_api().delete_bucket(bucket)
    assert exported["wide"][0][1].startswith("Raum Ä 1 ")  # the config's order now
    assert [row[0] for row in exported["wide"][1:]] == [str(first), str(first + dt.timedelta(days=1)), str(last)]
    for layout in ("wide", "long"):
        assert got[layout] == exported[layout], layout


def round6_script(values: list[float]) -> str:
    """A Flux script that rounds each value with the tables' own round6: a table of (i, x, y)."""
    from tests.test_grafana_download import ROUND6

    body = ROUND6.search(table_query("Download CSV")).group(0)
    from decimal import Decimal

    # Flux float literals have no exponent: the shortest round-trip digits (Python's repr), written out.
    literals = [format(Decimal(repr(v)), "f") for v in values]
    rows = ", ".join(f"{{i: {i}, x: {x if '.' in x else x + '.0'}}}" for i, x in enumerate(literals))
    return (
        f'import "array"\nimport "math"\n{body}\narray.from(rows: [{rows}])\n'
        "  |> map(fn: (r) => ({r with y: round6(x: r.x)}))\n"
    )


def test_the_round6_script_for_the_real_server_is_valid_flux():
    from tests.support.flux_check import check_flux

    script = round6_script([0.0078125, 1e-7, 12.0, 2.5e-6])
    assert check_flux([script]) == []
    assert "x: 0.0000001}" in script and "x: 12.0}" in script and "x: 0.0000025}" in script


@pytest.mark.skipif(not REAL_URL, reason="no real InfluxDB: set PINGER_TEST_INFLUXDB_URL, _TOKEN and _ORG")
def test_round6_on_a_real_flux_engine_rounds_as_the_export_formats():
    """The tables' round6 run by Flux itself (the GitHub job) on ties, near-ties and long fractions."""
    import math

    from influxdb_client import InfluxDBClient

    from pinger.numbers import format_value

    values = [0.0078125, 0.0234375, 2.5e-6, 3.5e-6, 1.0000005, 1.4166666666666667, 0.1 + 0.2, 1e-7, 0.0, 12.0]
    values += [k / 128 for k in range(1, 200, 2)] + [k / 3600 for k in range(1, 3600, 37)]
    values += [math.nextafter(v, d) for v in (0.0078125, 1.0000005) for d in (0.0, 10.0)]
    script = round6_script(values)
    token, org = os.environ["PINGER_TEST_INFLUXDB_TOKEN"], os.environ["PINGER_TEST_INFLUXDB_ORG"]
    with InfluxDBClient(url=REAL_URL, token=token, org=org) as client:
        (table,) = client.query_api().query(script, org=org)
    got = {record.values["i"]: record.values["y"] for record in table.records}
    assert [shown(got[i]) for i in range(len(values))] == [format_value(v) for v in values]


def test_hourly_rows_and_cost_go_to_the_daily_bucket_and_a_redone_day_replaces_its_hours(
    standin, write_config, tmp_path
):
    from pinger.localtime import hour_starts
    from pinger.models import PoolHour

    store = open_store(write_config, tmp_path, standin.url)
    day = dt.date(2026, 10, 25)  # 25 hours: the repeated hour is two points at two instants
    hosts, pools = rows_of(day)
    priced = [pools[0]._replace(cost=0.032, co2_kg=0.038), pools[1]]

    def hours(pcs_on: float) -> list[PoolHour]:
        return [
            PoolHour(int(t), "Zeta", None, 7, dt.datetime.fromtimestamp(t, BERLIN).hour, pcs_on, pcs_on, 1.0)
            for t in hour_starts(day, BERLIN)
        ]

    try:
        store.write_days(hosts, priced, hours(1.0))
        store.write_days(hosts, priced, hours(0.5)[:-1])  # redone: one hour fewer (say the last was unobserved)
        read = store.pool_hours(day, day)
        read_days = store.pool_days(day, day)
    finally:
        store.close()
    points = standin.points(bucket="pinger_daily", measurement="pool_hourly")
    assert len(points) == 24 and {p.fields["pcs_on"] for p in points} == {0.5}
    assert sorted(p.fields["hour"] for p in points)[:4] == [0, 1, 2, 2]
    assert read == hours(0.5)[:-1]
    assert standin.points(bucket="pinger", measurement="pool_hourly") == []
    # cost and co2_kg only on the rows that have them.
    zeta, alpha = (
        next(p for p in standin.points(bucket="pinger_daily", measurement="pool_daily") if p.tags["pool"] == name)
        for name in ("Zeta", "Alpha")
    )
    assert (zeta.fields["cost"], zeta.fields["co2_kg"]) == (0.032, 0.038)
    assert "cost" not in alpha.fields and "co2_kg" not in alpha.fields
    assert sorted(read_days) == sorted(priced)


def test_redoing_a_day_deletes_once_per_pool_and_leaves_other_pools_and_days_alone(standin, write_config, tmp_path):
    store = open_store(write_config, tmp_path, standin.url)
    day, next_day = dt.date(2026, 10, 25), dt.date(2026, 10, 26)
    hosts, pools = rows_of(day)
    later_hosts, later_pools = rows_of(next_day)
    try:
        store.write_days(hosts + later_hosts, pools + later_pools)
        before = len(standin.points(bucket="pinger_daily"))
        deletes = len([r for r in standin.requests if r.path == "/api/v2/delete"])
        zeta = [row for row in pools if row.pool == "Zeta"]
        store.write_days([row for row in hosts if row.pool == "Zeta"], zeta)  # redo one pool's day
    finally:
        store.close()
    assert len([r for r in standin.requests if r.path == "/api/v2/delete"]) - deletes == 1  # one request, not three
    assert len(standin.points(bucket="pinger_daily")) == before  # the other pool and the next day kept
