"""Aggregating stored samples is idempotent; the CSV layouts and dialects are exactly as documented."""

from __future__ import annotations

import csv
import datetime as dt
import io
import sqlite3

import pytest

from pinger.aggregator.export import DIALECTS, format_value, long_rows, render_csv, wide_rows
from pinger.aggregator.job import aggregate_days
from pinger.config_load import load_config
from pinger.models import PoolDay, Sample
from pinger.store.sqlite import SqliteStore

DAY = dt.date(2026, 11, 2)  # a Monday
MIDNIGHT = int(dt.datetime(2026, 11, 2, tzinfo=dt.UTC).timestamp())


@pytest.fixture
def stored(write_config, tmp_path):
    """A two-pool config (UTC) and a store holding one day of 5-minute samples."""
    store_path = tmp_path / "s.sqlite"
    config = load_config(
        write_config(f"""
        timezone: UTC
        interval: 5m
        storage: {{path: {store_path}}}
        pools:
          - name: Mensa Süd
            watts: 100
            tags: {{building: main}}
            hosts: [10.0.0.1, 10.0.0.2]
          - name: B2
            watts: 50
            open: {{mon-fri: "08:00-18:00"}}
            hosts: [10.0.1.1]
        study:
          phases: [{{name: sign, start: 2026-11-01, pools: [B2]}}]
    """),
        environ={},
    )
    store = SqliteStore(store_path, config.timezone)
    samples = []
    for step in range(288):
        t = MIDNIGHT + step * 300
        hour = step / 12
        samples.append(Sample(t, "Mensa Süd", "10.0.0.1", 6 <= hour < 12, 0.3))  # on 06:00..12:00
        samples.append(Sample(t, "Mensa Süd", "10.0.0.2", False, None))  # never on
        samples.append(Sample(t, "B2", "10.0.1.1", 7 <= hour < 19, 0.3))  # on 07:00..19:00
    store.write_samples(samples)
    store.close()
    return config, store_path


def stored_rows(config, store_path) -> list[PoolDay]:
    store = SqliteStore(store_path, config.timezone, "read")
    try:
        return store.pool_days(DAY, DAY)
    finally:
        store.close()


def test_aggregate_rows_and_idempotent_rerun(stored):
    config, store_path = stored
    assert aggregate_days(config, DAY, DAY) == 2
    first = stored_rows(config, store_path)
    # Regular 5-minute samples observe the whole day; transitions fall at midpoints between samples:
    #   10.0.0.1: on from 05:57:30 to 11:57:30 = 6 h;  B2: on from 06:57:30 to 18:57:30 = 12 h,
    #   of which outside 08:00-18:00: 06:57:30-08:00 (1.041667 h) + 18:00-18:57:30 (0.958333 h) = 2 h;
    #   on at the 18:00 close.
    by_pool = {row.pool: row for row in first}
    mensa, b2 = by_pool["Mensa Süd"], by_pool["B2"]
    assert (mensa.pcs_total, mensa.pcs_used, mensa.runtime_h, mensa.avg_runtime_h) == (2, 1, 6.0, 6.0)
    assert mensa.energy_kwh == pytest.approx(0.6)  # 6 h × 100 W
    assert mensa.coverage == pytest.approx(1.0)
    assert mensa.phase is None and mensa.runtime_closed_h is None and mensa.on_at_close is None
    assert (b2.runtime_h, b2.runtime_closed_h, b2.on_at_close, b2.phase) == (12.0, pytest.approx(2.0), 1, "sign")

    with sqlite3.connect(store_path) as db:
        before = db.execute("SELECT * FROM pool_daily ORDER BY pool").fetchall()
        host_rows_before = db.execute("SELECT count(*) FROM host_daily").fetchone()[0]
    aggregate_days(config, DAY, DAY)
    with sqlite3.connect(store_path) as db:
        assert db.execute("SELECT * FROM pool_daily ORDER BY pool").fetchall() == before
        assert db.execute("SELECT count(*) FROM host_daily").fetchone()[0] == host_rows_before == 3


@pytest.fixture
def aggregated_records(stored) -> list[PoolDay]:
    """The stored day aggregated, read back as the export reads it."""
    config, store_path = stored
    aggregate_days(config, DAY, DAY)
    return stored_rows(config, store_path)


def test_long_layout_unix(aggregated_records):
    records = aggregated_records
    text = render_csv(long_rows(records), DIALECTS["unix"])
    assert text == (
        "date,pool,phase,pcs_total,pcs_used,runtime_h,avg_runtime_h,energy_kwh,coverage,runtime_closed_h,on_at_close\n"
        "2026-11-02,B2,sign,1,1,12,12,0.6,1,2,1\n"
        "2026-11-02,Mensa Süd,,2,1,6,6,0.6,1,,\n"
    )


def test_wide_layout_excel_de(aggregated_records):
    records = aggregated_records
    records[0] = records[0]._replace(runtime_h=11.5)  # a fraction shows the decimal comma
    text = render_csv(wide_rows(records, ["Mensa Süd", "B2"]), DIALECTS["excel-de"])
    assert text == (
        "\ufeffdate;Mensa Süd runtime_h;Mensa Süd avg_runtime_h;Mensa Süd energy_kwh;Mensa Süd pcs_total;"
        "Mensa Süd pcs_used;B2 runtime_h;B2 avg_runtime_h;B2 energy_kwh;B2 pcs_total;B2 pcs_used\r\n"
        "2026-11-02;6;6;0,6;2;1;11,5;12;0,6;1;1\r\n"
    )


def test_wide_layout_leaves_missing_pools_empty():
    records = [
        PoolDay(
            day=DAY,
            pool="A",
            phase=None,
            tags={},
            pcs_total=3,
            pcs_used=1,
            runtime_h=1.25,
            avg_runtime_h=1.25,
            energy_kwh=0.1,
            coverage=1.0,
            runtime_closed_h=None,
            on_at_close=None,
        )
    ]
    text = render_csv(wide_rows(records, ["A", "B"]), DIALECTS["excel"])
    assert text.splitlines()[1] == "2026-11-02,1.25,1.25,0.1,3,1,,,,,"
    assert text.startswith("\ufeff") and text.endswith("\r\n")


@pytest.mark.parametrize(
    "value, decimal, expected",
    [
        (None, ".", ""),
        (3, ".", "3"),
        (0.1 + 0.2, ".", "0.3"),
        (1 / 3, ",", "0,333333"),
        (2.0, ".", "2"),
        (1e-9, ".", "0"),
        (True, ".", "1"),
    ],
)
def test_number_format(value, decimal, expected):
    assert format_value(value, decimal) == expected


def test_export_cli_writes_file_and_rejects_unknown_pool(stored, run_pinger, tmp_path):
    config, _ = stored
    aggregate_days(config, DAY, DAY)
    out = tmp_path / "out" / "daily.csv"
    result = run_pinger(
        "export", "-c", str(config.source), "--from", str(DAY), "--to", str(DAY), "--pools", "B2", "-o", str(out)
    )
    assert result.returncode == 0, result.stderr
    assert out.read_text().splitlines()[1].startswith("2026-11-02,B2,sign,")
    assert len(out.read_text().splitlines()) == 2

    result = run_pinger("export", "-c", str(config.source), "--from", str(DAY), "--to", str(DAY), "--pools", "Nope")
    assert result.returncode == 2
    assert result.stderr.strip().endswith(f"--pools: no pool is named 'Nope' in {config.source}")

    result = run_pinger("export", "-c", str(config.source), "--from", "2026-11-05", "--to", "2026-11-01")
    assert result.returncode == 2 and "--to is before --from" in result.stderr


def test_a_backfill_aggregates_only_the_days_samples_can_decide(stored, run_pinger):
    # Samples from 2026-11-02 00:00 to 23:55 (UTC), hold 5 minutes: the first one counts back to
    # 2026-11-01 23:55 and the last one up to 2026-11-03 00:00, so those three days are aggregated.
    config, _ = stored
    result = run_pinger("aggregate", "-c", str(config.source), "--from", "2026-11-01", "--to", "2026-11-10")
    assert result.returncode == 0, result.stderr
    assert "aggregating 2026-11-01 to 2026-11-10: the days of 2026-11-01 to 2026-11-03 with samples" in result.stderr
    assert "aggregated 3 day(s) from 2026-11-01 to 2026-11-03: 6 pool rows" in result.stderr
    assert "aggregate: " not in result.stderr  # done in well under the seconds before progress shows


def test_the_widest_range_costs_what_the_days_with_samples_cost(stored, run_pinger):
    config, _ = stored
    result = run_pinger("aggregate", "-c", str(config.source), "--from", "0001-01-01", "--to", "9999-12-30")
    assert result.returncode == 0, result.stderr
    assert "aggregated 3 day(s) from 2026-11-01 to 2026-11-03: 6 pool rows" in result.stderr
    result = run_pinger("aggregate", "-c", str(config.source), "--from", "2027-01-01", "--to", "2027-12-31")
    assert result.returncode == 0, result.stderr
    assert "no samples from 2027-01-01 to 2027-12-31 (the store holds 2026-11-01 to 2026-11-03)" in result.stderr


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_progress_shows_only_once_work_has_taken_a_few_seconds(caplog):
    from pinger.progress import Progress

    clock = FakeClock()
    progress = Progress(100, "aggregate", stream=io.StringIO(), quiet_for=3.0, clock=clock)
    with caplog.at_level("INFO", logger="pinger"):
        for done in range(1, 101):
            clock.now = done * 0.1  # 10 s for the whole
            progress.update(done, f"day {done}")
    lines = [record.getMessage() for record in caplog.records]
    assert lines[0].startswith("aggregate: 30/100 day 30 (3 s, ~7 s left)")  # the first at 3 s
    assert lines[-1].startswith("aggregate: 100/100 day 100 (10 s")
    assert len(lines) == 8  # then one a tenth: 30, 40, …, 100


def test_progress_of_quick_work_says_nothing(caplog):
    from pinger.progress import Progress

    clock = FakeClock()
    progress = Progress(10, "aggregate", stream=io.StringIO(), clock=clock)
    with caplog.at_level("INFO", logger="pinger"):
        for done in range(1, 11):
            clock.now = done * 0.2
            progress.update(done)
    assert caplog.records == []


# -- issue 20: formulas in Excel, pool order, pools given twice, advice that can be followed ------------------------


@pytest.mark.parametrize("dialect", ["excel", "excel-de"])
def test_excel_dialects_neutralise_text_cells_a_spreadsheet_would_run(aggregated_records, dialect):
    """OWASP's CSV injection rule: a text cell starting with = + - @ tab or CR gets a leading apostrophe, so Excel
    shows it as text instead of running it. Numbers, negative ones included, stay numbers."""
    phases = ["=cmd|' /C calc'!A0", "+1", "-2", "@SUM(A1)", "\tx", "\rx"]
    records = [aggregated_records[0]._replace(phase=phase, runtime_h=-1.5) for phase in phases]
    text = render_csv(long_rows(records), DIALECTS[dialect])
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""), delimiter=DIALECTS[dialect].delimiter))
    assert [row[2] for row in rows[1:]] == ["'" + phase for phase in phases]
    assert {row[5] for row in rows[1:]} == {"-1.5" if dialect == "excel" else "-1,5"}
    records = records[:5]  # (a carriage return is no phase the unix dialect can write unquoted)
    unix = list(csv.reader(io.StringIO(render_csv(long_rows(records), DIALECTS["unix"]), newline="")))
    assert [row[2] for row in unix[1:]] == phases[:5]  # unix is for programs: left as it is


def test_the_legacy_excel_dialect_neutralises_text_cells_too():
    from pinger.aggregator.legacy_csv import render_legacy_csv

    rows = [["Datum", "", "Raum Nr"], ["2026-11-02", "", "=HYPERLINK(1)"], ["2026-11-03", "", "-1.5"]]
    assert render_legacy_csv(rows, "excel").splitlines()[1:] == ["2026-11-02,,'=HYPERLINK(1)", "2026-11-03,,-1.5"]
    assert render_legacy_csv(rows, "unix").splitlines()[1] == '"2026-11-02","","=HYPERLINK(1)"'


def test_the_long_layout_lists_pools_in_config_order(stored, run_pinger):
    config, _ = stored  # the config lists Mensa Süd before B2; byte order puts B2 first
    aggregate_days(config, DAY, DAY)
    result = run_pinger("export", "-c", str(config.source), "--from", str(DAY), "--to", str(DAY))
    assert result.returncode == 0, result.stderr
    assert [line.split(",")[1] for line in result.stdout.splitlines()[1:]] == ["Mensa Süd", "B2"]


def test_pools_given_twice_are_exported_once_in_the_order_first_given(stored, run_pinger):
    config, _ = stored
    aggregate_days(config, DAY, DAY)
    common = ("export", "-c", str(config.source), "--from", str(DAY), "--to", str(DAY), "--pools", "B2,Mensa Süd,B2")
    wide = run_pinger(*common, "--layout", "wide")
    assert wide.returncode == 0, wide.stderr
    assert [column.split(" ")[0] for column in wide.stdout.splitlines()[0].split(",")[1:]] == ["B2"] * 5 + ["Mensa"] * 5
    long = run_pinger(*common)
    assert [line.split(",")[1] for line in long.stdout.splitlines()[1:]] == ["B2", "Mensa Süd"]


def test_export_advises_aggregating_only_the_days_samples_can_decide(stored, run_pinger):
    config, _ = stored  # samples on 2026-11-02 only: with a 5-minute hold they decide 2026-11-01 to 2026-11-03
    result = run_pinger("export", "-c", str(config.source), "--from", "0001-01-01", "--to", "9999-12-30")
    assert result.returncode == 0, result.stderr
    (advice,) = [line for line in result.stderr.splitlines() if "WARNING" in line]
    assert advice.endswith(
        "the 3 days from 2026-11-01 to 2026-11-03 have samples but no daily rows yet: run pinger aggregate "
        "--from 2026-11-01 --to 2026-11-03 (the store has no samples for the other days of the range)"
    )
    aggregate_days(config, dt.date(2026, 11, 1), dt.date(2026, 11, 3))
    result = run_pinger("export", "-c", str(config.source), "--from", "0001-01-01", "--to", "9999-12-30")
    assert result.returncode == 0 and "WARNING" not in result.stderr, result.stderr
