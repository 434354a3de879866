"""Store files that users already have keep working: a schema-1 file from the first release, a schema-2 file
from the release before the packed layout, and migration steps.

``tests/data/store-schema1.sqlite`` was written by the release at cd64022 through its command
line (tests/data/make_store_fixture.py says how): imported samples, a day aggregated, one real
sweep in the sealed lab. ``tests/data/store-schema2.sqlite`` was written by the release at 0acbc98
(tests/data/make_schema2_fixture.py): two days of samples with a 300-host pool, gaps, a renamed
pool and round-trip times beyond the codes' ranges, two days aggregated with pricing, a lab sweep.
Migration 2 -> 3 rewrites the file (pinger.store.rewrite); its own tests are in test_rewrite.py.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import shutil
import sqlite3
import typing
from pathlib import Path
from typing import NamedTuple
from zoneinfo import ZoneInfo

import pytest

from pinger.errors import StoreError
from pinger.models import PoolDay
from pinger.schema import ALL, POOL_DAILY, declare
from pinger.store.migrations import SCHEMA, Migration, RewriteNeeded, StoreSchema, migrate
from pinger.store.packing import rtt_code, rtt_value
from pinger.store.rewrite import rewrite_store
from pinger.store.sqlite import SqliteStore
from pinger.store.tables import add_column_sql, create_table_sql, insert_sql, record_of, rows, select_sql
from tests.data import make_store_fixture as fixture
from tests.support import ROOT

SCHEMA1_FILE = ROOT / "tests" / "data" / "store-schema1.sqlite"
BERLIN = ZoneInfo(fixture.ZONE)
TABLES = [measurement.name for measurement in ALL]


@pytest.fixture
def schema1_store(tmp_path) -> Path:
    """A copy of the first release's file, so that the committed one stays as it was written."""
    copy = tmp_path / "store.sqlite"
    shutil.copyfile(SCHEMA1_FILE, copy)
    return copy


def tables_in(db: sqlite3.Connection) -> list[str]:
    """The declared tables the file has (a first-release file has no pool_hourly)."""
    found = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    return [table for table in TABLES if table in found]


def relations_in(db: sqlite3.Connection) -> list[str]:
    """The declared measurements the file has, as tables or views (ping and pool_status are views from schema 3)."""
    found = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}
    return [table for table in TABLES if table in found]


def dump(path: Path) -> dict[str, list[tuple]]:
    """Every row of every measurement, read with plain SQL (tables or views)."""
    with contextlib.closing(sqlite3.connect(path)) as db:
        return {table: sorted(db.execute(f"SELECT * FROM {table}").fetchall(), key=repr) for table in relations_in(db)}


def table_shapes(path: Path) -> dict[str, list[tuple]]:
    """Each measurement's columns as SQLite reports them: name, type, NOT NULL, default, primary-key position."""
    with contextlib.closing(sqlite3.connect(path)) as db:
        return {table: [row[1:] for row in db.execute(f"PRAGMA table_info({table})")] for table in tables_in(db)}


def view_shapes(path: Path) -> dict[str, list[tuple]]:
    with contextlib.closing(sqlite3.connect(path)) as db:
        views = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'view'")]
        return {view: [row[1:3] for row in db.execute(f"PRAGMA table_info({view})")] for view in sorted(views)}


def migrated(path: Path, schema: StoreSchema) -> int:
    """Run the migrations of ``schema`` on a file as a store's open does (the rewrite step too); return the
    version it had."""
    found = user_version(path) if path.exists() else 0
    while True:
        db = sqlite3.connect(path, isolation_level=None)
        try:
            migrate(db, path, schema)
            return found
        except RewriteNeeded:
            pass
        finally:
            db.close()
        rewrite_store(path, BERLIN)


def quantized(ping_rows: list[tuple]) -> list[tuple]:
    """ping rows with rtt_ms as schema 3 stores it (10 µs below 500 ms, 1 ms above, 16,034 ms at most)."""
    return sorted(((*row[:4], None if row[4] is None else rtt_value(rtt_code(row[4]))) for row in ping_rows), key=repr)


def user_version(path: Path) -> int:
    with contextlib.closing(sqlite3.connect(path)) as db:
        return db.execute("PRAGMA user_version").fetchone()[0]


def test_the_first_release_file_holds_what_its_script_put_in():
    rows_of = dump(SCHEMA1_FILE)
    assert user_version(SCHEMA1_FILE) == 1
    imported = set(fixture.synthetic_samples())
    assert imported <= {(t, pool, host, bool(up), rtt) for t, pool, host, up, rtt in rows_of["ping"]}
    assert len(rows_of["ping"]) == len(imported) + 6  # and the one live sweep of six hosts
    assert [len(rows_of[t]) for t in ("pool_status", "collector", "host_daily", "pool_daily")] == [2, 1, 6, 2]


def test_a_first_release_store_opens_and_every_row_is_still_there_and_readable(schema1_store):
    before = dump(schema1_store)
    store = SqliteStore(schema1_store, BERLIN)
    try:
        days = store.pool_days(fixture.DAY, fixture.DAY)
        first_sample = store.first_sample_time()
        last_day = store.last_aggregated_day()
        samples = {
            found.host: found for found in store.host_samples("A101", [host for _, host in fixture.HOSTS], 0, 2**40)
        }
    finally:
        store.close()
    after = dump(schema1_store)
    assert user_version(schema1_store) == SCHEMA.version
    # Every row is still there (ping and pool_status now read through views; round-trip times to the
    # stored precision); the daily rows gained the new fields, empty (NULL), not zero.
    assert {table: after[table] for table in before} == {
        **before,
        "ping": quantized(before["ping"]),
        "host_daily": sorted((*row, None, None) for row in before["host_daily"]),
        "pool_daily": sorted(((*row, None, None) for row in before["pool_daily"]), key=repr),
    }
    assert after["pool_hourly"] == []

    # The daily rows, as typed records, exactly as the first release stored them; cost and co2_kg None.
    assert days == [
        PoolDay(dt.date.fromisoformat(date), pool, phase, json.loads(tags), *fields)
        for _, date, pool, phase, tags, *fields in sorted(before["pool_daily"], key=lambda row: row[2])
    ]
    assert {(day.cost, day.co2_kg) for day in days} == {(None, None)}
    assert {day.day for day in days} == {fixture.DAY} == {last_day}
    # Every sample, host by host, in time order.
    for host in samples:
        stored = sorted((t, bool(up)) for t, _, h, up, _ in before["ping"] if h == host)
        assert list(zip(samples[host].times, samples[host].states, strict=True)) == stored
    assert set(samples) == {host for _, host in fixture.HOSTS}
    assert first_sample == min(row[0] for row in before["ping"])


def test_a_fresh_store_has_the_migrated_first_release_tables_column_for_column(schema1_store, tmp_path):
    fresh = tmp_path / "fresh.sqlite"
    SqliteStore(fresh, BERLIN).close()
    SqliteStore(schema1_store, BERLIN).close()
    assert table_shapes(fresh) == table_shapes(schema1_store)
    assert view_shapes(fresh) == view_shapes(schema1_store)
    assert user_version(fresh) == user_version(schema1_store) == SCHEMA.version == 3
    # What schemas 2 and 3 changed of the first release's tables: pool_hourly added, ping and pool_status views.
    first = table_shapes(SCHEMA1_FILE)
    assert set(table_shapes(fresh)) - set(first) == {"pool_hourly"}
    assert set(first) - set(table_shapes(fresh)) == {"ping", "pool_status"}
    assert [column[0] for column in view_shapes(fresh)["ping"]] == ["time", "pool", "host", "up", "rtt_ms"]
    assert [column[0] for column in view_shapes(fresh)["pool_status"]] == ["time", "pool", "online", "total"]
    for table in ("host_daily", "pool_daily"):
        added = [("cost", "REAL", 0, None, 0), ("co2_kg", "REAL", 0, None, 0)]
        assert table_shapes(fresh)[table] == [*first[table], *added]


def test_a_first_release_store_read_without_migrating_has_empty_new_fields(schema1_store):
    before = dump(schema1_store)
    store = SqliteStore(schema1_store, BERLIN, "read")  # export, report: read-only, no migration
    try:
        days = store.pool_days(fixture.DAY, fixture.DAY)
        hours = store.pool_hours(fixture.DAY, fixture.DAY)
    finally:
        store.close()
    assert len(days) == 2 and {(day.cost, day.co2_kg) for day in days} == {(None, None)}
    assert hours == []
    assert dump(schema1_store) == before and user_version(schema1_store) == 1


def test_a_migrated_first_release_store_takes_hourly_rows_and_priced_days(schema1_store):
    from pinger.models import HostDay, PoolHour

    store = SqliteStore(schema1_store, BERLIN)
    try:
        (old,) = store.pool_days(fixture.DAY, fixture.DAY, ["A101"])
        priced = old._replace(cost=1.25, co2_kg=0.5)
        hour = PoolHour(1_793_574_000, "A101", "baseline", 1, 0, 0.5, 0.125, 1.0)  # 2026-11-02 00:00 in Berlin
        store.write_days([HostDay("A101", "h", old.day, 1.0, 1.0, 0.08, None, None, 0.02, 0.03)], [priced], [hour])
        assert store.pool_days(fixture.DAY, fixture.DAY, ["A101"]) == [priced]
        assert store.pool_hours(fixture.DAY, fixture.DAY) == [hour]
    finally:
        store.close()


def test_the_first_release_file_exports_through_todays_command_line(schema1_store, write_config, run_pinger):
    config = write_config(fixture.CONFIG.replace("STORE", str(schema1_store)))
    result = run_pinger("export", "-c", str(config), "--from", "2026-11-01", "--to", "2026-11-03")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "date,pool,phase,pcs_total,pcs_used,runtime_h,avg_runtime_h,energy_kwh,coverage,runtime_closed_h,on_at_close",
        "2026-11-02,A101,baseline,4,4,37.083333,9.270833,3.055042,1,8.083333,2",
        "2026-11-02,Mensa Süd 2,,2,1,7.083333,7.083333,0.460417,0.5,,",
    ]


def test_a_store_from_a_newer_pinger_is_refused_and_left_alone(schema1_store):
    with sqlite3.connect(schema1_store) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA.version + 1}")
    before = dump(schema1_store)
    with pytest.raises(StoreError) as refused:
        SqliteStore(schema1_store, BERLIN)
    assert str(refused.value) == (
        f"{schema1_store} was written by a newer Pinger (schema {SCHEMA.version + 1}; "
        f"this one reads up to {SCHEMA.version}): upgrade Pinger"
    )
    assert dump(schema1_store) == before and user_version(schema1_store) == SCHEMA.version + 1


# -- adding a field: one declaration, one migration step -------------------------------------------

# PoolDay as it would be with one more field, in a step on top of the real ones (schema 2 added ``cost`` so).
PoolDayWithTip = NamedTuple("PoolDayWithTip", [*typing.get_type_hints(PoolDay).items(), ("tip", float | None)])
POOL_DAILY_WITH_TIP = declare(
    "pool_daily",
    PoolDayWithTip,
    tags=POOL_DAILY.tag_names,
    fields=(*POOL_DAILY.field_names, "tip"),
    sqlite_key=POOL_DAILY.sqlite_key,
    free_tags="tags",
)
SCHEMA_WITH_TIP = StoreSchema(
    tuple(POOL_DAILY_WITH_TIP if m is POOL_DAILY else m for m in ALL),
    (
        *SCHEMA.migrations,
        Migration(SCHEMA.version + 1, "pool_daily gains tip", (add_column_sql(POOL_DAILY_WITH_TIP, "tip"),)),
    ),
)


def test_a_declared_field_flows_to_the_table_the_insert_the_line_and_the_csv():
    from pinger.aggregator.export import DIALECTS, long_rows, render_csv
    from pinger.store.influx import point_line

    assert "tip REAL, PRIMARY KEY" in create_table_sql(POOL_DAILY_WITH_TIP)
    assert insert_sql(POOL_DAILY_WITH_TIP).startswith("INSERT OR REPLACE INTO pool_daily (time, date, ")
    assert ", on_at_close, cost, co2_kg, tip) VALUES (" in insert_sql(POOL_DAILY_WITH_TIP)
    assert add_column_sql(POOL_DAILY_WITH_TIP, "tip") == "ALTER TABLE pool_daily ADD COLUMN tip REAL"
    row = PoolDayWithTip(
        fixture.DAY, "A101", None, {"building": "main"}, 4, 2, 3.5, 1.75, 0.28, 1.0, None, None, None, None, 0.0896
    )
    line = point_line(POOL_DAILY_WITH_TIP, row, 1_793_574_000)
    assert line == (
        "pool_daily,building=main,pool=A101 pcs_total=4i,pcs_used=2i,runtime_h=3.5,avg_runtime_h=1.75,"
        "energy_kwh=0.28,coverage=1.0,tip=0.0896 1793574000"
    )
    csv = render_csv(long_rows([row], POOL_DAILY_WITH_TIP), DIALECTS["unix"]).splitlines()
    # cost and co2_kg are left out unless energy: configures them; the new field is appended.
    assert csv[0].endswith(",runtime_closed_h,on_at_close,tip") and csv[1].endswith(",1,,,0.0896")


def test_the_step_migrates_a_first_release_file_keeping_every_row(schema1_store, tmp_path):
    before = dump(schema1_store)
    assert migrated(schema1_store, SCHEMA_WITH_TIP) == 1  # steps 2, 3 (a rewrite) and 4
    db = sqlite3.connect(schema1_store, isolation_level=None)
    try:
        assert user_version(schema1_store) == SCHEMA.version + 1
        old = [record_of(POOL_DAILY_WITH_TIP, found) for found in db.execute(select_sql(POOL_DAILY_WITH_TIP))]
        assert sorted(day.pool for day in old) == ["A101", "Mensa Süd 2"] and {day.tip for day in old} == {None}
        new = old[0]._replace(tip=1.25)
        db.executemany(insert_sql(POOL_DAILY_WITH_TIP), rows(POOL_DAILY_WITH_TIP, [new], BERLIN))
        (read,) = [
            record_of(POOL_DAILY_WITH_TIP, found)
            for found in db.execute(f"{select_sql(POOL_DAILY_WITH_TIP)} WHERE pool = ?", (new.pool,))
        ]
        assert read == new
        assert migrate(db, schema1_store, SCHEMA_WITH_TIP) == SCHEMA.version + 1  # done once only
    finally:
        db.close()
    after = dump(schema1_store)
    assert after["ping"] == quantized(before["ping"])
    assert sorted(row[:-2] for row in after["host_daily"]) == before["host_daily"]
    # Steps 2 (cost, co2_kg) and 4 (tip) each appended columns; the first release's values are untouched.
    assert sorted(row[:-3] for row in after["pool_daily"]) == sorted(before["pool_daily"])
    # A new file made with the extended declarations has the migrated file's tables, column for column.
    fresh = tmp_path / "fresh.sqlite"
    assert migrated(fresh, SCHEMA_WITH_TIP) == 0
    assert table_shapes(fresh) == table_shapes(schema1_store)


def test_a_step_that_fails_leaves_the_file_at_the_version_before_it(schema1_store):
    broken = StoreSchema(
        SCHEMA_WITH_TIP.measurements,
        (
            *SCHEMA_WITH_TIP.migrations,
            Migration(
                SCHEMA.version + 2, "a step that cannot work", ("ALTER TABLE pool_daily ADD COLUMN energy_kwh REAL",)
            ),
        ),
    )
    before = dump(schema1_store)
    with pytest.raises(
        StoreError,
        match=rf"Cannot migrate .* to schema {SCHEMA.version + 2} \(a step that cannot "
        rf"work\): duplicate column name: energy_kwh; the file is unchanged at "
        rf"schema {SCHEMA.version + 1}",
    ):
        migrated(schema1_store, broken)
    assert user_version(schema1_store) == SCHEMA.version + 1  # the step before it stands
    after = dump(schema1_store)
    assert sorted(row[:-3] for row in after["pool_daily"]) == sorted(before["pool_daily"])


def test_steps_must_number_the_versions_one_by_one(tmp_path):
    skipping = StoreSchema(ALL, (*SCHEMA.migrations, Migration(5, "skips 4", ())))
    with pytest.raises(ValueError, match=r"numbered \[2, 3, 4\]"):
        migrated(tmp_path / "s.sqlite", skipping)


def test_a_field_added_to_existing_rows_must_be_optional():
    class Strict(NamedTuple):
        time: int
        pool: str
        online: int
        total: int
        required: int

    strict = declare(
        "pool_status", Strict, tags=("pool",), fields=("online", "total", "required"), sqlite_key=("pool", "time")
    )
    with pytest.raises(ValueError, match=r"pool_status.required: a field added to existing rows must be optional"):
        add_column_sql(strict, "required")
