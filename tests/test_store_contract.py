"""One contract for every store backend: the same inputs give the same rows out.

Each test runs against the SQLite store, the InfluxDB store talking to the stand-in
(tests/support/influx_standin.py), and a real InfluxDB 2 when PINGER_TEST_INFLUXDB_URL, _TOKEN and _ORG
are set (the GitHub job; buckets are made for each test and deleted after it). The stores are reached
as the product reaches them: through the registry (``pinger.store.open_sweep_store``,
``open_history_store``, ``newest_sweep``) and the aggregator (``aggregate_days``); the expected rows
are worked out by hand from the nearest-sample rule, so both backends meet the same numbers, not
merely each other.

The day: Tuesday 3 November 2026 in Europe/Berlin (CET, UTC+1), sampled every 5 minutes with hold 5
minutes. Pool A101 (100 W, open weekdays 08:00-18:00, tagged) holds 10.0.0.1 and 10.0.0.2; pool
B202 (50 W) holds 10.0.0.3. Where the backends legitimately differ, the test's docstring says how and
asserts it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import pytest

from pinger.aggregator.job import aggregate_days
from pinger.config import Config
from pinger.config_load import load_config
from pinger.models import CollectorStatus, HostResult, PoolDay, Sample, SweepResult
from pinger.store import HistoryStore, Spooled, newest_sweep, open_history_store, open_sweep_store
from tests.support import influx_storage
from tests.support.influx_standin import InfluxStandin

REAL_URL = os.environ.get("PINGER_TEST_INFLUXDB_URL")
TOKEN = "s3cret-token"
BERLIN = ZoneInfo("Europe/Berlin")
DAY = dt.date(2026, 11, 3)
MIDNIGHT = int(dt.datetime.combine(DAY, dt.time(0), BERLIN).timestamp())
STEP = 300  # the interval: a sample every 5 minutes, 288 in the day
H1, H2, H3 = "10.0.0.1", "10.0.0.2", "10.0.0.3"
POOL_OF = {H1: "A101", H2: "A101", H3: "B202"}
FLUSH_S = 600.0  # a limit on delivering to InfluxDB, never a wait: the flush returns when the spool is empty


def at(hour: int, minute: int = 0) -> int:
    """The unix time of a local clock time of DAY."""
    return MIDNIGHT + (hour * 60 + minute) * 60


def step(hour: int, minute: int = 0) -> int:
    """The index of the sample at a local clock time of DAY."""
    return (hour * 60 + minute) // 5


# -- the backends ---------------------------------------------------------------------------------------------


class Backend(NamedTuple):
    """One backend under the contract: ``name`` and how to write a config for it (``building``: A101's tag)."""

    name: str
    config: Callable[..., Config]


def config_text(storage: str, building: str = "main") -> str:
    return f"""
        timezone: Europe/Berlin
        interval: 5m
        collector: {{name: contract}}
        {storage}
        study: {{phases: [{{name: baseline, start: 2026-11-01}}]}}
        pools:
          - name: A101
            watts: 100
            tags: {{building: {building}}}
            open: {{mon-fri: "08:00-18:00"}}
            hosts: [{H1}, {H2}]
          - {{name: B202, watts: 50, hosts: [{H3}]}}
    """


@contextlib.contextmanager
def real_influxdb_buckets() -> Iterator[tuple[str, str, str, str]]:
    """(url, org, raw bucket, daily bucket), made on the real server for one test and deleted after it."""
    from influxdb_client import InfluxDBClient

    assert REAL_URL is not None
    token, org = os.environ["PINGER_TEST_INFLUXDB_TOKEN"], os.environ["PINGER_TEST_INFLUXDB_ORG"]
    raw = f"pinger_contract_{uuid.uuid4().hex[:8]}"
    with InfluxDBClient(url=REAL_URL, token=token, org=org) as client:
        made = [client.buckets_api().create_bucket(bucket_name=name, org=org) for name in (raw, raw + "_daily")]
        try:
            yield REAL_URL, org, raw, raw + "_daily"
        finally:
            for bucket in made:
                client.buckets_api().delete_bucket(bucket)


@pytest.fixture(
    params=[
        "sqlite",
        "influxdb-standin",
        pytest.param(
            "influxdb-real",
            marks=pytest.mark.skipif(
                not REAL_URL, reason="no real InfluxDB: set PINGER_TEST_INFLUXDB_URL, _TOKEN and _ORG"
            ),
        ),
    ]
)
def backend(request, write_config, tmp_path) -> Iterator[Backend]:
    if request.param == "sqlite":
        storage = f"storage: {{path: {tmp_path / 'store.sqlite'}}}"
        yield Backend("sqlite", lambda building="main": load_config(write_config(config_text(storage, building))))
        return
    with contextlib.ExitStack() as stack:
        if request.param == "influxdb-standin":
            server = stack.enter_context(InfluxStandin(org="pinger", token=TOKEN, buckets=("pinger", "pinger_daily")))
            url, org, raw, daily, token = server.url, "pinger", "pinger", "pinger_daily", TOKEN
        else:
            url, org, raw, daily = stack.enter_context(real_influxdb_buckets())
            token = os.environ["PINGER_TEST_INFLUXDB_TOKEN"]
        storage = influx_storage(url, tmp_path / "spool.sqlite", org=org, bucket=raw, daily_bucket=daily)

        def config(building: str = "main") -> Config:
            return load_config(write_config(config_text(storage, building)), environ={"INFLUX_TOKEN": token})

        yield Backend(request.param, config)


@contextlib.contextmanager
def history(config: Config, access: Any = "write") -> Iterator[HistoryStore]:
    store = open_history_store(config, access)
    try:
        yield store
    finally:
        store.close()


def write(config: Config, samples: Iterable[Sample]) -> None:
    """Samples into the store as the imports write them (InfluxDB: through the spool, delivered in line)."""
    with history(config, "create") as store:
        store.write_samples(samples)


def day_of_samples(up: dict[str, set[int]], missing: dict[str, set[int]] | None = None) -> list[Sample]:
    """A sample every STEP through DAY for each host: up at the steps ``up`` names, off elsewhere, and none at
    the steps ``missing`` names."""
    missing = missing or {}
    return [
        Sample(MIDNIGHT + index * STEP, POOL_OF[host], host, 1, 0.5)
        if index in up.get(host, set())
        else Sample(MIDNIGHT + index * STEP, POOL_OF[host], host, 0)
        for host in (H1, H2, H3)
        for index in range(288)
        if index not in missing.get(host, set())
    ]


# 10.0.0.1 answers from 17:00 to 18:55 (on 16:57:30-18:57:30 by the midpoint rule: 2 h, 57.5 min of them after
# A101 closes at 18:00, and on at the close); 10.0.0.2 never; 10.0.0.3 from 09:00 to 09:55 (on 08:57:30-09:57:30).
UP = {H1: set(range(step(17), step(19))), H3: set(range(step(9), step(10)))}
# 10.0.0.3 unobserved from 12:00 to 12:55: samples at 11:55 and 13:00 observe up to 12:00 and from 12:55 on.
GAP = {H3: set(range(step(12), step(13)))}
CLOSED_H = 57.5 / 60


def a101(runtime_h: float, pcs_used: int, building: str = "main") -> PoolDay:
    return PoolDay(
        DAY, "A101", "baseline", {"building": building}, 2, pcs_used, runtime_h, runtime_h / pcs_used,
        runtime_h * 100 / 1000, 1.0, CLOSED_H, 1,
    )  # fmt: skip


def b202(runtime_h: float, coverage: float) -> PoolDay:
    return PoolDay(DAY, "B202", "baseline", {}, 1, 1, runtime_h, runtime_h, runtime_h * 50 / 1000, coverage, None, None)


def assert_rows(found: list[Any], expected: list[Any]) -> None:
    """Rows equal in order and in every value, figures to 1e-9 (the two read paths add in different orders)."""
    assert [type(row) for row in found] == [type(row) for row in expected]
    for row, want in zip(found, expected, strict=True):
        assert row._asdict() == {
            key: pytest.approx(value, rel=1e-9, abs=1e-12) if isinstance(value, float) else value
            for key, value in want._asdict().items()
        }


# -- samples written by sweeps ----------------------------------------------------------------------------------


def sweeps() -> list[SweepResult]:
    """Three sweeps; in the second 10.0.0.3's name did not resolve (not observed: no sample)."""
    unresolved = HostResult("B202", H3, False, None, "the name did not resolve")
    return [
        SweepResult(
            at(9, 5 * index),
            0.02,
            (
                HostResult("A101", H1, True, 0.4 + index),
                HostResult("A101", H2, False, None),
                unresolved if index == 1 else HostResult("B202", H3, index == 2, 1.0 if index == 2 else None),
            ),
        )
        for index in range(3)
    ]


def write_sweeps(config: Config, taken: list[SweepResult]) -> None:
    """As the collector writes them: the sweep store (InfluxDB: spool, then its delivery thread), closed after."""
    store = open_sweep_store(config)
    try:
        for sweep in taken:
            status = CollectorStatus(sweep.scheduled, config.collector_name, sweep.observed, sweep.online, 0.02)
            store.write_sweep(sweep, status)
    finally:
        if isinstance(store, Spooled):
            store.close(flush_seconds=FLUSH_S)
        else:
            store.close()


def test_samples_written_by_sweeps_read_back_alike_and_an_unobserved_host_has_none(backend):
    config = backend.config()
    write_sweeps(config, sweeps())
    with history(config, "read") as store:
        a101 = sorted(store.host_samples("A101", [H1, H2], at(0), at(23)))
        b202 = sorted(store.host_samples("B202", [H3], at(0), at(23)))
        edges = store.first_sample_time(), store.last_sample_time()
        in_span = sorted(store.host_samples("A101", [H1], at(9, 5), at(9, 10)))  # start <= time < stop
    times = [at(9), at(9, 5), at(9, 10)]
    assert [(s.host, s.times, s.states) for s in a101] == [(H1, times, [True] * 3), (H2, times, [False] * 3)]
    assert [(s.host, s.times, s.states) for s in b202] == [(H3, [at(9), at(9, 10)], [False, True])]
    assert edges == (at(9), at(9, 10))
    assert [(s.host, s.times) for s in in_span] == [(H1, [at(9, 5)])]


def test_the_newest_sweep_is_the_last_written_and_read_on_this_machine(backend):
    """Both backends name the collector's newest sweep. They differ in where it is read: the SQLite store
    itself ("store"), or with InfluxDB the local spool ("spool"), which knows it whether or not the server
    has the sweep: the same answer comes with the server's URL pointing nowhere."""
    config = backend.config()
    write_sweeps(config, sweeps())
    newest = newest_sweep(config)
    assert newest.time == at(9, 10)
    assert newest.rejections.batches == 0
    if backend.name == "sqlite":
        assert newest.holder == "store"
    else:
        assert newest.holder == "spool"
        assert config.storage.influxdb is not None
        away = config._replace(
            storage=config.storage._replace(influxdb=config.storage.influxdb._replace(url="http://127.0.0.1:9"))
        )
        assert newest_sweep(away) == newest
    assert newest_sweep(config._replace(collector_name="someone-else"))[:3] == (None, newest.holder, ("contract",))


# -- daily and hourly rows ---------------------------------------------------------------------------------------


def test_daily_rows_from_the_same_samples_are_the_same(backend):
    config = backend.config()
    write(config, day_of_samples(UP))
    assert aggregate_days(config, DAY, DAY) == 2
    with history(config) as store:
        found = store.pool_days(DAY, DAY)
        only_b = store.pool_days(DAY, DAY, ["B202"])
        last = store.last_aggregated_day()
    assert_rows(found, [a101(2.0, 1), b202(1.0, 1.0)])
    assert_rows(only_b, [b202(1.0, 1.0)])
    assert last == DAY


def test_hourly_rows_from_the_same_samples_are_the_same(backend):
    config = backend.config()
    write(config, day_of_samples(UP))
    aggregate_days(config, DAY, DAY)
    with history(config) as store:
        hours = store.pool_hours(DAY, DAY)
    assert len(hours) == 48 and [(h.time, h.pool) for h in hours[:3]] == [
        (at(0), "A101"),
        (at(0), "B202"),
        (at(1), "A101"),
    ]
    on = {(h.pool, h.hour): h.pcs_on for h in hours if h.pcs_on}
    assert on == {
        ("A101", 16): pytest.approx(150 / 3600),  # 16:57:30-17:00
        ("A101", 17): pytest.approx(1.0),
        ("A101", 18): pytest.approx(3450 / 3600),  # 18:00-18:57:30
        ("B202", 8): pytest.approx(150 / 3600),
        ("B202", 9): pytest.approx(3450 / 3600),
    }
    a17 = next(h for h in hours if (h.pool, h.hour) == ("A101", 17))
    assert (a17.phase, a17.weekday, a17.share_on, a17.coverage) == ("baseline", 2, pytest.approx(0.5), 1.0)
    assert all(h.coverage == pytest.approx(1.0) for h in hours)


# -- late samples and re-runs ------------------------------------------------------------------------------------


def test_late_samples_change_the_day_only_when_it_is_run_again(backend):
    """Samples that arrive after the day was aggregated (a gap filled, a stored sample replaced by one for the
    same host and time) leave the stored rows as they were until the day is aggregated again; then the rows
    are the day's with every sample."""
    config = backend.config()
    write(config, day_of_samples(UP, GAP))
    aggregate_days(config, DAY, DAY)
    gap_coverage = 1 - 55 / 1440
    with history(config) as store:
        assert_rows(store.pool_days(DAY, DAY), [a101(2.0, 1), b202(1.0, gap_coverage)])
    # 10.0.0.3's gap comes in late, up (on 11:57:30-12:57:30); 10.0.0.2's 15:00 sample is sent again, up
    # (on 14:57:30-15:02:30).
    late = [Sample(at(12, 5 * index), "B202", H3, 1, 2.0) for index in range(12)]
    write(config, [*late, Sample(at(15), "A101", H2, 1, 3.0)])
    with history(config) as store:
        assert_rows(store.pool_days(DAY, DAY), [a101(2.0, 1), b202(1.0, gap_coverage)])
        assert [s.states for s in store.host_samples("A101", [H2], at(15), at(15, 1))] == [[True]]
    aggregate_days(config, DAY, DAY)
    with history(config) as store:
        assert_rows(store.pool_days(DAY, DAY), [a101(2.0 + 5 / 60, 2), b202(2.0, 1.0)])


def test_running_a_day_again_replaces_its_rows(backend):
    """Aggregating a day twice gives the same rows, once each; run again after A101's tag changed, the day has
    the new tag only (InfluxDB: the old series is deleted, not left beside the new one)."""
    config = backend.config()
    write(config, day_of_samples(UP))
    aggregate_days(config, DAY, DAY)
    with history(config) as store:
        first = store.pool_days(DAY, DAY), store.pool_hours(DAY, DAY)
    aggregate_days(config, DAY, DAY)
    with history(config) as store:
        again = store.pool_days(DAY, DAY), store.pool_hours(DAY, DAY)
    assert_rows(again[0], first[0])
    assert_rows(again[1], first[1])
    assert (len(again[0]), len(again[1])) == (2, 48)
    aggregate_days(backend.config(building="annex"), DAY, DAY)
    with history(config) as store:
        assert_rows(store.pool_days(DAY, DAY), [a101(2.0, 1, building="annex"), b202(1.0, 1.0)])
        assert len(store.pool_hours(DAY, DAY)) == 48


# -- where the backends differ ------------------------------------------------------------------------------------


def test_a_hosts_samples_under_another_pool(backend):
    """A documented difference (README, "the data it stores"): the SQLite store finds a host's samples by its
    name, whatever pool they were recorded under, and keeps one sample per host and time (a sample under a
    new pool replaces the one under the old); InfluxDB finds them by the pool tag, and a sample under another
    pool is another series, kept beside the first."""
    config = backend.config()
    write(config, [Sample(at(8), "Old", H1, 0), Sample(at(8, 5), "Old", H1, 0)])
    write(config, [Sample(at(8, 5), "A101", H1, 1, 0.7)])
    with history(config, "read") as store:
        as_a101 = [(s.times, s.states) for s in store.host_samples("A101", [H1], at(0), at(23))]
        as_old = [(s.times, s.states) for s in store.host_samples("Old", [H1], at(0), at(23))]
    if backend.name == "sqlite":
        assert as_a101 == as_old == [([at(8), at(8, 5)], [False, True])]
    else:
        assert as_a101 == [([at(8, 5)], [True])]
        assert as_old == [([at(8), at(8, 5)], [False, False])]
