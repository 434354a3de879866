"""The collector daemon on loopback: clean stop on SIGINT/SIGTERM, reload on SIGHUP, the clock's boundaries."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import sqlite3
import threading
import time
from itertools import pairwise
from pathlib import Path

import pytest

from pinger.collector.daemon import Collector, next_boundary, open_collector
from pinger.collector.targets import Resolver
from pinger.config_load import load_config
from pinger.errors import StoreError
from tests.support import loopback_config

pytestmark = pytest.mark.slow  # collectors sweeping on their interval, in real time


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_signal_stops_the_daemon_cleanly_after_its_sweep(write_config, tmp_path, daemon, stop_signal):
    store = tmp_path / "s.sqlite"
    collector = daemon("collect", "-c", str(loopback_config(write_config, store)))
    collector.wait_for_sweeps(2)
    assert collector.stop(stop_signal) == 0
    assert "Traceback" not in collector.log
    assert collector.log.count(f"collector loop: stopping ({stop_signal.name})") == 1
    with sqlite3.connect(store) as db:
        counts = db.execute("SELECT count(*), count(DISTINCT time) FROM ping").fetchone()
    assert counts[0] == 3 * counts[1] and counts[1] >= 2  # whole sweeps only


def test_sighup_applies_a_valid_edit_and_keeps_running_config_on_a_bad_one(write_config, tmp_path, daemon):
    store = tmp_path / "s.sqlite"
    config = loopback_config(write_config, store)
    collector = daemon("collect", "-c", str(config))
    collector.wait_for_sweeps(1)
    # A valid edit: one more host.
    loopback_config(write_config, store, hosts="127.0.0.1-127.0.0.4")
    collector.process.send_signal(signal.SIGHUP)
    collector.wait_for_sweeps(2)
    # A broken edit: the running config (4 hosts) stays.
    config.write_text("timezone: Nowhere/Land\npools: []\n")
    collector.process.send_signal(signal.SIGHUP)
    collector.wait_for_sweeps(2)
    assert collector.stop() == 0
    assert "config reloaded: 4 hosts in 1 pools" in collector.log
    assert "config reload rejected, keeping the running config" in collector.log
    assert f"{config}:1: timezone: 'Nowhere/Land' is not an IANA time zone name" in collector.log
    assert "3/3 hosts on" in collector.sweep_lines[0]
    assert all("4/4 hosts on" in line for line in collector.sweep_lines[-2:])


def test_next_boundary_is_aligned_to_the_clock():
    assert next_boundary(1_000_000_000.0, 300) == 1_000_000_200.0  # 10^9 s is 200 s before a 5-minute mark
    assert next_boundary(1_000_000_200.0, 300) == 1_000_000_200.0
    assert next_boundary(1_000_000_200.5, 300) == 1_000_000_500.0


def test_collect_once_stores_one_sweep(write_config, tmp_path, run_pinger):
    store = tmp_path / "s.sqlite"
    config = loopback_config(write_config, store)
    before = int(time.time())
    result = run_pinger("collect", "-c", str(config), "--once")
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(store) as db:
        rows = db.execute("SELECT time, host, up FROM ping ORDER BY host").fetchall()
        status = db.execute("SELECT pool, online, total FROM pool_status").fetchall()
    assert [(host, up) for _, host, up in rows] == [("127.0.0.1", 1), ("127.0.0.2", 1), ("127.0.0.3", 1)]
    assert before <= rows[0][0] <= int(time.time())
    assert status == [("LOOP", 3, 3)]


def test_an_edited_file_is_reloaded_without_a_signal(write_config, tmp_path, daemon):
    store = tmp_path / "s.sqlite"
    config = loopback_config(write_config, store)
    collector = daemon("collect", "-c", str(config))
    collector.wait_for_sweeps(1)
    time.sleep(0.05)  # a new modification time even on coarse clocks
    loopback_config(write_config, store, hosts="127.0.0.1-127.0.0.2")
    collector.wait_for_sweeps(2)
    assert collector.stop() == 0
    assert "config reloaded: 2 hosts in 1 pools" in collector.log
    assert "2/2 hosts on" in collector.sweep_lines[-1]


def collector_with_failing_writes(write_config, tmp_path, failures: int) -> tuple[Collector, Path]:
    """A collector on 127.0.0.1 whose next ``failures`` sweep writes fail as on a full disk; and its store."""
    store = tmp_path / "s.sqlite"
    path = loopback_config(write_config, store, hosts="127.0.0.1")
    collector_daemon = open_collector(load_config(path))
    real_write = collector_daemon.store.write_sweep
    calls = {"failed": 0}

    def write_sweep(sweep, status):
        if calls["failed"] < failures:
            calls["failed"] += 1
            raise StoreError(f"Cannot write to the SQLite store {store}: database or disk is full")
        real_write(sweep, status)

    collector_daemon.store.write_sweep = write_sweep
    return collector_daemon, store


def test_sweeps_that_cannot_be_written_wait_and_arrive_in_order(write_config, tmp_path, caplog):
    collector_daemon, store = collector_with_failing_writes(write_config, tmp_path, failures=2)
    with caplog.at_level("INFO", logger="pinger.collector"):
        assert collector_daemon.run(sweeps=3) == (3, 0)
    with sqlite3.connect(store) as db:
        times = [row[0] for row in db.execute("SELECT time FROM ping ORDER BY time")]
        written_errors = [row[0] for row in db.execute("SELECT write_errors FROM collector ORDER BY time")]
    assert len(times) == 3 and times == sorted(set(times))  # all three sweeps, each once
    assert written_errors == [0, 1, 2]  # each sweep's own figure: failures seen before it was taken
    assert caplog.text.count("(will retry at the next sweep)") == 2
    assert "2 sweeps waiting to be written" in caplog.text
    assert "are lost" not in caplog.text


def test_stopping_with_unwritable_sweeps_says_how_many_are_lost(write_config, tmp_path, caplog):
    collector_daemon, store = collector_with_failing_writes(write_config, tmp_path, failures=10)
    with caplog.at_level("INFO", logger="pinger.collector"):
        assert collector_daemon.run(sweeps=2) == (2, 2)
    with sqlite3.connect(store) as db:
        assert db.execute("SELECT count(*) FROM ping").fetchone()[0] == 0
    lost = [record.getMessage() for record in caplog.records if "are lost" in record.getMessage()]
    assert len(lost) == 1 and lost[0].startswith("stopping with 2 sweeps that could not be stored")


def test_too_many_unwritable_sweeps_stop_the_collector_loudly(write_config, tmp_path, caplog, monkeypatch):
    monkeypatch.setattr("pinger.collector.daemon.MAX_UNWRITTEN_SWEEPS", 2)
    collector_daemon, _store = collector_with_failing_writes(write_config, tmp_path, failures=10)
    with caplog.at_level("INFO", logger="pinger.collector"), pytest.raises(StoreError, match="2 sweeps in a row"):
        collector_daemon.run(sweeps=5, immediately=True)
    assert "stopping with 2 sweeps that could not be stored" in caplog.text


def hold_the_store_locked(store: Path, seconds: float, locked: threading.Event) -> threading.Thread:
    """Another process's writer: BEGIN EXCLUSIVE on the store for ``seconds``, from a thread of its own."""

    def hold() -> None:
        db = sqlite3.connect(store, isolation_level=None)
        db.execute("BEGIN EXCLUSIVE")
        locked.set()
        time.sleep(seconds)
        db.execute("COMMIT")
        db.close()

    thread = threading.Thread(target=hold, daemon=True)
    return thread


@pytest.mark.parametrize("busy_timeout_s", [30.0, 0.5])
def test_a_locked_store_delays_writing_never_sweeping(write_config, tmp_path, caplog, monkeypatch, busy_timeout_s):
    # 30 s: each write waits for the lock and succeeds late; 0.5 s: writes fail while it is held
    # and are tried again at the next sweep. Either way every sweep is taken on time and stored.
    monkeypatch.setattr("pinger.store.sqlite.BUSY_TIMEOUT_S", busy_timeout_s)
    store = tmp_path / "s.sqlite"
    path = loopback_config(write_config, store, hosts="127.0.0.1")
    collector_daemon = open_collector(load_config(path))
    locked = threading.Event()
    locker = hold_the_store_locked(store, 3.5, locked)
    real_write = collector_daemon.store.write_sweep

    def write_then_lock(sweep, status):
        real_write(sweep, status)
        if not locker.is_alive() and not locked.is_set():
            locker.start()  # after the first sweep is stored, another process locks the store
            locked.wait()

    collector_daemon.store.write_sweep = write_then_lock
    with caplog.at_level("INFO", logger="pinger.collector"):
        assert collector_daemon.run(sweeps=7) == (7, 0)
    locker.join()
    with sqlite3.connect(store) as db:
        times = [row[0] for row in db.execute("SELECT time FROM ping ORDER BY time")]
    assert len(times) == 7 and [b - a for a, b in pairwise(times)] == [1] * 6  # none skipped, none lost
    assert "sweeps skipped" not in caplog.text and "are lost" not in caplog.text
    (caught_up,) = [r.getMessage() for r in caplog.records if "waited and were written" in r.getMessage()]
    if busy_timeout_s > 3.5:
        assert caught_up.startswith("writing to the store took ")
    else:
        assert caught_up.startswith("the store was locked for ") and "database is locked" in caplog.text
    assert int(caught_up.split(" sweeps waited")[0].rsplit(" ", 1)[1]) >= 3


def test_a_second_collector_on_the_same_store_refuses_naming_the_first(write_config, tmp_path, daemon, run_pinger):
    store = tmp_path / "s.sqlite"
    first = daemon("collect", "-c", str(loopback_config(write_config, store)))
    first.wait_for_sweeps(1)
    second = run_pinger("collect", "-c", str(loopback_config(write_config, store, name="again.yaml")), "--once")
    assert second.returncode == 1
    assert second.stderr.startswith(
        f"pinger: another collector is already writing to {store}: loop (pid {first.process.pid} on "
    )
    assert "pools LOOP); stop it first, or give this one another collector.name and pools of its own" in second.stderr
    assert first.stop() == 0
    assert not list(tmp_path.glob("*.collector-*.lock"))  # the first removed its lock at its stop


def test_collectors_with_other_names_and_pools_may_share_a_store(write_config, tmp_path, daemon, run_pinger):
    store = tmp_path / "s.sqlite"
    first = daemon("collect", "-c", str(loopback_config(write_config, store)))
    first.wait_for_sweeps(1)
    other = write_config(
        f"""
        timezone: UTC
        interval: 1s
        collector: {{name: loop-2}}
        ping: {{timeout: 500ms, retries: 0}}
        allow: [127.0.0.0/8]
        storage: {{path: {store}}}
        pools:
          - {{name: LOOP-2, watts: 50, hosts: [127.0.1.1]}}
    """,
        "other.yaml",
    )
    second = run_pinger("collect", "-c", str(other), "--once")
    assert second.returncode == 0, second.stderr
    assert f"collector loop (pid {first.process.pid} on " in second.stderr
    assert f"pools LOOP) also writes to {store}, with other pools" in second.stderr
    assert first.stop() == 0


def test_a_lock_left_by_a_killed_collector_does_not_stop_the_next(write_config, tmp_path, daemon, run_pinger):
    store = tmp_path / "s.sqlite"
    config = loopback_config(write_config, store)
    killed = daemon("collect", "-c", str(config))
    killed.wait_for_sweeps(1)
    killed.kill()  # SIGKILL: no clean-up, the lock file stays behind
    assert list(tmp_path.glob("s.sqlite.collector-*.lock"))
    again = run_pinger("collect", "-c", str(config), "--once")
    assert again.returncode == 0, again.stderr
    assert "another collector" not in again.stderr


# -- issue 20: the store's file deleted under the collector, lost sweeps, hosts not observed ----------------------


@pytest.mark.parametrize("how", ["deleted", "replaced"])
def test_a_store_file_deleted_or_replaced_under_the_collector_stops_it_loudly(write_config, tmp_path, daemon, how):
    """rm -rf of the store's directory, or another file moved over the store: the collector notices before its next
    write, says so in one sentence and exits 1, instead of writing on into a file no one can open."""
    store = tmp_path / "data" / "s.sqlite"
    collector = daemon("collect", "-c", str(loopback_config(write_config, store)))
    collector.wait_for_sweeps(1)
    if how == "deleted":
        shutil.rmtree(store.parent)
    else:
        other = tmp_path / "other.sqlite"
        sqlite3.connect(other).close()
        os.replace(other, store)
    assert collector.finish(timeout=120) == 1
    last = collector.lines[-1]
    assert last == (
        f"pinger: the store file {store} was {'deleted' if how == 'deleted' else 'replaced by another file'} while "
        "the collector ran; stopping rather than write sweeps into a file no one can open any more (start the "
        f"collector again {'to begin a new store there' if how == 'deleted' else 'to write to the file now there'})\n"
    )
    assert "Traceback" not in collector.log
    if how == "replaced":  # the file now there was left alone
        with sqlite3.connect(store) as db:
            assert db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0


def test_collect_exits_1_when_sweeps_were_lost(write_config, tmp_path, monkeypatch, capsys):
    """A full disk for the whole run: every sweep is lost, and the exit code says so (it was 0)."""
    from pinger.cli import main
    from pinger.store.sqlite import SqliteStore

    def disk_full(self, sweep, status):
        raise StoreError(f"Cannot write to the SQLite store {self.path}: database or disk is full")

    monkeypatch.setattr(SqliteStore, "write_sweep", disk_full)
    monkeypatch.setattr(Collector, "install_signal_handlers", lambda self: None)
    path = loopback_config(write_config, tmp_path / "s.sqlite", hosts="127.0.0.1")
    assert main(["collect", "-c", str(path), "--sweeps", "2"]) == 1
    assert main(["collect", "-c", str(path), "--once"]) == 1
    monkeypatch.undo()
    monkeypatch.setattr(Collector, "install_signal_handlers", lambda self: None)
    assert main(["collect", "-c", str(path), "--once"]) == 0


class StubResolver(Resolver):
    """Answers from a table instead of DNS: name -> address, or None for a name that does not resolve."""

    def __init__(self, answers: dict[str, str | None]):
        super().__init__()
        self.answers = answers

    def resolve(self, names):
        return {
            name: (self.answers[name], None) if self.answers[name] else (None, "name does not resolve (stub)")
            for name in names
        }


def test_a_host_that_does_not_resolve_is_not_observed_not_off(write_config, tmp_path, caplog):
    store = tmp_path / "s.sqlite"
    path = loopback_config(write_config, store, hosts="127.0.0.1, pc-gone.example")
    collector_daemon = open_collector(load_config(path))
    collector_daemon.resolver = StubResolver({"pc-gone.example": None})
    with caplog.at_level("INFO", logger="pinger.collector"):
        assert collector_daemon.run(sweeps=2, immediately=True) == (2, 0)
    with sqlite3.connect(store) as db:
        hosts = {row[0] for row in db.execute("SELECT host FROM ping")}
        status = db.execute("SELECT DISTINCT online, total FROM pool_status").fetchall()
        collector_rows = db.execute("SELECT DISTINCT hosts, online FROM collector").fetchall()
    assert hosts == {"127.0.0.1"}  # no sample for the name: its time is unobserved, not off
    assert status == [(1, 1)] and collector_rows == [(1, 1)]  # counts of what was observed
    sweeps = [r.getMessage() for r in caplog.records if "hosts on" in r.getMessage()]
    assert len(sweeps) == 2 and all(": 1/1 hosts on, 1 not observed, " in line for line in sweeps)


def test_a_gap_lowers_coverage_and_is_not_counted_as_off(write_config, tmp_path):
    """A day of 5-minute sweeps; pc-b's name does not resolve until noon, and pc-b is on all day. By hand: its
    samples run from 12:00 to 23:55, each speaking for 5 minutes around it (hold = interval), so it is observed,
    and on, from 11:55 to midnight: 12 h 5 min; coverage 12.0833 / 24. Stored as off, it read 12.04 h and full
    coverage."""
    from pinger.aggregator.job import aggregate_days
    from pinger.models import CollectorStatus, HostResult, SweepResult
    from pinger.store.sqlite import SqliteStore

    store = tmp_path / "s.sqlite"
    path = loopback_config(write_config, store, hosts="127.0.0.1, pc-b.example", interval="5m")
    config = load_config(path)
    midnight = 1_793_577_600  # 2026-11-02 00:00 UTC
    writer = SqliteStore(store, config.timezone)
    for step in range(288):
        resolved = step >= 144
        sweep = SweepResult(
            midnight + step * 300,
            0.01,
            (
                HostResult("LOOP", "127.0.0.1", False, None),
                HostResult("LOOP", "pc-b.example", True, 0.2)
                if resolved
                else HostResult("LOOP", "pc-b.example", False, None, "name does not resolve"),
            ),
        )
        writer.write_sweep(sweep, CollectorStatus(sweep.scheduled, "loop", sweep.observed, sweep.online, 0.01))
    writer.close()
    day = dt.date(2026, 11, 2)
    aggregate_days(config, day, day)
    with sqlite3.connect(store) as db:
        pc_b = db.execute("SELECT runtime_h, coverage FROM host_daily WHERE host = 'pc-b.example'").fetchone()
        pool = db.execute("SELECT runtime_h, coverage FROM pool_daily").fetchone()
    observed_h = 12 + 5 / 60
    assert pc_b == (pytest.approx(observed_h), pytest.approx(observed_h / 24))
    assert pool == (pytest.approx(observed_h), pytest.approx((1 + observed_h / 24) / 2))


def test_two_names_for_one_address_are_pinged_and_counted_once(write_config, tmp_path, caplog):
    store = tmp_path / "s.sqlite"
    path = loopback_config(write_config, store, hosts="pc-a.example, 127.0.0.1")
    collector_daemon = open_collector(load_config(path))
    collector_daemon.resolver = StubResolver({"pc-a.example": "127.0.0.1"})
    with caplog.at_level("INFO", logger="pinger.collector"):
        assert collector_daemon.run(sweeps=2, immediately=True) == (2, 0)
    with sqlite3.connect(store) as db:
        samples = db.execute("SELECT host, count(*) FROM ping GROUP BY host").fetchall()
    assert samples == [("pc-a.example", 2)]  # 127.0.0.1 is the same PC: not counted again
    shared = [r.getMessage() for r in caplog.records if "counted once" in r.getMessage()]
    assert shared == [
        "host 127.0.0.1 reaches 127.0.0.1, as pc-a.example listed before it does: one PC, pinged and counted "
        "once, as pc-a.example (list it once in the config)"
    ]  # logged once, not at every sweep
