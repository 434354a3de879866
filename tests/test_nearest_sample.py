"""The nearest-sample rule and the daily figures, against expectations computed by hand (see comments)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from pinger.aggregator.daily import compute_host_day, compute_pool_day, day_bounds, sample_window
from pinger.aggregator.rule import on_and_observed, state_at
from pinger.config import Host, OpeningHours, Pool

BERLIN = ZoneInfo("Europe/Berlin")
UTC = ZoneInfo("UTC")
HOUR = 3600.0


def split(samples):
    return [t for t, _ in samples], [up for _, up in samples]


# -- the rule over plain numbers ---------------------------------------------------------------

def test_transition_falls_at_the_midpoint():
    # up at 0, down at 300, hold 300: the up sample speaks for [-300, 150), the down one for [150, 600).
    # Inside [0, 600): on 150 s; observed 600 s.
    assert on_and_observed(*split([(0, True), (300, False)]), 300, 0, 600) == (150, 600)


def test_regular_sweeps_observe_everything():
    # up at 0, 300, ..., 3600 (13 samples), hold 300: [0, 3600) is fully observed and on.
    samples = [(t, True) for t in range(0, 3601, 300)]
    assert on_and_observed(*split(samples), 300, 0, 3600) == (3600, 3600)


def test_gap_longer_than_hold_is_unobserved():
    # up at 0 and at 1000, hold 300: speaks for [-300, 300) and [700, 1300).
    # Inside [0, 1000): on 300 + 300 = 600 s, observed 600 s; 300..700 is unobserved.
    assert on_and_observed(*split([(0, True), (1000, True)]), 300, 0, 1000) == (600, 600)


def test_nearer_neighbour_limits_hold():
    # up at 0, down at 100, hold 300: midpoint 50. Window [-400, 500):
    # up speaks for [-300, 50) = 350 s; down for [50, 400) = 350 s.
    assert on_and_observed(*split([(0, True), (100, False)]), 300, -400, 500) == (350, 700)


def test_no_samples_and_single_sample():
    assert on_and_observed([], [], 300, 0, 86400) == (0, 0)
    # one up sample at 1000, hold 300: speaks for [700, 1300).
    assert on_and_observed([1000], [True], 300, 0, 86400) == (600, 600)
    # clipped by the span [0, 900): [700, 900) = 200 s.
    assert on_and_observed([1000], [True], 300, 0, 900) == (200, 200)


def test_flapping_host():
    # up/down alternating every 300 s from 0 to 2700 (10 samples), hold 300, span [0, 3000):
    # each interior sample speaks for 300 s; the first for [0, 150) inside the span, the last (2700, down)
    # for [2550, 3000). Up samples at 0, 600, 1200, 1800, 2400: 150 + 4 × 300 = 1350 s on.
    samples = [(t, (t // 300) % 2 == 0) for t in range(0, 2701, 300)]
    assert on_and_observed(*split(samples), 300, 0, 3000) == (1350, 3000)


def test_state_at_ties_go_to_the_earlier_sample():
    times, states = split([(0, True), (300, False)])
    assert state_at(times, states, 300, 150) is True   # exactly the midpoint: the earlier sample
    assert state_at(times, states, 300, 151) is False
    assert state_at(times, states, 300, 600) is False  # 300 s from the last sample: within hold
    assert state_at(times, states, 300, 601) is None   # beyond hold: unobserved
    assert state_at(times, states, 300, -300) is True
    assert state_at([], [], 300, 0) is None


# -- local days --------------------------------------------------------------------------------

def pool(watts=100.0, standby=0.0, hours=None, hosts=1, host_watts=None):
    members = tuple(Host(f"10.0.0.{i + 1}", (host_watts or {}).get(i, watts), standby, True) for i in range(hosts))
    return Pool("P", watts, standby, members, {}, hours)


def every_five_minutes(start: float, stop: float, up) -> list[tuple[float, bool]]:
    """Samples at start, start + 300, … < stop, state up(t)."""
    samples, t = [], start
    while t < stop:
        samples.append((t, up(t)))
        t += 300
    return samples


@pytest.mark.parametrize("day, hours", [
    (dt.date(2026, 10, 25), 25.0),  # clocks go back: 25-hour day
    (dt.date(2026, 3, 29), 23.0),   # clocks go forward: 23-hour day
    (dt.date(2026, 6, 1), 24.0),
])
def test_dst_days_have_their_real_length(day, hours):
    start, stop = day_bounds(day, BERLIN)
    assert (stop - start) / HOUR == hours
    lo, hi = sample_window(day, BERLIN, 300)
    samples = every_five_minutes(lo, hi, lambda t: True)
    p = pool()
    row = compute_host_day(p, p.hosts[0], day, BERLIN, 300, *split(samples))
    assert row.runtime_h == pytest.approx(hours)
    assert row.coverage == pytest.approx(1.0)


def test_pc_on_across_midnight_is_split_between_days():
    # On from 22:00 (Nov 2) to 02:00 (Nov 3) UTC, samples every 5 minutes over both days.
    # Transitions at midpoints: on from 21:57:30 to 01:57:30. Nov 2: 2 h 2.5 min; Nov 3: 1 h 57.5 min.
    d1 = dt.date(2026, 11, 2)
    on_from = dt.datetime(2026, 11, 2, 22, tzinfo=UTC).timestamp()
    on_to = dt.datetime(2026, 11, 3, 2, tzinfo=UTC).timestamp()
    start, _ = day_bounds(d1, UTC)
    samples = every_five_minutes(start, start + 2 * 86400, lambda t: on_from <= t < on_to)
    p = pool()
    first = compute_host_day(p, p.hosts[0], d1, UTC, 300, *split(samples))
    second = compute_host_day(p, p.hosts[0], d1 + dt.timedelta(days=1), UTC, 300, *split(samples))
    assert first.runtime_h == pytest.approx(2 + 2.5 / 60)
    assert second.runtime_h == pytest.approx(2 - 2.5 / 60)
    assert first.runtime_h + second.runtime_h == pytest.approx(4.0)


def test_collector_gap_lowers_coverage():
    # Samples every 5 min except between 10:00 and 12:00 UTC (no samples at 10:00..11:55).
    # With hold 5 min, the last sample before (09:55) speaks until 10:00 and the first after (12:00)
    # from 11:55: unobserved 10:00..11:55 = 1 h 55 min. Host up throughout.
    day = dt.date(2026, 11, 2)
    start, stop = day_bounds(day, UTC)
    gap = (start + 10 * HOUR, start + 12 * HOUR)
    samples = [s for s in every_five_minutes(start - 300, stop + 300, lambda t: True)
               if not gap[0] <= s[0] < gap[1]]
    p = pool()
    row = compute_host_day(p, p.hosts[0], day, UTC, 300, *split(samples))
    unobserved_h = 1 + 55 / 60
    assert row.runtime_h == pytest.approx(24 - unobserved_h)
    assert row.coverage == pytest.approx((24 - unobserved_h) / 24)


def test_standby_energy_and_host_without_samples():
    # Host 1 on 06:00-12:00 (midpoints: 05:57:30-11:57:30, 6 h), off the other 18 h, all observed.
    # energy = 6 h × 100 W + 18 h × 2 W = 0.6 + 0.036 = 0.636 kWh. Host 2 has no samples at all.
    day = dt.date(2026, 11, 2)
    start, stop = day_bounds(day, UTC)
    samples = every_five_minutes(start - 300, stop + 300, lambda t: start + 6 * HOUR <= t < start + 12 * HOUR)
    p = pool(standby=2.0, hosts=2)
    seen = compute_host_day(p, p.hosts[0], day, UTC, 300, *split(samples))
    unseen = compute_host_day(p, p.hosts[1], day, UTC, 300, [], [])
    assert seen.runtime_h == pytest.approx(6.0)
    assert seen.energy_kwh == pytest.approx(0.636)
    assert (unseen.runtime_h, unseen.coverage, unseen.energy_kwh) == (0.0, 0.0, 0.0)
    row = compute_pool_day(p, day, [seen, unseen], None)
    assert (row.pcs_total, row.pcs_used) == (2, 1)
    assert row.avg_runtime_h == pytest.approx(6.0)       # over the used PC only
    assert row.coverage == pytest.approx(0.5)            # mean of 1.0 and 0.0
    assert row.energy_kwh == pytest.approx(0.636)


def test_per_host_watts_and_average_when_nobody_used_a_pc():
    # Up samples at 10:00..10:55, then a down sample at 11:00; nothing earlier. The first sample has no
    # earlier neighbour, so it speaks from 09:55 (hold 5 min); the change falls at 10:57:30.
    # On 09:55 → 10:57:30 = 62.5 min, for each of the two hosts (100 W and 250 W).
    day = dt.date(2026, 11, 2)
    start, _ = day_bounds(day, UTC)
    samples = [(start + 10 * HOUR + k * 300, True) for k in range(12)] + [(start + 11 * HOUR, False)]
    p = pool(watts=100.0, hosts=2, host_watts={1: 250.0})
    rows = [compute_host_day(p, host, day, UTC, 300, *split(samples)) for host in p.hosts]
    assert rows[0].runtime_h == pytest.approx(62.5 / 60)
    assert rows[0].energy_kwh == pytest.approx(62.5 / 60 * 0.100)
    assert rows[1].energy_kwh == pytest.approx(62.5 / 60 * 0.250)
    idle = compute_pool_day(p, day, [compute_host_day(p, h, day, UTC, 300, [], []) for h in p.hosts], None)
    assert (idle.pcs_used, idle.avg_runtime_h, idle.runtime_h) == (0, 0.0, 0.0)


def test_opening_hours_weekdays_only_and_sunday_closed():
    # Open mon-fri 08:00-12:00 and 13:00-18:00 (Berlin). Host on 07:00-19:00 local every day.
    # Midpoint rule: on from 06:57:30 to 18:57:30 = 12 h.
    # Monday: open 9 h of those → closed runtime 3 h; on at both closes (12:00 and 18:00) → 2.
    # Sunday: closed all day → closed runtime = all 12 h, no closing instants → 0.
    hours = OpeningHours(((( 480, 720), (780, 1080)),) * 5 + ((), ()))
    p = pool(hours=hours)
    for day, closed_h, at_close in ((dt.date(2026, 11, 2), 3.0, 2), (dt.date(2026, 11, 8), 12.0, 0)):
        lo, hi = sample_window(day, BERLIN, 300)
        start, _ = day_bounds(day, BERLIN)
        samples = every_five_minutes(lo, hi, lambda t: start + 7 * HOUR <= t < start + 19 * HOUR)
        row = compute_host_day(p, p.hosts[0], day, BERLIN, 300, *split(samples))
        assert row.runtime_h == pytest.approx(12.0)
        assert row.runtime_closed_h == pytest.approx(closed_h)
        assert row.on_at_close == at_close
        pool_row = compute_pool_day(p, day, [row], "sign")
        assert (pool_row.runtime_closed_h, pool_row.on_at_close, pool_row.phase) == (
            pytest.approx(closed_h), at_close, "sign")


def test_on_at_close_counts_only_hosts_on_at_that_instant():
    # Open 08:00-16:00 UTC. Host on 08:00-15:00 (midpoint 14:57:30): off at 16:00 → 0; closed runtime 0.
    # (on from 07:57:30: 2.5 min before opening count as closed.)
    hours = OpeningHours((((480, 960),),) * 7)
    p = pool(hours=hours)
    day = dt.date(2026, 11, 2)
    start, stop = day_bounds(day, UTC)
    samples = every_five_minutes(start - 300, stop + 300, lambda t: start + 8 * HOUR <= t < start + 15 * HOUR)
    row = compute_host_day(p, p.hosts[0], day, UTC, 300, *split(samples))
    assert row.on_at_close == 0
    assert row.runtime_h == pytest.approx(7.0)
    assert row.runtime_closed_h == pytest.approx(2.5 / 60)
