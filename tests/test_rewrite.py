"""Migration 2 -> 3: a schema-2 store written by the release before the packed layout is rewritten into a new
file, every sample kept; an interrupted or refused migration leaves the old file as it was.

``tests/data/store-schema2.sqlite`` was written by the release at 0acbc98 through its command line
(tests/data/make_schema2_fixture.py says how and what).
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from collections import defaultdict
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from pinger.errors import StoreError
from pinger.store.packing import rtt_code, rtt_value
from pinger.store.sqlite import SqliteStore
from tests.data import make_schema2_fixture as fixture
from tests.support import ROOT

SCHEMA2_FILE = ROOT / "tests" / "data" / "store-schema2.sqlite"
BERLIN = ZoneInfo(fixture.ZONE)
TABLES = ("collector", "host_daily", "pool_daily", "pool_hourly")


@pytest.fixture
def schema2_store(tmp_path) -> Path:
    copy = tmp_path / "store.sqlite"
    shutil.copyfile(SCHEMA2_FILE, copy)
    return copy


def rows(path: Path, query: str) -> list[tuple]:
    with contextlib.closing(sqlite3.connect(path)) as db:
        return sorted(db.execute(query).fetchall(), key=repr)


def everything(path: Path) -> dict[str, list[tuple]]:
    """Every row of ping, pool_status and the daily tables, read with plain SQL (tables or views)."""
    return {name: rows(path, f"SELECT * FROM {name}") for name in ("ping", "pool_status", *TABLES)}


def user_version(path: Path) -> int:
    return rows(path, "PRAGMA user_version")[0][0]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def unchanged(path: Path, before: dict[str, list[tuple]]) -> bool:
    """Every row as before, at schema 2, in WAL mode as the release left it."""
    return everything(path) == before and user_version(path) == 2 and rows(path, "PRAGMA journal_mode") == [("wal",)]


def stored_rtt(value: float | None) -> float | None:
    return None if value is None else rtt_value(rtt_code(value))


def test_the_schema2_file_holds_what_its_script_put_in():
    assert user_version(SCHEMA2_FILE) == 2
    ping = rows(SCHEMA2_FILE, "SELECT time, pool, host, up, rtt_ms FROM ping")
    imported = {(t, pool, host, int(up), rtt) for t, pool, host, up, rtt in fixture.synthetic_samples()}
    assert imported <= set(ping)
    assert len(ping) == len(imported) + len(fixture.hosts())  # and the one sweep of every configured host
    assert {pool for _, pool, *_ in ping} == {"A101", "Mensa Süd 2", "Mensa Alt", "Big"}
    counts = [len(rows(SCHEMA2_FILE, f"SELECT * FROM {name}")) for name in ("pool_status", *TABLES)]
    assert counts == [3, 1, 2 * len(fixture.hosts()), 6, 2 * 24 * 3]


def test_every_sample_of_a_schema2_store_reads_the_same_through_the_ping_view(schema2_store, caplog):
    before = everything(schema2_store)
    with caplog.at_level("INFO", logger="pinger.store"):
        SqliteStore(schema2_store, BERLIN).close()
    after = everything(schema2_store)
    assert user_version(schema2_store) == 3
    # Row for row, with round-trip times as stored: 10 µs steps below 500 ms, 1 ms steps above, and a reply
    # slower than the codes reach (20,000 ms) stored as their largest value, 16,034 ms.
    assert after["ping"] == sorted(((*row[:4], stored_rtt(row[4])) for row in before["ping"]), key=repr)
    assert {row[4] for row in after["ping"]} >= {712.0, 16034.0}
    rtt_after = {row[:3]: row[4] for row in after["ping"]}
    assert all(abs(rtt_after[row[:3]] - row[4]) <= 0.005 + 1e-9 for row in before["ping"] if row[4] and row[4] < 500)
    for name in ("pool_status", *TABLES):
        assert after[name] == before[name], name
    # Per host: the count, the ups, and the round-trip times (as the issue asks it compared).
    by_host_before: dict[str, list] = defaultdict(list)
    for row in before["ping"]:
        by_host_before[row[2]].append(row)
    for host, old in by_host_before.items():
        new = rows(schema2_store, f"SELECT time, pool, host, up, rtt_ms FROM ping WHERE host = '{host}'")
        assert len(new) == len(old) and sum(row[3] for row in new) == sum(row[3] for row in old)
        assert [row[4] for row in new] == [stored_rtt(row[4]) for row in old]
    messages = [record.getMessage() for record in caplog.records]
    assert any(message.startswith(f"migrating {schema2_store} (0.5 MB) to schema 3") for message in messages)
    assert any(f"migrated {schema2_store} to schema 3" in m and "samples, 0.5 MB -> " in m for m in messages)


def test_the_migrated_store_aggregates_to_the_releases_daily_rows(schema2_store, write_config):
    from pinger.aggregator.job import aggregate_days
    from pinger.config_load import load_config

    before = {
        name: rows(schema2_store, f"SELECT * FROM {name}") for name in ("host_daily", "pool_daily", "pool_hourly")
    }
    config = load_config(write_config(fixture.CONFIG.replace("STORE", str(schema2_store))))
    last = fixture.FIRST_DAY.replace(day=fixture.FIRST_DAY.day + fixture.DAYS - 1)
    assert aggregate_days(config, fixture.FIRST_DAY, last) == 6
    after = {name: rows(schema2_store, f"SELECT * FROM {name}") for name in ("host_daily", "pool_daily", "pool_hourly")}
    assert after == before


def test_a_migration_killed_midway_leaves_schema_2_as_it_was_and_runs_again(schema2_store):
    before = everything(schema2_store)
    child = textwrap.dedent(f"""
        import os, signal, sys
        from pathlib import Path
        from zoneinfo import ZoneInfo
        import pinger.store.rewrite as rewrite
        copy_block, calls = rewrite._copy_block, []

        def killed_on_the_third(*args):
            calls.append(1)
            if len(calls) == 3:
                os.kill(os.getpid(), signal.SIGKILL)
            return copy_block(*args)

        rewrite._copy_block = killed_on_the_third
        rewrite.rewrite_store(Path({str(schema2_store)!r}), ZoneInfo("Europe/Berlin"), block_samples=500)
    """)
    killed = subprocess.run([sys.executable, "-c", child], cwd=ROOT, capture_output=True, text=True)
    assert killed.returncode == -9, killed.stderr
    assert Path(f"{schema2_store}.schema3").exists()  # the half-written new file, never renamed
    assert user_version(schema2_store) == 2 and everything(schema2_store) == before  # opens: a valid file
    SqliteStore(schema2_store, BERLIN).close()  # and migrates from the start
    assert user_version(schema2_store) == 3 and not Path(f"{schema2_store}.schema3").exists()
    assert len(everything(schema2_store)["ping"]) == len(before["ping"])


def test_the_migration_reads_a_short_first_block_and_sizes_the_next_by_the_rate_it_found(schema2_store, monkeypatch):
    # Memory follows the samples of a block. The first block used to be a whole day, whatever the store's size
    # (10,000 hosts: 2.9 M samples, 419 MB of RSS); it is 600 s now, and a block grows at most 4-fold over the last.
    from pinger.store import rewrite

    sizes: list[int] = []
    copy_block = rewrite._copy_block

    def counted(*args):
        sizes.append(copy_block(*args))
        return sizes[-1]

    monkeypatch.setattr(rewrite, "_copy_block", counted)
    rewrite.rewrite_store(schema2_store, BERLIN, block_samples=100)
    day = rows(schema2_store, "SELECT count(*) FROM ping WHERE time < (SELECT min(time) FROM ping) + 86400")[0][0]
    assert day > 9_000  # what a day-long first block read
    assert sizes[0] < 100 and max(sizes) < 2_000 and sum(sizes) == len(rows(schema2_store, "SELECT 1 FROM ping"))


def test_a_full_disk_during_migration_is_one_sentence_and_changes_nothing(schema2_store, monkeypatch):
    import pinger.store.rewrite as rewrite

    copy_block = rewrite._copy_block
    calls = []

    def full_on_the_second(*args):
        calls.append(1)
        if len(calls) == 2:
            raise sqlite3.OperationalError("database or disk is full")
        return copy_block(*args)

    monkeypatch.setattr(rewrite, "_copy_block", full_on_the_second)
    monkeypatch.setattr(rewrite, "BLOCK_SAMPLES", 500)
    before = everything(schema2_store)
    with pytest.raises(StoreError) as refused:
        SqliteStore(schema2_store, BERLIN)
    assert str(refused.value).startswith(f"Cannot migrate {schema2_store} to schema 3: the disk is full (")
    assert str(refused.value).endswith("MB free); the store is unchanged at schema 2")
    assert unchanged(schema2_store, before) and not Path(f"{schema2_store}.schema3").exists()


def test_a_migration_without_room_for_the_new_file_is_refused_before_writing(schema2_store, monkeypatch):
    import pinger.store.rewrite as rewrite

    monkeypatch.setattr(rewrite, "_free", lambda path: 10 << 20)
    before = everything(schema2_store)
    with pytest.raises(StoreError, match=r"it needs about 67 MB free beside the store \(10 MB are\); the store is "):
        SqliteStore(schema2_store, BERLIN)
    assert unchanged(schema2_store, before) and not Path(f"{schema2_store}.schema3").exists()


def test_a_store_another_process_has_open_is_not_migrated(schema2_store, monkeypatch):
    import pinger.store.rewrite as rewrite

    monkeypatch.setattr(rewrite, "LOCK_WAIT_S", 0.3)
    before = everything(schema2_store)
    reader = sqlite3.connect(schema2_store)  # a reader in WAL mode, as export is: it holds the file open
    try:
        assert reader.execute("SELECT count(*) FROM ping").fetchone()[0] > 0
        with pytest.raises(
            StoreError,
            match="while another process has it open .*: stop it and try again; the store is unchanged at schema 2",
        ):
            SqliteStore(schema2_store, BERLIN)
    finally:
        reader.close()
    assert unchanged(schema2_store, before)
    SqliteStore(schema2_store, BERLIN).close()
    assert user_version(schema2_store) == 3


def test_export_report_and_health_read_a_schema2_store_without_migrating_it(schema2_store, write_config, run_pinger):
    config = write_config(fixture.CONFIG.replace("STORE", str(schema2_store)))
    before = digest(schema2_store)
    exported = run_pinger("export", "-c", str(config), "--from", "2026-11-02", "--to", "2026-11-03")
    assert exported.returncode == 0, exported.stderr
    stored = rows(schema2_store, "SELECT date, pool FROM pool_daily")
    assert sorted(tuple(line.split(",")[:2]) for line in exported.stdout.splitlines()[1:]) == stored
    hourly = run_pinger("export", "-c", str(config), "--from", "2026-11-02", "--to", "2026-11-02", "--hourly")
    assert hourly.returncode == 0, hourly.stderr and len(hourly.stdout.splitlines()) == 1 + 24 * 3
    health = run_pinger("health", "-c", str(config))
    assert "fixture2" in health.stdout + health.stderr
    assert digest(schema2_store) == before and user_version(schema2_store) == 2


def test_a_collector_started_on_a_schema2_store_migrates_it_and_is_not_stopped_as_replaced(
    schema2_store, write_config, monkeypatch
):
    # The migration renames a new file over the old one: a new inode. The collector's watch on its store file
    # (collector/store_file.py) must take the migrated file's identity, or its first write would stop it as
    # "replaced by another file".
    from pinger.collector.daemon import Collector, open_collector
    from pinger.config_load import load_config
    from tests.support import loopback_config

    monkeypatch.setattr(Collector, "install_signal_handlers", lambda self: None)
    before = rows(schema2_store, "SELECT time, pool, host, up FROM ping")
    collector = open_collector(load_config(loopback_config(write_config, schema2_store, hosts="127.0.0.1")))
    assert collector.run(sweeps=2, immediately=True) == (2, 0)
    assert user_version(schema2_store) == 3
    after = rows(schema2_store, "SELECT time, pool, host, up FROM ping")
    assert [row for row in after if row[1] != "LOOP"] == before
    assert [row[1:] for row in after if row[1] == "LOOP"] == [("LOOP", "127.0.0.1", 1)] * 2
