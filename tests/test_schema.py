"""What the measurement declarations produce: InfluxDB lines, SQLite rows and back, and what a declaration refuses."""

from __future__ import annotations

import datetime as dt
import sqlite3
from typing import NamedTuple
from zoneinfo import ZoneInfo

import pytest

from pinger.models import CollectorStatus, HostDay, PoolDay, PoolStatus, Sample
from pinger.schema import ALL, COLLECTOR, HOST_DAILY, PING, POOL_DAILY, POOL_STATUS, declare
from pinger.store.influx import _prepared, point_line
from pinger.store.tables import create_table_sql, insert_sql, record_of, rows, select_sql

BERLIN = ZoneInfo("Europe/Berlin")
DAY = dt.date(2026, 3, 29)  # 23 hours in Berlin: its midnight is 1774738800

TRICKY = [
    Sample(1_774_738_800, "Mensa Süd, 2", "pc a=1", 1, 0.25),
    Sample(1_774_738_800, "P\\\\", "10.0.0.1", 0, None),
    Sample(1_774_738_800, "P", "fd00::1", 1, 3.0),
    PoolStatus(1_774_738_800, 'Raum "B"', 0, 12),
    CollectorStatus(1_774_738_800, "lab 1", 12, 0, 0.0123, 4, 1),
]
POOL_ROW = PoolDay(
    DAY, "A101", "polite-sign", {"building": "main hall", "printer": "yes"}, 4, 2, 3.5, 1.75, 0.28, 0.5, 1.25, 1
)


@pytest.mark.parametrize("record", TRICKY, ids=lambda r: type(r).__name__)
def test_the_prepared_sweep_lines_are_the_declared_lines(record):
    measurement = {Sample: PING, PoolStatus: POOL_STATUS, CollectorStatus: COLLECTOR}[type(record)]
    assert _prepared(measurement)(record, record.time) == point_line(measurement, record, record.time)


def test_lines_keep_the_first_releases_types_and_escapes():
    # As the first release wrote them: up an integer, rtt_ms only when up, tags sorted and escaped.
    assert [point_line(PING, sample, sample.time) for sample in TRICKY[:2]] == [
        r"ping,host=pc\ a\=1,pool=Mensa\ Süd\,\ 2 up=1i,rtt_ms=0.25 1774738800",
        "ping,host=10.0.0.1,pool=P\\\\\\\\ up=0i 1774738800",
    ]
    assert point_line(COLLECTOR, TRICKY[4], 1_774_738_800) == (
        r"collector,collector=lab\ 1 hosts=12i,online=0i,sweep_s=0.0123,spool_backlog=4i,write_errors=1i 1774738800"
    )
    assert point_line(POOL_DAILY, POOL_ROW, 1_774_738_800) == (
        r"pool_daily,building=main\ hall,phase=polite-sign,pool=A101,printer=yes pcs_total=4i,pcs_used=2i,"
        "runtime_h=3.5,avg_runtime_h=1.75,energy_kwh=0.28,coverage=0.5,runtime_closed_h=1.25,on_at_close=1i "
        "1774738800"
    )
    without_hours = POOL_ROW._replace(phase=None, tags={}, runtime_closed_h=None, on_at_close=None)
    assert point_line(POOL_DAILY, without_hours, 5) == (
        "pool_daily,pool=A101 pcs_total=4i,pcs_used=2i,runtime_h=3.5,avg_runtime_h=1.75,energy_kwh=0.28,coverage=0.5 5"
    )


def test_a_declared_pool_tag_wins_over_a_free_tag_of_the_same_name():
    clashing = POOL_ROW._replace(tags={"pool": "other", "phase": "other"})
    assert point_line(POOL_DAILY, clashing, 5).startswith("pool_daily,phase=polite-sign,pool=A101 ")


def test_every_record_goes_into_its_table_and_comes_back_the_same():
    db = sqlite3.connect(":memory:")
    for measurement in ALL:
        db.execute(create_table_sql(measurement))
    samples, statuses, collector = TRICKY[:3], [TRICKY[3]], [TRICKY[4]]
    for measurement, records in (
        (PING, samples),
        (POOL_STATUS, statuses),
        (COLLECTOR, collector),
        (
            POOL_DAILY,
            [POOL_ROW, POOL_ROW._replace(pool="B", phase=None, tags={}, runtime_closed_h=None, on_at_close=None)],
        ),
    ):
        db.executemany(insert_sql(measurement), rows(measurement, records, BERLIN))
        back = [record_of(measurement, row) for row in db.execute(select_sql(measurement))]
        assert sorted(back, key=repr) == sorted(records, key=repr), measurement.name
    # Daily rows carry the local midnight that starts the day (a 23-hour day here) and the ISO date.
    assert db.execute("SELECT time, date FROM pool_daily").fetchall() == [(1_774_738_800, "2026-03-29")] * 2
    # host_daily keeps the host's runtime and coverage; its energy and opening-hours figures only feed the pool.
    # With energy pricing it keeps the host's cost and CO2 too (NULL without).
    host = HostDay("A101", "10.0.0.1", DAY, 2.5, 0.75, 0.2, 1.0, 1)
    db.executemany(
        insert_sql(HOST_DAILY), rows(HOST_DAILY, [host, host._replace(host="h2", cost=0.05, co2_kg=0.076)], BERLIN)
    )
    assert db.execute("SELECT * FROM host_daily ORDER BY host").fetchall() == [
        (1_774_738_800, "2026-03-29", "A101", "10.0.0.1", 2.5, 0.75, None, None),
        (1_774_738_800, "2026-03-29", "A101", "h2", 2.5, 0.75, 0.05, 0.076),
    ]


def test_a_declaration_refuses_what_no_store_can_hold():
    class Untimed(NamedTuple):
        pool: str
        online: int

    class Listed(NamedTuple):
        time: int
        pool: str
        hosts: list[str]

    class NumberTag(NamedTuple):
        time: int
        pool: int
        online: int

    with pytest.raises(TypeError, match="needs time: int or day: datetime.date"):
        declare("x", Untimed, tags=("pool",), fields=("online",), sqlite_key=("pool",))
    with pytest.raises(TypeError, match=r"x.hosts: list\[str\] is not int, float or str"):
        declare("x", Listed, tags=("pool",), fields=("hosts",), sqlite_key=("pool", "time"))
    with pytest.raises(TypeError, match="x: tags are strings"):
        declare("x", NumberTag, tags=("pool",), fields=("online",), sqlite_key=("pool", "time"))
    with pytest.raises(TypeError, match="x: Listed has no attribute 'total'"):
        declare("x", Listed, tags=("pool",), fields=("total",), sqlite_key=("pool", "time"))


def test_samples_are_written_all_or_none(tmp_path):
    from pinger.store.sqlite import SqliteStore

    store = SqliteStore(tmp_path / "s.sqlite", BERLIN)

    def samples_then_failure():
        yield from TRICKY[:3]
        raise ValueError("line 4 is malformed")

    try:
        with pytest.raises(ValueError, match="line 4"):
            store.write_samples(samples_then_failure())
        assert store.first_sample_time() is None
        assert store.write_samples(iter(TRICKY[:3])) == 3
    finally:
        store.close()
    with sqlite3.connect(tmp_path / "s.sqlite") as db:
        assert db.execute("SELECT count(*) FROM ping").fetchone()[0] == 3


def test_plain_tuples_in_sample_order_are_written_as_samples_are(tmp_path):
    from pinger.store.sqlite import SqliteStore

    samples = [record for record in TRICKY if type(record) is Sample]
    as_records, as_tuples = (SqliteStore(tmp_path / f"{name}.sqlite", BERLIN) for name in ("records", "tuples"))
    try:
        assert as_records.write_samples(iter(samples)) == len(samples)
        assert as_tuples.write_samples(tuple(sample) for sample in samples) == len(samples)
        hosts = sorted({sample.host for sample in samples})
        assert list(as_tuples.host_samples("any", hosts, 0, 2**40)) == list(
            as_records.host_samples("any", hosts, 0, 2**40)
        )
    finally:
        as_records.close()
        as_tuples.close()
    dumps = []
    for name in ("records", "tuples"):
        with sqlite3.connect(tmp_path / f"{name}.sqlite") as db:
            dumps.append(db.execute("SELECT * FROM ping ORDER BY host, time").fetchall())
    assert dumps[0] == dumps[1] and len(dumps[0]) == len({(s.host, s.time) for s in samples})
