"""Aggregating from InfluxDB reads runs, not every sample (issue 21, item 5): the same figures, to the bit.

- Every fixture of the suite: the samples each test hands the rule (recorded by tests/support/day_inputs.py in a
  pytest run of the modules that do) give the same host-day figures, hours and rule sums when reduced as the
  runs query reduces them (tests/support/influx_standin.flux_runs) and read as runs (pinger.store.influx_runs).
- Hand-built edge cases through the stand-in and the real influxdb-client: a host flapping at every sweep, a
  gap longer than the hold at midnight, both DST days with opening hours and prices, one sample, never up,
  late samples; raw read (every sample, FluxRecords) and runs read give equal figures and equal stored rows.
- The CSV reader and the stand-in refuse what they cannot understand.
- On a real InfluxDB 2 (the GitHub job: PINGER_TEST_INFLUXDB_URL, _TOKEN, _ORG) the query's rows equal the
  stand-in's and both reads give equal figures.
"""

from __future__ import annotations

import datetime as dt
import os
import pickle
import re
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterable
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from pinger.aggregator.arrays import pool_day_figures
from pinger.aggregator.daily import compute_host_figures, sample_window
from pinger.aggregator.inputs import day_samples
from pinger.aggregator.rule import per_bucket, state_at
from pinger.errors import StoreError
from pinger.store.flux import gap_threshold_ns, pool_runs_flux
from pinger.store.influx_runs import HostRuns, day_runs, read_runs, runs_of
from pinger.store.interface import DaySamples
from tests.support import ROOT, influx_storage
from tests.support.day_inputs import ENV as RECORD_ENV
from tests.support.influx_standin import InfluxStandin, flux_runs

REAL_URL = os.environ.get("PINGER_TEST_INFLUXDB_URL")
BERLIN = ZoneInfo("Europe/Berlin")
HOLD = 300
MONDAY, TUESDAY = dt.date(2026, 11, 2), dt.date(2026, 11, 3)
SPRING, AUTUMN = dt.date(2026, 3, 29), dt.date(2026, 10, 25)  # 23 and 25 hours in Berlin


def as_runs(host: str, times, states, hold: float) -> HostRuns:
    """The runs the InfluxDB store would read: the query's rows (as the stand-in computes them, in ns) as runs."""
    at = {round(t * 1e9): t for t in times}  # back from ns to the fixture's own values
    kept = flux_runs([(round(t * 1e9), int(up)) for t, up in zip(times, states, strict=True)], gap_threshold_ns(hold))
    return runs_of(
        host,
        [at[t] for t, _, _ in kept],
        [bool(up) for _, up, _ in kept],
        [None if gap is None else at[t - gap] for t, _, gap in kept],
    )


def per_host(samples: DaySamples) -> dict[int, tuple[list[float], list[bool]]]:
    """The samples of each host (by index) in DaySamples of one-sample runs and blocks, in time order."""
    found: dict[int, tuple[list[float], list[bool]]] = {}
    runs = samples.runs
    for host, at, up in zip(runs.host.tolist(), runs.start.tolist(), runs.up.tolist(), strict=True):
        found.setdefault(host, ([], []))
        found[host][0].append(at)
        found[host][1].append(up)
    for block in samples.blocks:
        for column, host in enumerate(block.host.tolist()):
            found[host] = (block.times.tolist(), block.up[:, column].tolist())
    return found


# -- every fixture of the suite --------------------------------------------------------------------------------

# The tests that hand the rule samples in the test's own process, found by recording the whole suite with
# tests/support/day_inputs.py (PINGER_RECORD_DAY_INPUTS=FILE pytest -p tests.support.day_inputs). Slow and e2e
# tests of these modules add no fixture of their own, so only test_collect's one is named.
SOURCES = (
    "tests/test_rule.py",
    "tests/test_daily.py",
    "tests/test_hourly.py",
    "tests/test_arrays.py",
    "tests/test_energy_cost.py",
    "tests/test_export.py",
    "tests/test_import_nightly.py",
    "tests/test_legacy.py",
    "tests/test_report.py",
    "tests/test_rewrite.py",
    "tests/test_store_contract.py",
    "tests/test_collect.py::test_a_gap_lowers_coverage_and_is_not_counted_as_off",
)
# The other modules that mention the aggregator, and why they are no source.
OTHERS = {
    "tests/test_cli.py": "refused arguments only",
    "tests/test_collect.py": "its one aggregation is in SOURCES",
    "tests/test_compose.py": "the compose file's services",
    "tests/test_end_to_end.py": "runs pinger in subprocesses in the lab (e2e); its samples are the lab's",
    "tests/test_grafana_download.py": "aggregates from the InfluxDB stand-in, which gives runs",
    "tests/test_influx.py": "aggregates from the InfluxDB stand-in, which gives runs (hand-computed results)",
    "tests/test_influx_daily.py": "daily rows written directly, or aggregated from the InfluxDB stand-in",
    "tests/test_influx_runs.py": "this module",
    "tests/test_layers.py": "imports only",
    "tests/test_migrations.py": "reads samples back, aggregates nothing",
    "tests/test_nightly_stop.py": "the daemon's stop, without samples",
    "tests/test_output.py": "the export of an empty store",
    "tests/test_store_access.py": "file permissions; its stores hold no samples",
}


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> dict[str, list[tuple[str, str, tuple]]]:
    """The calls the SOURCES' tests make, by source: pytest runs of them with the recorder (the modules without
    their lab, slow and e2e tests, which add no fixture; the named tests as they are)."""
    folder = tmp_path_factory.mktemp("day-inputs")
    modules = [s for s in SOURCES if "::" not in s]
    runs = [(["-m", "not lab and not slow and not e2e", *modules]), [s for s in SOURCES if "::" in s]]
    calls = []
    for number, selection in enumerate(runs):
        out = folder / f"calls-{number}.pickle"
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tests.support.day_inputs"]
            + selection,
            cwd=ROOT,
            env={**os.environ, RECORD_ENV: str(out)},
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert done.returncode in (0, 1) and out.exists(), done.stdout[-2000:] + done.stderr[-2000:]
        calls += pickle.loads(out.read_bytes())
    by_source: dict[str, list[tuple[str, str, tuple]]] = {source: [] for source in SOURCES}
    for test, kind, args in calls:
        source = next((s for s in SOURCES if test.startswith(s)), None)
        assert source is not None, f"{test} is no source"
        by_source[source].append((test, kind, args))
    return by_source


def test_every_module_that_mentions_the_aggregator_is_a_source_or_says_why_not():
    mentions = re.compile(r"pinger\.aggregator|\"aggregate\"|'aggregate'|aggregate_days")
    modules = {f"tests/{path.name}" for path in (ROOT / "tests").glob("test_*.py") if mentions.search(path.read_text())}
    named = {source.split("::")[0] for source in SOURCES} | set(OTHERS)
    assert modules - named == set()


@pytest.mark.slow
@pytest.mark.parametrize("source", SOURCES)
def test_runs_give_the_figures_of_every_sample_on_every_fixture(source, recorded):
    calls = recorded[source]
    assert calls, f"{source} handed the rule no samples: is it still a source?"
    for test, kind, args in calls:
        if kind == "day":
            pool, host, day, tz, hold, times, states, *energy = args
            runs = as_runs(host.name, times, states, hold)
            reduced = compute_host_figures(
                pool, host, day, tz, hold, runs.starts, runs.states, *energy, lasts=runs.stops
            )
            assert reduced == compute_host_figures(*args), test
        elif kind == "pool":
            pool, day, tz, hold, samples, energy = args
            runs_ = [as_runs(str(h), times, states, hold) for h, (times, states) in per_host(samples).items()]
            reduced = day_runs([("", [str(h) for h in range(len(pool.hosts))])], lambda _, __, found=runs_: found)
            got, expected = pool_day_figures(pool, day, tz, hold, reduced, energy), pool_day_figures(*args)
            assert got.host_days == expected.host_days, test
            assert np.array_equal(got.hours_on, expected.hours_on), test
            assert np.array_equal(got.hours_observed, expected.hours_observed), test
        elif kind == "buckets":
            times, states, hold, edges = args
            runs = as_runs("", times, states, hold)
            assert per_bucket(runs.starts, runs.states, hold, edges, runs.stops) == per_bucket(*args), test
        else:
            times, states, hold, instant = args
            runs = as_runs("", times, states, hold)
            assert state_at(runs.starts, runs.states, hold, instant, runs.stops) == state_at(*args), test


def test_the_reduction_keeps_first_changes_gaps_and_newest_and_nothing_else():
    # Samples every 300 s, hold 300 (gaps above 600 break): up 0..900, down 1200, 1500, a gap, down 2400, up 2700.
    times = [0, 300, 600, 900, 1200, 1500, 2400, 2700, 3000]
    states = [True, True, True, True, False, False, False, True, True]
    # Kept: 0 (first), 1200 (change), 2400 (gap of 900), 2700 (change), 3000 (newest); runs end at the sample
    # before the next row: 0..900, 1200..1500, 2400..2400, 2700..2700, 3000..3000.
    runs = as_runs("pc", times, states, 300)
    assert runs == HostRuns(
        "pc", [0, 1200, 2400, 2700, 3000], [900, 1500, 2400, 2700, 3000], [True, False, False, True, True]
    )
    # A host that flaps at every sample keeps every sample; one that never changes keeps two.
    assert len(as_runs("pc", times, [i % 2 == 0 for i in range(9)], 300).starts) == 9
    assert as_runs("pc", [0, 300, 600], [False] * 3, 300) == HostRuns("pc", [0, 600], [300, 600], [False, False])


# -- edge cases through the stand-in --------------------------------------------------------------------------


def local(day: dt.date, clock: str) -> int:
    return int(dt.datetime.combine(day, dt.time.fromisoformat(clock), BERLIN).timestamp())


def every_5_minutes(first: int, stop: int, up: Callable[[int], bool], skip: Callable[[int], bool] = lambda t: False):
    return [(t, up(t)) for t in range(first, stop, 300) if not skip(t)]


def edge_case_samples() -> dict[str, list[tuple[int, bool]]]:
    """Pool "Ecke": one host per case, over 2026-10-24 .. 2026-11-04 (the autumn change inside), Berlin."""
    first, stop = local(dt.date(2026, 10, 24), "00:00") - HOLD, local(dt.date(2026, 11, 4), "00:00") + HOLD
    midnight = local(TUESDAY, "00:00")
    return {
        "flap": every_5_minutes(first, stop, lambda t: (t // 300) % 2 == 0),
        # up throughout; no sweep after Monday 23:50 until Tuesday 00:10: 23:55..00:05 unobserved
        # up throughout; no sweeps at Tuesday 00:00 and 00:05: 23:55 speaks until 00:00, 00:10 from 00:05
        "midnight": every_5_minutes(first, stop, lambda t: True, lambda t: t in (midnight, midnight + 300)),
        # up throughout; Monday's 10:00 sweep missing (600 s apart: nothing unobserved), and its 14:00 and 14:05
        # ones (900 s apart, more than twice the hold: 14:00..14:05 unobserved)
        "sparse": every_5_minutes(
            first,
            stop,
            lambda t: True,
            lambda t: t in (local(MONDAY, "10:00"), *range(local(MONDAY, "14:00"), local(MONDAY, "14:10"), 300)),
        ),
        "one": [(local(MONDAY, "12:00"), True)],
        "never": every_5_minutes(first, stop, lambda t: False),
        # office hours with a lunch break, every day; on across the autumn night's repeated hour on Oct 25
        "office": every_5_minutes(
            first,
            stop,
            lambda t: (
                8 <= dt.datetime.fromtimestamp(t, BERLIN).hour < 17
                and dt.datetime.fromtimestamp(t, BERLIN).hour != 12
                or local(AUTUMN, "01:30") <= t < local(AUTUMN, "03:30")
            ),
        ),
    }


def spring_samples() -> dict[str, list[tuple[int, bool]]]:
    first, stop = local(dt.date(2026, 3, 28), "00:00") - HOLD, local(dt.date(2026, 3, 31), "00:00") + HOLD
    return {
        "spring": every_5_minutes(first, stop, lambda t: local(SPRING, "01:00") <= t < local(SPRING, "09:00")),
    }


CONFIG = """
    timezone: Europe/Berlin
    interval: 5m
    aggregate: {{hold: 5m}}
    {storage}
    energy:
      {{currency: EUR, price: 0.30, co2_g_per_kwh: 380, tariffs: [{{price: 0.20, at: {{mon-sun: "22:00-06:00"}}}}]}}
    pools:
      - name: Ecke
        watts: 100
        standby_watts: 2
        open: {{mon-fri: "08:00-12:00,13:00-18:00", sun: "01:00-05:00"}}
        hosts: [flap, midnight, sparse, one, never, office, spring, silent]
"""


def lines_of(samples: dict[str, list[tuple[int, bool]]], pool: str = "Ecke") -> list[str]:
    return [f"ping,pool={pool},host={host} up={int(up)}i {t}" for host, rows in samples.items() for t, up in rows]


def open_influx(write_config, tmp_path, url: str, **buckets: str):
    from pinger.config_load import load_config
    from pinger.store.influx import InfluxStore

    path = write_config(CONFIG.format(storage=influx_storage(url, tmp_path / "spool.sqlite", **buckets)))
    config = load_config(path, environ={"INFLUX_TOKEN": os.environ.get("PINGER_TEST_INFLUXDB_TOKEN", "s3cret-token")})
    return config, InfluxStore(config, deliver=False)


def figures_both_ways(config, store, day: dt.date) -> dict[str, tuple[int, int]]:
    """Per host of the config with samples: (samples read, runs read). Asserts that the runs give each host the
    figures of its samples (the rule, per host) and the pool the figures of its samples (the aggregator's
    array path: the store's day_samples against one-sample runs from host_samples, as without it)."""
    (pool,) = config.pools
    names = [host.name for host in pool.hosts]
    tz, hold = config.timezone, config.aggregate.hold
    window = sample_window(day, tz, hold)
    raw = {found.host: found for found in store.host_samples(pool.name, names, *window)}
    runs = {found.host: found for found in store.queries.pool_runs(pool.name, names, *window)}
    assert runs.keys() == raw.keys()
    sizes = {}
    for host in pool.hosts:
        if host.name not in raw:
            continue
        given = (pool, host, day, tz, hold)
        samples, read = raw[host.name], runs[host.name]
        expected = compute_host_figures(*given, samples.times, samples.states, config.energy)
        assert compute_host_figures(*given, read.starts, read.states, config.energy, read.stops) == expected, host.name
        sizes[host.name] = (len(samples.times), len(read.starts))
    every_sample = day_samples(Unreduced(store), [(pool.name, names)], *window)
    as_runs_ = store.day_samples([(pool.name, names)], *window)
    assert len(as_runs_.runs.host) == sum(found for _, found in sizes.values())
    got = pool_day_figures(pool, day, tz, hold, as_runs_, config.energy)
    expected_pool = pool_day_figures(pool, day, tz, hold, every_sample, config.energy)
    assert got.host_days == expected_pool.host_days
    assert np.array_equal(got.hours_on, expected_pool.hours_on)
    assert np.array_equal(got.hours_observed, expected_pool.hours_observed)
    return sizes


class Unreduced:
    """A store's host_samples alone: the aggregator then reads every sample (inputs.day_samples)."""

    def __init__(self, store):
        self.host_samples = store.host_samples


def days(first: dt.date, last: dt.date) -> Iterable[dt.date]:
    return (first + dt.timedelta(days=n) for n in range((last - first).days + 1))


@pytest.fixture
def standin():
    with InfluxStandin(org="pinger", token="s3cret-token", buckets=("pinger", "pinger_daily")) as server:
        yield server


def write(store, lines: list[str]) -> None:
    from pinger.store.influx_client import write_lines

    write_lines(store.client, store.settings.org, store.settings.bucket, lines, 5000)


@pytest.mark.slow
def test_edge_cases_give_equal_figures_both_ways_with_few_rows(standin, write_config, tmp_path):
    config, store = open_influx(write_config, tmp_path, standin.url)
    try:
        write(
            store,
            lines_of(edge_case_samples())
            + lines_of(spring_samples())
            + ["ping,pool=Ecke,host=stranger up=1i 1793600000"],
        )
        for day in [
            *days(dt.date(2026, 10, 24), dt.date(2026, 11, 3)),
            *days(dt.date(2026, 3, 28), dt.date(2026, 3, 30)),
        ]:
            sizes = figures_both_ways(config, store, day)
            assert "stranger" not in sizes and "silent" not in sizes  # not configured; configured, never seen
        # Monday: 290 samples each in the window (288 + one hold beyond each edge), the flapping host keeps them
        # all; "never" keeps its first and newest; "office" its first, 4 changes and newest; "sparse" its first,
        # the one after the 900 s gap (not the one after 600 s) and its newest; "midnight" (no sweep at Tuesday
        # 00:00, inside Monday's window) its first and newest, and on Tuesday also the one after its gap.
        sizes = figures_both_ways(config, store, MONDAY)
        assert sizes == {
            "flap": (290, 290),
            "midnight": (289, 2),
            "sparse": (287, 3),
            "one": (1, 1),
            "never": (290, 2),
            "office": (290, 6),
        }
        assert figures_both_ways(config, store, TUESDAY)["midnight"] == (288, 3)
    finally:
        store.close()


def test_the_hand_computed_edge_cases_come_out_of_the_runs(standin, write_config, tmp_path):
    # Read as runs, computed as the aggregator does; expectations by hand (hold 5 min, sweeps every 5 min).
    config, store = open_influx(write_config, tmp_path, standin.url)
    try:
        write(store, lines_of(edge_case_samples()) + lines_of(spring_samples()))
        (pool,) = config.pools
        hosts = {host.name: host for host in pool.hosts}

        def row(name: str, day: dt.date):
            window = sample_window(day, config.timezone, config.aggregate.hold)
            (found,) = [f for f in store.queries.pool_runs(pool.name, [name], *window)]
            given = (pool, hosts[name], day, config.timezone, config.aggregate.hold)
            return compute_host_figures(*given, found.starts, found.states, config.energy, found.stops)[0]

        # Up all day; Tuesday 00:00..00:05 unobserved (the gap's), Monday 14:00..14:05: 5 minutes of 24 h lost.
        for name, day in (("midnight", TUESDAY), ("sparse", MONDAY)):
            gapped = row(name, day)
            assert (gapped.runtime_h, gapped.coverage) == (pytest.approx(24 - 5 / 60), pytest.approx(1435 / 1440))
        assert (row("midnight", MONDAY).runtime_h, row("midnight", MONDAY).coverage) == (24.0, 1.0)
        # Flapping on the 25-hour day: up at even multiples of 300 s since the epoch, which local midnight
        # (22:00 UTC) is; each sample owns 300 s, the day's first 150 s and last 150 s: 150 + 149 × 300 + 150.
        assert row("flap", AUTUMN).runtime_h == 45000 / 3600 and row("flap", AUTUMN).coverage == 1.0
        # One sample at 12:00: 11:55..12:05.
        assert row("one", MONDAY).runtime_h == 10 / 60
        # Never up, observed all day: no runtime, standby 2 W for 24 h.
        never = row("never", MONDAY)
        assert (never.runtime_h, never.coverage, never.energy_kwh) == (0.0, 1.0, 2 * 24 / 1000)
        # Spring: up in the sweeps 01:00..08:55 (03:00 CEST follows 01:55 CET): on 00:57:30..08:57:30, 7 h real
        # time; open on Sunday 01:00-05:00 (3 real hours): closed runtime 4 h; on at 05:00, the one close.
        spring = row("spring", SPRING)
        assert (spring.runtime_h, spring.runtime_closed_h, spring.on_at_close) == (7.0, 4.0, 1)
    finally:
        store.close()


def test_late_samples_change_both_reads_alike(standin, write_config, tmp_path):
    # Monday's samples arrive without the window's first 10 (23:55 the day before .. 00:40) and without 40 from
    # 08:15 to 11:30; later (from a collector's spool) the missing ones arrive, in reverse order. Both reads agree
    # before and after, and the runs read sees the late samples. Coverage before: 00:45 speaks from 00:40, 08:10
    # until 08:15 and 11:35 from 11:30, so 40 + 195 minutes are unobserved: 1205 / 1440; after: all of it.
    config, store = open_influx(write_config, tmp_path, standin.url)
    (pool,) = config.pools
    office = next(host for host in pool.hosts if host.name == "office")

    def coverage() -> float:
        (found,) = store.queries.pool_runs("Ecke", ["office"], *sample_window(MONDAY, BERLIN, HOLD))
        given = (pool, office, MONDAY, BERLIN, HOLD, found.starts, found.states, config.energy, found.stops)
        return compute_host_figures(*given)[0].coverage

    try:
        start, stop = (int(t) for t in sample_window(MONDAY, BERLIN, HOLD))
        samples = every_5_minutes(start, stop, lambda t: (t // 3600) % 3 == 0)
        early, hole, rest = samples[:10], samples[100:140], samples[10:100] + samples[140:]
        write(store, lines_of({"office": rest}))
        before = figures_both_ways(config, store, MONDAY)
        assert before["office"][0] == len(rest) and coverage() == pytest.approx(1205 / 1440)
        write(store, lines_of({"office": (hole + early)[::-1]}))
        after = figures_both_ways(config, store, MONDAY)
        assert after["office"][0] == len(samples) and coverage() == 1.0
    finally:
        store.close()


@pytest.mark.slow
def test_aggregate_stores_the_same_rows_whichever_way_it_reads(standin, write_config, tmp_path, monkeypatch):
    from pinger.aggregator.job import aggregate_days
    from pinger.store.influx import InfluxStore

    config, store = open_influx(write_config, tmp_path, standin.url)
    try:
        write(store, lines_of(edge_case_samples()))
    finally:
        store.close()
    span = (dt.date(2026, 10, 24), TUESDAY)

    def stored():
        reader = InfluxStore(config, deliver=False)
        try:
            return reader.pool_days(*span), reader.pool_hours(*span)
        finally:
            reader.close()

    aggregate_days(config, *span)
    from_runs = stored()
    monkeypatch.delattr(InfluxStore, "day_samples")  # the aggregator then reads every sample (host_samples)
    aggregate_days(config, *span)
    assert stored() == from_runs and len(from_runs[0]) == 11 and len(from_runs[1]) == 11 * 24 + 1


# -- refusing what cannot be understood ------------------------------------------------------------------------

HEADER = [
    ["#datatype", "string", "long", "dateTime:RFC3339", "long", "string", "long"],
    ["", "result", "table", "_time", "gap", "host", "up"],
]


def rows(*data: list[str]) -> list[list[str]]:
    return [*HEADER, *data]


def test_the_reader_takes_fractions_of_seconds_and_other_column_orders():
    reordered = [
        ["", "result", "table", "up", "host", "_time", "gap"],
        ["", "", "0", "1", "pc", "2026-11-02T10:00:00.5Z", ""],
    ]
    reordered.append(["", "", "0", "0", "pc", "2026-11-02T10:05:00.25Z", "299750000000"])
    (found,) = read_runs(reordered, {"pc"}, "http://x")
    t = int(dt.datetime(2026, 11, 2, 10, tzinfo=dt.UTC).timestamp())
    assert found == HostRuns("pc", [t, t + 300], [t, t + 300], [True, False])


@pytest.mark.parametrize(
    "answer, message",
    [
        (
            rows(["", "", "0", "2026-11-02T10:00:00Z", "", "a", "1"])
            + [["#datatype", "string", "string"], ["", "error", "reference"], ["", "out of memory", ""]],
            "failed in the middle of the samples query: out of memory",
        ),
        (
            rows(
                ["", "", "0", "2026-11-02T10:00:00Z", "", "a", "1"],
                ["", "", "1", "2026-11-02T10:00:00Z", "", "b", "1"],
                ["", "", "0", "2026-11-02T10:05:00Z", "300000000000", "a", "1"],
            ),
            "answered the samples of host a in two parts",
        ),
        ([["", "result", "table", "_time", "host", "up"]], "without the column(s) gap"),
        (rows(["", "", "0", "2026-11-02T10:00:00Z", "300000000000", "a", "1"]), "has a sample before it"),
        (
            rows(
                ["", "", "0", "2026-11-02T10:05:00Z", "", "a", "1"],
                ["", "", "0", "2026-11-02T10:00:00Z", "1", "a", "0"],
            ),
            "is not after the previous row",
        ),
    ],
)
def test_the_reader_refuses_answers_the_query_cannot_give(answer, message):
    with pytest.raises(StoreError, match=re.escape(message)):
        list(read_runs(answer, {"a", "b"}, "http://x"))


def test_an_answer_the_query_cannot_give_stops_the_aggregation_in_one_sentence(
    standin, write_config, tmp_path, run_pinger, monkeypatch
):
    config, store = open_influx(write_config, tmp_path, standin.url)
    try:
        write(store, lines_of(edge_case_samples()))
    finally:
        store.close()
    answer = InfluxStandin._runs

    def with_a_host_in_two_parts(match, points):
        columns, rows = answer(match, points)
        return columns, rows + rows[:1]  # the first host's first row again, after all other hosts

    monkeypatch.setattr(InfluxStandin, "_runs", staticmethod(with_a_host_in_two_parts))
    path = tmp_path / "pinger.yaml"  # open_influx's config
    result = run_pinger("aggregate", "-c", str(path), "--date", str(MONDAY), env={"INFLUX_TOKEN": "s3cret-token"})
    assert result.returncode == 1
    assert result.stderr.strip().endswith("answered the samples of host flap in two parts"), result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert standin.points(bucket="pinger_daily") == []


def test_the_standin_answers_only_the_runs_query_it_was_written_for(standin):
    from influxdb_client import InfluxDBClient
    from influxdb_client.rest import ApiException

    query = pool_runs_flux("pinger", "A", 0, 10**9, 300)
    with InfluxDBClient(url=standin.url, token="s3cret-token", org="pinger") as client:
        assert client.query_api().query_csv(query).to_values() == []  # served: no samples, no rows
        for changed in (
            query.replace("keepFirst: true", "keepFirst: false", 1),
            query.replace("600000000000", "6e11"),
            query.replace("desc: true", "desc: false"),
            query.replace("r._value != 0 or ", ""),
        ):
            with pytest.raises(ApiException) as refused:
                client.query_api().query_csv(changed).to_values()
            assert refused.value.status == 400


# -- on a real InfluxDB 2 (the GitHub job) --------------------------------------------------------------------


@pytest.mark.skipif(not REAL_URL, reason="no real InfluxDB: set PINGER_TEST_INFLUXDB_URL, _TOKEN and _ORG")
def test_on_a_real_influxdb_the_runs_query_keeps_what_the_standin_keeps_and_figures_agree(write_config, tmp_path):
    """The runs query on InfluxDB 2.7 (Flux's own map, difference, sort and filter): per host exactly the rows
    the stand-in computes, and both reads give the same figures on every day of the edge cases."""
    from influxdb_client import InfluxDBClient

    token, org = os.environ["PINGER_TEST_INFLUXDB_TOKEN"], os.environ["PINGER_TEST_INFLUXDB_ORG"]
    raw = f"pinger_test_{uuid.uuid4().hex[:8]}"
    samples = {**edge_case_samples(), **spring_samples()}
    with InfluxDBClient(url=REAL_URL, token=token, org=org) as client:
        made = client.buckets_api().create_bucket(bucket_name=raw, org=org)
        try:
            config, store = open_influx(write_config, tmp_path, REAL_URL, org=org, bucket=raw, daily_bucket=raw)
            try:
                write(store, lines_of(samples))
                all_days = [*days(dt.date(2026, 10, 24), dt.date(2026, 11, 3)), *days(SPRING, SPRING)]
                for day in all_days:
                    figures_both_ways(config, store, day)
                start, stop = (int(t) for t in sample_window(MONDAY, BERLIN, HOLD))
                answer = client.query_api().query_csv(pool_runs_flux(raw, "Ecke", start, stop, HOLD), org=org)
                got = {found.host: found for found in read_runs(answer, set(samples), REAL_URL)}
                for host, rows_ in samples.items():
                    inside = [(t, up) for t, up in rows_ if start <= t < stop]
                    if inside:
                        assert got[host] == as_runs(host, [t for t, _ in inside], [up for _, up in inside], HOLD), host
            finally:
                store.close()
        finally:
            client.buckets_api().delete_bucket(made)
