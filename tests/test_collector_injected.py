"""The collector as a unit: everything it works with is handed to it (a fake ping, a store in memory, a lock, a
clock that moves only when waited on), so its loop runs in milliseconds and sends no packet."""

from __future__ import annotations

import logging

import pytest

from pinger.collector.daemon import Collector
from pinger.collector.lock import CollectorLock
from pinger.collector.sweep import run_sweep
from pinger.collector.targets import Resolver
from pinger.config_load import load_config
from pinger.models import HostResult
from pinger.store.interface import SpoolFill
from tests.support.injected import FakeClock, FakePing, MemoryStore, SpooledMemoryStore

START = 1_000_000_000.3  # the fake wall clock at the start: 9.7 s before a 10-second boundary


def injected_collector(write_config, tmp_path, ping, store=None):
    # allow: loopback only. Had the real ping been used, 127.0.0.2 would answer: the fake says it is off.
    path = write_config(f"""
        timezone: UTC
        interval: 10s
        collector: {{name: unit}}
        allow: [127.0.0.0/8]
        storage: {{path: {tmp_path / "never-written.sqlite"}}}
        pools:
          - {{name: A, watts: 50, hosts: [127.0.0.1-127.0.0.2]}}
          - {{name: B, watts: 50, hosts: [127.0.0.3]}}
    """)
    config = load_config(path)
    lock = CollectorLock(tmp_path / "never-written.sqlite", "unit", ["A", "B"])
    lock.acquire()
    store = store or MemoryStore()
    return Collector(config, store, lock, clock=FakeClock(START), ping=ping), store, lock


def test_the_collector_sweeps_through_the_injected_ping_into_the_injected_store(write_config, tmp_path, caplog):
    ping = FakePing({"127.0.0.1": 0.25, "127.0.0.3": 1.5})  # 127.0.0.2 stays silent
    collector, store, lock = injected_collector(write_config, tmp_path, ping)
    with caplog.at_level(logging.INFO, logger="pinger.collector"):
        assert collector.run(sweeps=2) == (2, 0)
    assert ping.asked == [["127.0.0.1", "127.0.0.2", "127.0.0.3"]] * 2
    # On the fake clock's boundaries: 1_000_000_010 is the first at or after START, then one interval on.
    assert [sweep.scheduled for sweep in store.sweeps] == [1_000_000_010, 1_000_000_020]
    assert store.sweeps[0].hosts == (
        HostResult("A", "127.0.0.1", True, 0.25),
        HostResult("A", "127.0.0.2", False, None),
        HostResult("B", "127.0.0.3", True, 1.5),
    )
    assert [(s.time, s.collector, s.hosts, s.online, s.write_errors) for s in store.statuses] == [
        (1_000_000_010, "unit", 3, 2, 0),
        (1_000_000_020, "unit", 3, 2, 0),
    ]
    sweeps = [r.getMessage() for r in caplog.records if "hosts on" in r.getMessage()]
    assert len(sweeps) == 2 and sweeps[0].startswith("sweep 2001-09-09 01:46:50 UTC: 2/3 hosts on, ")
    # The collector owns what it was handed: at the end of its run the store is closed and the lock released.
    assert store.closed and not lock.path.exists()


def test_a_stop_asked_for_before_the_run_takes_no_sweep_and_still_closes_the_store(write_config, tmp_path, caplog):
    ping = FakePing({})
    collector, store, lock = injected_collector(write_config, tmp_path, ping)
    collector.stop.request()
    with caplog.at_level(logging.INFO, logger="pinger.collector"):
        assert collector.run() == (0, 0)
    assert ping.asked == [] and store.sweeps == []
    assert store.closed and not lock.path.exists()
    assert "collector unit: stopping (asked to)" in caplog.text


def test_an_outbox_that_fills_is_warned_about_once_per_level_and_counted_in_the_status(write_config, tmp_path, caplog):
    store = SpooledMemoryStore(SpoolFill(tmp_path / "spool.sqlite", 85, 1234))
    store.waiting, store.delivery_errors = 7, 2  # InfluxDB away: sweeps wait in the outbox, deliveries failed
    collector, store, _ = injected_collector(write_config, tmp_path, FakePing({"127.0.0.1": 0.2}), store)
    with caplog.at_level(logging.INFO, logger="pinger.collector"):
        assert collector.run(sweeps=2) == (2, 0)
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warned == [
        f"the spool {tmp_path / 'spool.sqlite'} is 85% full (1234 sweeps); at 100% new sweeps cannot be kept: "
        "restore the connection to InfluxDB or raise storage.influxdb.spool_max"
    ]  # at 80 %, once: the second sweep is at the same level
    assert [(s.spool_backlog, s.write_errors) for s in store.statuses] == [(7, 2), (7, 2)]
    sweeps = [r.getMessage() for r in caplog.records if "hosts on" in r.getMessage()]
    assert all(line.endswith(", 7 sweeps waiting to be written") for line in sweeps)


def test_a_store_without_an_outbox_is_never_asked_what_waits(write_config, tmp_path, caplog):
    # MemoryStore is a SweepStore only (as the SQLite store): no backlog, spool_fill or write_errors to call.
    collector, store, _ = injected_collector(write_config, tmp_path, FakePing({"127.0.0.1": 0.2}))
    with caplog.at_level(logging.INFO, logger="pinger.collector"):
        assert collector.run(sweeps=2) == (2, 0)
    assert collector.outbox is None
    assert [(s.spool_backlog, s.write_errors) for s in store.statuses] == [(0, 0), (0, 0)]
    assert not any("spool" in r.getMessage() or "waiting" in r.getMessage() for r in caplog.records)
    assert store.closed


def test_a_spooled_store_that_fails_its_check_is_closed_without_waiting_to_deliver(write_config, tmp_path, monkeypatch):
    from pinger.collector import daemon
    from pinger.errors import InfluxConfigError

    class Refusing(SpooledMemoryStore):
        def check(self) -> None:
            raise InfluxConfigError("InfluxDB rejects the token (401)")

    store = Refusing(SpoolFill(tmp_path / "spool.sqlite", 0, 0))
    monkeypatch.setattr(daemon, "open_sweep_store", lambda _config: store)
    config = load_config(
        write_config(f"""
        timezone: UTC
        storage: {{path: {tmp_path / "s.sqlite"}}}
        pools: [{{name: A, watts: 50, hosts: [127.0.0.1]}}]
    """)
    )
    with pytest.raises(InfluxConfigError):
        daemon.open_collector(config)
    assert store.closed and store.flushed_for == 0  # nothing of this run waits: no flush
    assert list(tmp_path.glob("*.collector-*.lock")) == []  # the lock was given back


def test_run_sweep_pings_the_addresses_and_keeps_the_config_order(write_config, tmp_path):
    path = write_config("""
        timezone: UTC
        allow: [127.0.0.0/8]
        pools:
          - {name: A, watts: 50, hosts: [127.0.0.9, 127.0.0.1]}
    """)
    ping = FakePing({"127.0.0.1": 0.5})
    sweep = run_sweep(load_config(path), Resolver(), scheduled=1_700_000_000, ping=ping)
    assert ping.asked == [["127.0.0.9", "127.0.0.1"]]
    assert sweep.scheduled == 1_700_000_000
    assert sweep.hosts == (HostResult("A", "127.0.0.9", False, None), HostResult("A", "127.0.0.1", True, 0.5))
