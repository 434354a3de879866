"""Who may create a store, and reading one without write access: a mistyped storage.path is an error, never zeros."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from pinger.errors import StoreError
from pinger.store.sqlite import SqliteStore
from tests.data import make_store_fixture as fixture
from tests.support import ROOT, as_nobody, pinger_command
from tests.support.processes import HANG_S

SCHEMA1_FILE = ROOT / "tests" / "data" / "store-schema1.sqlite"


def config_for(write_config, store: Path, name: str = "pinger.yaml") -> Path:
    return write_config(fixture.CONFIG.replace("STORE", str(store)), name)


@pytest.mark.parametrize(
    "command",
    [
        ["aggregate", "--date", "2026-11-02"],
        ["export", "--from", "2026-11-02", "--to", "2026-11-02"],
    ],
)
def test_readers_of_a_store_that_is_not_there_say_so_and_create_nothing(write_config, tmp_path, run_pinger, command):
    store = tmp_path / "data" / "typo.sqlite"
    result = run_pinger(*command, "-c", str(config_for(write_config, store)))
    assert result.returncode == 1
    assert result.stderr.strip().endswith(f"pinger: no store at {store} (storage.path): run the collector first")
    assert not store.exists() and not store.parent.exists()
    assert result.stdout == ""


def test_the_nightly_run_waits_for_a_store_instead_of_making_one(write_config, tmp_path, daemon):
    store = tmp_path / "typo.sqlite"
    nightly = daemon("aggregate", "-c", str(config_for(write_config, store)), "--nightly")
    nightly.wait_for("nightly: next run at")
    assert nightly.stop() == 0
    assert f"no store at {store} (storage.path): run the collector first); retrying in 15 minutes" in nightly.log
    assert not store.exists()


def test_export_reads_a_store_in_a_directory_it_cannot_write(write_config, public_dir, run_pinger):
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) is not installed")
    store = public_dir / "store.sqlite"
    shutil.copyfile(SCHEMA1_FILE, store)  # closed cleanly: no -wal or -shm file beside it
    os.chmod(store, 0o644)
    config = public_dir / "pinger.yaml"
    config.write_text(fixture.CONFIG.replace("STORE", str(store)))
    os.chmod(config, 0o644)
    before = sorted(p.name for p in public_dir.iterdir())
    export = as_nobody(pinger_command("export", "-c", str(config), "--from", "2026-11-02", "--to", "2026-11-02"))
    result = subprocess.run(export, capture_output=True, text=True, cwd="/", timeout=HANG_S)
    if "Permission denied" in result.stderr and "python" in result.stderr:
        pytest.skip("user nobody cannot run this checkout's Python (a private directory on the way)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1].startswith("2026-11-02,A101,baseline,4,4,37.083333")
    assert sorted(p.name for p in public_dir.iterdir()) == before  # nothing created, nothing migrated
    # A writer in the same place is told that the directory, not the file, is read-only.
    aggregate = as_nobody(pinger_command("aggregate", "-c", str(config), "--date", "2026-11-02"))
    result = subprocess.run(aggregate, capture_output=True, text=True, cwd="/", timeout=HANG_S)
    assert result.returncode == 1
    assert (
        f"the directory {public_dir} is read-only (SQLite writes store.sqlite-wal and store.sqlite-shm" in result.stderr
    )


def test_a_read_only_store_open_neither_creates_nor_migrates(tmp_path):
    empty = tmp_path / "empty.sqlite"
    sqlite3.connect(empty).close()  # a file, but no Pinger schema in it
    with pytest.raises(StoreError, match=r"is not a Pinger store \(it has no schema version\)"):
        SqliteStore(empty, ZoneInfo("UTC"), "read")
    with pytest.raises(StoreError, match="is a directory, not a store file"):
        SqliteStore(tmp_path, ZoneInfo("UTC"), "read")


def _open_new_store(path: str, start: float, results) -> None:
    while time.time() < start:
        pass
    try:
        SqliteStore(Path(path), ZoneInfo("UTC")).close()
        results.put("ok")
    except Exception as err:  # the test reports what went wrong
        results.put(f"{type(err).__name__}: {err}")


@pytest.mark.slow
def test_two_processes_creating_one_store_at_once_both_succeed(tmp_path):
    # Before: "database is locked" in 28 of 40 tries here (the switch to WAL does not wait for a lock).
    context = multiprocessing.get_context("fork")
    for attempt in range(12):
        path = str(tmp_path / f"s{attempt}.sqlite")
        results = context.Queue()
        start = time.time() + 0.2
        openers = [context.Process(target=_open_new_store, args=(path, start, results)) for _ in range(2)]
        for process in openers:
            process.start()
        for process in openers:
            process.join(timeout=HANG_S)
        assert [results.get(timeout=5) for _ in openers] == ["ok", "ok"], f"attempt {attempt}"


def test_reading_runs_beside_a_running_writer(tmp_path):
    store = tmp_path / "s.sqlite"
    writer = SqliteStore(store, ZoneInfo("UTC"))
    try:
        reader = SqliteStore(store, ZoneInfo("UTC"), "read")
        try:
            assert reader.last_aggregated_day() is None and reader.first_sample_time() is None
        finally:
            reader.close()
    finally:
        writer.close()
