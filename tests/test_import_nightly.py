"""`pinger import` of line protocol (all or nothing) and the nightly aggregator's catch-up."""

from __future__ import annotations

import datetime as dt
import sqlite3
import time
from zoneinfo import ZoneInfo

import pytest

from pinger.aggregator.nightly import NightlyAggregator, days_to_catch_up
from pinger.config_load import load_config
from pinger.line_format import LineProtocolError, format_line, parse_line
from pinger.store.sqlite import SqliteStore


def config_with_store(write_config, store, timezone="UTC", recheck_days=3):
    return write_config(f"""
        timezone: {timezone}
        interval: 5m
        storage: {{path: {store}}}
        aggregate: {{at: "00:30", recheck_days: {recheck_days}}}
        pools:
          - {{name: "Mensa Süd", watts: 100, hosts: [10.0.0.1, 10.0.0.2]}}
    """)


def test_line_protocol_round_trip_with_escapes():
    line = format_line("ping", {"pool": "Mensa Süd, 2", "host": "10.0.0.1"}, {"up": 1, "rtt_ms": 0.25}, 1_700_000_000)
    assert line == r"ping,host=10.0.0.1,pool=Mensa\ Süd\,\ 2 up=1i,rtt_ms=0.25 1700000000"
    point = parse_line(line, 1, "s")
    assert point.tags == {"pool": "Mensa Süd, 2", "host": "10.0.0.1"}
    assert point.fields == {"up": 1, "rtt_ms": 0.25}
    assert point.time_ns == 1_700_000_000 * 10**9
    assert parse_line('m,t=a s="say \\"hi\\", ok",b=t', 7).fields == {"s": 'say "hi", ok', "b": True}
    with pytest.raises(LineProtocolError, match="line 3"):
        parse_line("ping,pool=A up=1x 5", 3)


def test_import_then_aggregate(write_config, tmp_path, run_pinger):
    store = tmp_path / "s.sqlite"
    config = config_with_store(write_config, store)
    midnight = int(dt.datetime(2026, 11, 2, tzinfo=dt.UTC).timestamp())
    lines = ["# exported samples", "pool_status,pool=Mensa\\ Süd online=1i,total=2i 0"]
    for step in range(288):  # 10.0.0.1 on 08:00-10:00 (24 samples), 10.0.0.2 never
        t = midnight + step * 300
        up = 96 <= step < 120
        lines.append(f"ping,pool=Mensa\\ Süd,host=10.0.0.1 up={int(up)}i{',rtt_ms=0.4' if up else ''} {t * 10**9}")
        lines.append(f"ping,pool=Mensa\\ Süd,host=10.0.0.2 up=0i {t * 10**9}")
    samples = tmp_path / "samples.lp"
    samples.write_text("\n".join(lines) + "\n")
    result = run_pinger("import", "-c", str(config), str(samples))
    assert result.returncode == 0, result.stderr
    assert "imported 576 ping samples" in result.stderr and "skipped 1 lines" in result.stderr

    result = run_pinger("aggregate", "-c", str(config), "--date", "2026-11-02")
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(store) as db:
        row = db.execute("SELECT pcs_used, runtime_h, energy_kwh FROM pool_daily").fetchone()
    # on from 07:57:30 to 09:57:30 by the midpoint rule: 2 h, 0.2 kWh at 100 W
    assert row == (1, pytest.approx(2.0), pytest.approx(0.2))


def test_imported_ipv6_hosts_are_stored_in_canonical_form(tmp_path):
    from pinger.ingestion.import_lines import read_samples

    samples = tmp_path / "v6.lp"
    samples.write_text("ping,pool=A,host=FD00:0:0::A up=1i,rtt_ms=0.5 60\nping,pool=A,host=pc-7.example.edu up=0i 60\n")
    assert read_samples(samples, "s") == (
        [(60, "A", "fd00::a", True, 0.5), (60, "A", "pc-7.example.edu", False, None)],
        0,
    )


def test_import_of_a_malformed_file_imports_nothing(write_config, tmp_path, run_pinger):
    store = tmp_path / "s.sqlite"
    config = config_with_store(write_config, store)
    good = tmp_path / "good.lp"
    good.write_text("ping,pool=A,host=10.0.0.9 up=0i 1600000000000000000\n")
    assert run_pinger("import", "-c", str(config), str(good)).returncode == 0
    samples = tmp_path / "bad.lp"
    samples.write_text(
        "\n".join(
            [
                "ping,pool=A,host=10.0.0.1 up=1i 1700000000000000000",
                "ping,pool=A,host=10.0.0.1 up=maybe 1700000300000000000",
                "ping,pool=A up=1i 1700000600000000000",
                "ping,pool=A,host=10.0.0.1 up=1i",
                "ping,pool=A,host=10.0.0.1 up=1i 1700000900000000000",
            ]
        )
        + "\n"
    )
    result = run_pinger("import", "-c", str(config), str(samples))
    assert result.returncode == 2
    assert result.stderr.splitlines()[-3:] == [
        f"{samples}:2: field 'up': 'maybe' is not a valid value",
        f"{samples}:3: a ping point needs the tags pool and host",
        f"{samples}:4: a ping point needs a timestamp",
    ]
    with sqlite3.connect(store) as db:
        assert db.execute("SELECT host FROM ping").fetchall() == [("10.0.0.9",)]  # only the earlier import


@pytest.mark.parametrize(
    "last_done, first_sample, yesterday, expected",
    [
        (None, None, dt.date(2026, 11, 28), None),  # nothing collected yet
        (None, dt.date(2026, 11, 25), dt.date(2026, 11, 28), (dt.date(2026, 11, 25), dt.date(2026, 11, 28))),
        (
            dt.date(2026, 11, 26),
            dt.date(2026, 11, 1),
            dt.date(2026, 11, 28),
            (dt.date(2026, 11, 27), dt.date(2026, 11, 28)),
        ),
        (dt.date(2026, 11, 28), dt.date(2026, 11, 1), dt.date(2026, 11, 28), None),  # up to date
        (None, dt.date(2026, 11, 29), dt.date(2026, 11, 28), None),  # only today's samples
    ],
)
def test_days_to_catch_up(last_done, first_sample, yesterday, expected):
    assert days_to_catch_up(last_done, first_sample, yesterday) == expected


D = dt.date(2026, 11, 1)


@pytest.mark.parametrize(
    "last_done, first_sample, recheck_days, expected",
    [
        (D.replace(day=28), D, 3, (D.replace(day=26), D.replace(day=28))),  # up to date: the last 3 redone
        (D.replace(day=27), D, 3, (D.replace(day=26), D.replace(day=28))),  # one new day, two redone
        (D.replace(day=20), D, 3, (D.replace(day=21), D.replace(day=28))),  # catching up covers the recheck
        (None, D.replace(day=27), 3, (D.replace(day=27), D.replace(day=28))),  # never before the first sample
        (D.replace(day=28), D, 1, (D.replace(day=28), D.replace(day=28))),
        (D.replace(day=28), D, 0, None),
        (None, D.replace(day=29), 3, None),  # only today's samples
    ],
)
def test_days_to_catch_up_redoes_recent_days(last_done, first_sample, recheck_days, expected):
    assert days_to_catch_up(last_done, first_sample, D.replace(day=28), recheck_days) == expected


@pytest.mark.parametrize("recheck_days, day2_runtime_h", [(3, 24.0), (0, 12 + 5 / 60)])
def test_nightly_redoes_recent_days_when_late_samples_arrived(write_config, tmp_path, recheck_days, day2_runtime_h):
    # The afternoon of the day before yesterday reaches the store only after the nightly run
    # (it waited in the collector's spool): the next run must redo that day, unless told not to.
    store = tmp_path / "s.sqlite"
    path = config_with_store(write_config, store, recheck_days=recheck_days)
    today = dt.datetime.now(dt.UTC).date()
    midnight = int(dt.datetime.combine(today - dt.timedelta(days=3), dt.time(0), tzinfo=dt.UTC).timestamp())
    day = 86400
    on_time = list(range(midnight, midnight + day + day // 2 + 1, 300)) + list(
        range(midnight + 3 * day, int(time.time()), 300)
    )
    late = list(range(midnight + day + day // 2 + 300, midnight + 2 * day, 300))
    nightly = NightlyAggregator(path, load_config(path))
    SqliteStore(store, ZoneInfo("UTC")).close()  # creates the tables
    with sqlite3.connect(store) as db:
        db.executemany("INSERT INTO ping VALUES (?, 'Mensa Süd', '10.0.0.1', 1, 0.3)", [(t,) for t in on_time])
    nightly.catch_up()

    def runtime_on(day_index: int) -> float:
        date = str(today - dt.timedelta(days=3 - day_index))
        with sqlite3.connect(store) as db:
            return db.execute(
                "SELECT runtime_h FROM host_daily WHERE host = '10.0.0.1' AND date = ?", (date,)
            ).fetchone()[0]

    assert runtime_on(0) == 24.0 and runtime_on(1) == pytest.approx(12 + 5 / 60)  # up to 12:00, plus hold
    with sqlite3.connect(store) as db:
        db.executemany("INSERT INTO ping VALUES (?, 'Mensa Süd', '10.0.0.1', 1, 0.3)", [(t,) for t in late])
    nightly.catch_up()
    assert runtime_on(1) == pytest.approx(day2_runtime_h)


def test_nightly_catches_up_missed_days_at_start_and_never_writes_today(write_config, tmp_path, daemon):
    store = tmp_path / "s.sqlite"
    config = config_with_store(write_config, store, timezone="Europe/Berlin")
    berlin = ZoneInfo("Europe/Berlin")
    today = dt.datetime.now(berlin).date()
    start = int(dt.datetime.combine(today - dt.timedelta(days=3), dt.time(0), tzinfo=berlin).timestamp())
    now = int(time.time())
    with sqlite3.connect(store) as db:
        db.execute(
            "CREATE TABLE ping (time INTEGER NOT NULL, pool TEXT NOT NULL, host TEXT NOT NULL, "
            "up INTEGER NOT NULL, rtt_ms REAL, PRIMARY KEY (host, time)) WITHOUT ROWID"
        )
        db.executemany(
            "INSERT INTO ping VALUES (?, 'Mensa Süd', '10.0.0.1', 1, 0.3)", [(t,) for t in range(start, now, 300)]
        )
    nightly = daemon("aggregate", "-c", str(config), "--nightly")
    nightly.wait_for("nightly: next run at 00:30 Europe/Berlin")
    assert nightly.stop() == 0
    log = nightly.log
    first, last = today - dt.timedelta(days=3), today - dt.timedelta(days=1)
    assert f"nightly: aggregating {first} to {last}" in log
    with sqlite3.connect(store) as db:
        days = [row[0] for row in db.execute("SELECT DISTINCT date FROM pool_daily ORDER BY date")]
    assert days == [str(first + dt.timedelta(days=k)) for k in range(3)]
