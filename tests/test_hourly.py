"""Hourly pool rows (pool_hourly) from the one pass per host-day, against figures worked out by hand.

Samples every 5 minutes, hold 300 s: a change of state falls 2.5 minutes after the last sample of
the old state. Berlin: CET is UTC+1, CEST UTC+2.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from zoneinfo import ZoneInfo

import pytest

from pinger.aggregator.daily import compute_host_figures, compute_pool_hours, sample_window
from pinger.config import Host, Pool
from pinger.localtime import hour_starts

BERLIN = ZoneInfo("Europe/Berlin")
HOLD = 300.0
MONDAY = dt.date(2026, 11, 2)
SPRING = dt.date(2026, 3, 29)  # 02:00 CET -> 03:00 CEST: 23 hours
AUTUMN = dt.date(2026, 10, 25)  # 03:00 CEST -> 02:00 CET: 25 hours, 02:00-03:00 twice


def utc(*fields: int) -> float:
    return dt.datetime(*fields, tzinfo=dt.UTC).timestamp()


def local(day: dt.date, clock: str) -> float:
    return dt.datetime.combine(day, dt.time.fromisoformat(clock), tzinfo=BERLIN).timestamp()


def pc(name: str) -> Host:
    return Host(name, 100.0, 0.0, False)


def pool_of(*hosts: Host) -> Pool:
    return Pool("A101", 100.0, 0.0, hosts, {})


def day_sweeps(day: dt.date, up, skip=lambda t: False) -> tuple[list[float], list[bool]]:
    """Sweeps every 300 s over the day's sample window, on the 5-minute grid."""
    start, stop = sample_window(day, BERLIN, HOLD)
    times = [float(t) for t in range(int(start), int(stop) + 1, 300) if not skip(t)]
    return times, [bool(up(t)) for t in times]


def hours_of(
    pool: Pool, day: dt.date, samples_by_host: dict[str, tuple[list[float], list[bool]]], phase: str | None = None
):
    figures = [
        compute_host_figures(pool, host, day, BERLIN, HOLD, *samples_by_host.get(host.name, ([], [])))
        for host in pool.hosts
    ]
    return [day_row for day_row, _ in figures], compute_pool_hours(pool, day, BERLIN, [h for _, h in figures], phase)


def test_a_change_of_state_mid_hour_counts_the_part_of_the_hour_it_was_on():
    # Up in the sweeps 08:00..10:25: on from 07:57:30 to 10:27:30.
    samples = day_sweeps(MONDAY, lambda t: local(MONDAY, "08:00") <= t < local(MONDAY, "10:30"))
    (day,), hours = hours_of(pool_of(pc("pc-1")), MONDAY, {"pc-1": samples}, phase="baseline")
    assert len(hours) == 24
    on = {row.hour: round(row.pcs_on * 3600, 6) for row in hours}
    assert on == {**dict.fromkeys(range(24), 0.0), 7: 150.0, 8: 3600.0, 9: 3600.0, 10: 1650.0}
    assert [row.share_on for row in hours] == [row.pcs_on for row in hours]  # one host
    assert {row.coverage for row in hours} == {1.0}
    assert hours[10].time == int(local(MONDAY, "10:00")) and hours[10].weekday == 1
    assert {row.phase for row in hours} == {"baseline"} and {row.pool for row in hours} == {"A101"}
    # The hours add up to the day's runtime: the same pass.
    assert sum(row.pcs_on for row in hours) == pytest.approx(day.runtime_h) == 2.5


def test_a_gap_is_unobserved_not_off():
    # No sweeps from 13:00 to 14:55: 12:55 owns up to 13:00, 15:00 from 14:55.
    gap = (local(MONDAY, "13:00"), local(MONDAY, "15:00"))
    samples = day_sweeps(MONDAY, lambda t: True, skip=lambda t: gap[0] <= t < gap[1])
    _, hours = hours_of(pool_of(pc("pc-1")), MONDAY, {"pc-1": samples})
    assert [round(row.coverage, 6) for row in hours[12:16]] == [1.0, 0.0, round(300 / 3600, 6), 1.0]
    assert [round(row.pcs_on, 6) for row in hours[12:16]] == [1.0, 0.0, round(300 / 3600, 6), 1.0]


def test_spring_forward_has_23_rows_and_no_2_oclock():
    samples = day_sweeps(SPRING, lambda t: True)
    _, hours = hours_of(pool_of(pc("pc-1")), SPRING, {"pc-1": samples})
    assert len(hours) == 23
    assert [row.hour for row in hours] == [0, 1, *range(3, 24)]
    assert [row.time for row in hours[:4]] == [
        int(utc(2026, 3, 28, 23)),
        int(utc(2026, 3, 29, 0)),
        int(utc(2026, 3, 29, 1)),
        int(utc(2026, 3, 29, 2)),
    ]
    assert {row.pcs_on for row in hours} == {1.0} and {row.weekday for row in hours} == {7}


def test_fall_back_has_25_rows_with_the_repeated_hour_twice_at_two_instants():
    # On only through the second 02:00 (CET, 01:00-02:00 UTC): sweeps 01:00..01:55 UTC up.
    samples = day_sweeps(AUTUMN, lambda t: utc(2026, 10, 25, 1) <= t < utc(2026, 10, 25, 2))
    _, hours = hours_of(pool_of(pc("pc-1")), AUTUMN, {"pc-1": samples})
    assert len(hours) == 25
    assert [row.hour for row in hours] == [0, 1, 2, 2, *range(3, 24)]
    assert [row.time for row in hours[2:5]] == [
        int(utc(2026, 10, 25, 0)),
        int(utc(2026, 10, 25, 1)),
        int(utc(2026, 10, 25, 2)),
    ]
    # 00:57:30-01:57:30 UTC: 150 s of the first 02:00 (CEST), 3450 s of the second (CET).
    assert [round(row.pcs_on * 3600, 6) for row in hours[2:5]] == [150.0, 3450.0, 0.0]
    assert hour_starts(AUTUMN, BERLIN) == tuple(float(row.time) for row in hours)


def test_a_pool_whose_host_list_changed_counts_the_hosts_configured_now():
    # pc-3 was added today and has no samples; pc-old was removed (its samples are not asked for).
    pool = pool_of(pc("pc-1"), pc("pc-2"), pc("pc-3"))
    samples = {
        "pc-1": day_sweeps(MONDAY, lambda t: True),
        # pc-2 up in the sweeps 10:00..10:25, so on 09:57:30-10:27:30: 1650 s of hour 10, 150 s of hour 9.
        "pc-2": day_sweeps(MONDAY, lambda t: local(MONDAY, "10:00") <= t < local(MONDAY, "10:30")),
    }
    _, hours = hours_of(pool, MONDAY, samples)
    ten = hours[10]
    assert ten.pcs_on == pytest.approx(1 + 1650 / 3600)
    assert ten.share_on == pytest.approx((1 + 1650 / 3600) / 3)
    assert ten.coverage == pytest.approx(2 / 3)  # pc-3 is unobserved, not off
    assert hours[9].pcs_on == pytest.approx(1 + 150 / 3600)


def test_aggregate_writes_hourly_rows_replaces_them_and_exports_them(write_config, run_pinger, tmp_path):
    from pinger.config_load import load_config
    from pinger.models import Sample
    from pinger.store.sqlite import SqliteStore

    store_path = tmp_path / "store.sqlite"
    text = """
        timezone: Europe/Berlin
        storage: {{path: {store}}}
        pools:
          - {{name: A101, watts: 100, hosts: [{hosts}]}}
    """
    config_path = write_config(text.format(store=store_path, hosts="pc-1"))
    times, states = day_sweeps(MONDAY, lambda t: local(MONDAY, "08:00") <= t < local(MONDAY, "10:30"))
    store = SqliteStore(store_path, BERLIN)
    store.write_samples(Sample(int(t), "A101", "pc-1", int(up)) for t, up in zip(times, states, strict=True))
    store.close()
    for hosts in ("pc-1", "pc-1, pc-2"):  # the second run: pc-2 added, the day redone
        write_config(text.format(store=store_path, hosts=hosts))
        done = run_pinger("aggregate", "-c", str(config_path), "--date", str(MONDAY))
        assert done.returncode == 0, done.stderr
    with sqlite3.connect(store_path) as db:
        assert db.execute("SELECT count(*), min(time), max(time) FROM pool_hourly").fetchone() == (
            24,
            int(local(MONDAY, "00:00")),
            int(local(MONDAY, "23:00")),
        )
    config = load_config(config_path)
    store = SqliteStore(store_path, BERLIN, "read")
    try:
        ten = store.pool_hours(MONDAY, MONDAY)[10]
    finally:
        store.close()
    assert (ten.pcs_on, ten.share_on, ten.coverage) == (pytest.approx(1650 / 3600), pytest.approx(1650 / 7200), 0.5)
    assert config.pools[0].hosts[1].name == "pc-2"
    exported = run_pinger(
        "export",
        "-c",
        str(config_path),
        "--from",
        str(MONDAY),
        "--to",
        str(MONDAY),
        "--hourly",
        "--dialect",
        "excel-de",
    )
    assert exported.returncode == 0, exported.stderr
    lines = exported.stdout.lstrip("\ufeff").splitlines()  # (text mode reads the dialect's CRLF as LF)
    assert lines[0] == "start;date;pool;phase;weekday;hour;pcs_on;share_on;coverage"
    assert lines[11] == "2026-11-02T10:00:00+01:00;2026-11-02;A101;;1;10;0,458333;0,229167;0,5"
    assert len(lines) == 1 + 24
    refused = run_pinger(
        "export", "-c", str(config_path), "--from", str(MONDAY), "--to", str(MONDAY), "--hourly", "--layout", "wide"
    )
    assert refused.returncode == 2 and "--hourly writes the long layout only" in refused.stderr


def test_per_bucket_splits_owned_intervals_at_the_edges_in_one_pass():
    from pinger.aggregator.rule import per_bucket, tally

    # Samples at 0, 100 (up) and 200 (down), 500 (up); hold 60: 0 owns [-60, 50), 100 [50, 150),
    # 200 [150, 260), then a gap, 500 [440, 560).
    times, states, hold = [0.0, 100.0, 200.0, 500.0], [True, True, False, True], 60.0
    edges = [0.0, 120.0, 300.0, 480.0, 600.0]
    seconds = per_bucket(times, states, hold, edges)
    assert seconds.on == [120.0, 30.0, 40.0, 80.0]
    assert seconds.observed == [120.0, 140.0, 40.0, 80.0]
    # tally is the same mechanism: the spans cut [start, stop) into buckets.
    assert tally(times, states, hold, 0.0, 600.0, [(120.0, 300.0), (480.0, 600.0)]) == (270.0, 380.0, 110.0)
    assert per_bucket(times, states, hold, [0.0]) == ([], [])
    with pytest.raises(ValueError, match="strictly increasing"):
        per_bucket([1.0, 1.0], [True, True], hold, edges)
