"""Daily host and pool figures, against expectations worked out by hand (see comments).

Unless said otherwise: samples every 5 minutes (300 s), hold 300 s, so a change of state between
two sweeps falls at the midpoint, 2.5 minutes after the last sample of the old state.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from pinger.aggregator.daily import compute_host_day, compute_pool_day, sample_window
from pinger.config import Host, OpeningHours, Pool
from pinger.localtime import closing_instants, day_bounds, opening_spans

BERLIN = ZoneInfo("Europe/Berlin")
UTC = ZoneInfo("UTC")
HOLD = 300.0
MONDAY = dt.date(2026, 11, 2)  # CET (UTC+1), an ordinary 24-hour day
FRIDAY = dt.date(2026, 11, 6)
SUNDAY = dt.date(2026, 11, 8)
SPRING = dt.date(2026, 3, 29)  # Sunday; clocks go 02:00 CET -> 03:00 CEST: 23 hours
AUTUMN = dt.date(2026, 10, 25)  # Sunday; clocks go 03:00 CEST -> 02:00 CET: 25 hours


def utc(*fields) -> float:
    return dt.datetime(*fields, tzinfo=dt.UTC).timestamp()


def local(day: dt.date, clock: str, tz=BERLIN) -> float:
    """Unix seconds of a wall time on an ordinary (non-DST-change) day, by the standard library."""
    return dt.datetime.combine(day, dt.time.fromisoformat(clock), tzinfo=tz).timestamp()


def sweeps(start: float, stop: float, up) -> tuple[list[float], list[bool]]:
    """Samples every 300 s from start (inclusive) to stop (exclusive), state up(t)."""
    times = [float(t) for t in range(int(start), int(stop), 300)]
    return times, [bool(up(t)) for t in times]


def up_between(day: dt.date, start: str, end: str) -> tuple[list[float], list[bool]]:
    """A day's sweeps over its sample window (Berlin), up from ``start`` to before ``end`` local time, else down."""
    on_from, on_to = local(day, start), local(day, end)
    return sweeps(*sample_window(day, BERLIN, HOLD), lambda t: on_from <= t < on_to)


def always(_t) -> bool:
    return True


def hours_every_day(*periods: tuple[int, int]) -> OpeningHours:
    return OpeningHours((tuple(periods),) * 7)


def make_pool(*hosts: Host, watts=100.0, standby=0.0, hours=None, tags=None) -> Pool:
    return Pool("A101", watts, standby, hosts or (pc("pc-1"),), tags or {}, hours)


def pc(name: str, watts=100.0, standby=0.0) -> Host:
    return Host(name, watts, standby, False)


def host_day(pool: Pool, day: dt.date, samples, tz=BERLIN, host: Host | None = None):
    return compute_host_day(pool, host or pool.hosts[0], day, tz, HOLD, *samples)


# -- local days ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "day, start, stop",
    [
        # CEST (UTC+2): local midnights are 22:00 UTC the day before.
        (dt.date(2026, 6, 1), utc(2026, 5, 31, 22), utc(2026, 6, 1, 22)),
        # starts in CET (UTC+1), ends in CEST (UTC+2): 23:00Z .. 22:00Z next day = 23 h
        (SPRING, utc(2026, 3, 28, 23), utc(2026, 3, 29, 22)),
        # starts in CEST, ends in CET: 22:00Z .. 23:00Z next day = 25 h
        (AUTUMN, utc(2026, 10, 24, 22), utc(2026, 10, 25, 23)),
    ],
)
def test_day_bounds_are_local_midnights(day, start, stop):
    assert day_bounds(day, BERLIN) == (start, stop)


def test_sample_window_reaches_hold_beyond_the_day():
    # 2026-06-01 in Berlin runs 22:00Z..22:00Z; hold 300 s widens it by 5 minutes on each side.
    assert sample_window(dt.date(2026, 6, 1), BERLIN, 300) == (utc(2026, 5, 31, 21, 55), utc(2026, 6, 1, 22, 5))


@pytest.mark.parametrize(
    "day, hours",
    [
        (SPRING, 23.0),
        (AUTUMN, 25.0),
        (MONDAY, 24.0),  # CET all day
        (dt.date(2026, 6, 1), 24.0),  # CEST all day
    ],
)
def test_host_up_all_day_counts_the_real_length_of_the_day(day, hours):
    # Sweeps over the whole sample window, all up: on and observed for the whole day.
    # Energy at 100 W: 23 h → 2.3 kWh, 25 h → 2.5 kWh, 24 h → 2.4 kWh.
    pool = make_pool()
    row = host_day(pool, day, sweeps(*sample_window(day, BERLIN, HOLD), always))
    assert row.runtime_h == pytest.approx(hours)
    assert row.coverage == pytest.approx(1.0)
    assert row.energy_kwh == pytest.approx(hours / 10)


def test_regular_sweeps_give_full_coverage_with_partial_runtime():
    # Up from 08:00 to 16:55 (last up sweep), down otherwise: on 07:57:30..16:57:30 = 9 h, all observed.
    pool = make_pool()
    row = host_day(pool, MONDAY, up_between(MONDAY, "08:00", "17:00"))
    assert (row.runtime_h, row.coverage) == (pytest.approx(9.0), pytest.approx(1.0))


# -- edges of the day ---------------------------------------------------------------------------


@pytest.mark.parametrize("tz", [BERLIN, UTC])
def test_pc_on_across_midnight_is_split_between_the_days(tz):
    # Up from Monday 22:00 to Tuesday 01:55 (last up sweep), local time of tz; sweeps cover both days.
    # On from 21:57:30 Monday to 01:57:30 Tuesday: Monday 2 h 2.5 min, Tuesday 1 h 57.5 min; together 4 h.
    pool = make_pool()
    tuesday = MONDAY + dt.timedelta(days=1)
    on_from, on_to = local(MONDAY, "22:00", tz), local(tuesday, "02:00", tz)
    samples = sweeps(
        local(MONDAY, "00:00", tz) - 300, local(tuesday, "00:00", tz) + 86400 + 300, lambda t: on_from <= t < on_to
    )
    first, second = host_day(pool, MONDAY, samples, tz=tz), host_day(pool, tuesday, samples, tz=tz)
    assert first.runtime_h == pytest.approx(2 + 2.5 / 60)
    assert second.runtime_h == pytest.approx(2 - 2.5 / 60)
    assert first.runtime_h + second.runtime_h == pytest.approx(4.0)


def test_a_sample_of_the_previous_day_decides_the_start_of_the_day():
    # Monday 23:58 up, Tuesday 00:03 down (sweeps offset by 3 minutes), hold 300.
    # Midpoint 00:00:30: the up sample owns 23:53..00:00:30, so Tuesday gets 30 s on and Monday 7 min.
    # Without the Monday sample, 00:03 would own Tuesday from 23:58 → 0 s on: the window matters.
    pool = make_pool()
    tuesday = MONDAY + dt.timedelta(days=1)
    times = [local(MONDAY, "23:58"), local(tuesday, "00:03")]
    assert host_day(pool, tuesday, (times, [True, False])).runtime_h == pytest.approx(30 / 3600)
    assert host_day(pool, MONDAY, (times, [True, False])).runtime_h == pytest.approx(7 / 60)
    assert host_day(pool, tuesday, (times[1:], [False])).runtime_h == 0


# -- gaps and missing hosts ---------------------------------------------------------------------


def test_collector_gap_longer_than_hold_lowers_coverage():
    # All up, but no sweeps from 10:00 to 11:55 (UTC day). 09:55 speaks until 09:55 + hold = 10:00,
    # 12:00 from 12:00 - hold = 11:55: unobserved 10:00..11:55 = 115 min.
    # runtime 24 h - 115 min = 22 h 5 min = 22.08333 h; coverage (1440 - 115) / 1440 = 0.920139;
    # energy at 100 W: 2.208333 kWh.
    pool = make_pool()
    gap_from, gap_to = utc(2026, 11, 2, 10), utc(2026, 11, 2, 12)
    times, states = sweeps(*sample_window(MONDAY, UTC, HOLD), always)
    kept = [i for i, t in enumerate(times) if not gap_from <= t < gap_to]
    row = host_day(pool, MONDAY, ([times[i] for i in kept], [states[i] for i in kept]), tz=UTC)
    assert row.runtime_h == pytest.approx(22 + 5 / 60)
    assert row.coverage == pytest.approx(1325 / 1440)
    assert row.energy_kwh == pytest.approx(2.2083333)


def test_host_without_samples():
    hours = hours_every_day((480, 1200))
    row = host_day(make_pool(hours=hours), MONDAY, ([], []))
    assert (row.runtime_h, row.coverage, row.energy_kwh, row.runtime_closed_h, row.on_at_close) == (0, 0, 0, 0, 0)
    plain = host_day(make_pool(), MONDAY, ([], []))
    assert (plain.runtime_closed_h, plain.on_at_close) == (None, None)


def test_single_sample_in_the_day():
    # One up sample at 12:00: owns 11:55..12:05 = 10 min; coverage 10 / 1440.
    row = host_day(make_pool(), MONDAY, ([local(MONDAY, "12:00")], [True]))
    assert row.runtime_h == pytest.approx(10 / 60)
    assert row.coverage == pytest.approx(10 / 1440)


def test_flapping_host():
    # Up and down on alternate sweeps all day (up at even multiples of 300 s from local midnight):
    # each sample owns exactly 300 s, so half the day is on: 12 h, fully observed.
    # The edges: the sweep at -300 (down) owns -450..-150, the one at 0 (up) owns -150..150 → 0..150
    # inside the day, and the last one at 86100 (down) owns ..86250; 86400 (up) owns 86250..86550.
    # Up time inside: 150 + 143 × 300 + 150 = 43200 s = 12 h.
    midnight = local(MONDAY, "00:00")
    row = host_day(
        make_pool(),
        MONDAY,
        sweeps(midnight - 300, midnight + 86400 + 301, lambda t: round((t - midnight) / 300) % 2 == 0),
    )
    assert (row.runtime_h, row.coverage) == (pytest.approx(12.0), pytest.approx(1.0))


# -- energy --------------------------------------------------------------------------------------


def test_standby_energy_counts_observed_off_time_only():
    # On 06:00..11:55 (last up sweep) → on 05:57:30..11:57:30 = 6 h; off the other 18 h, all observed.
    # 6 h × 100 W + 18 h × 2 W = 0.6 + 0.036 = 0.636 kWh.
    # With a 2-hour gap (no sweeps 20:00..21:55) while off: off observed 18 h - 115 min = 16.0833 h,
    # 0.6 + 16.0833 × 0.002 = 0.6321667 kWh.
    pool = make_pool(standby=2.0)
    host = pc("pc-1", watts=100.0, standby=2.0)
    times, states = up_between(MONDAY, "06:00", "12:00")
    assert host_day(pool, MONDAY, (times, states), host=host).energy_kwh == pytest.approx(0.636)
    gap_from, gap_to = local(MONDAY, "20:00"), local(MONDAY, "22:00")
    kept = [i for i, t in enumerate(times) if not gap_from <= t < gap_to]
    gapped = host_day(pool, MONDAY, ([times[i] for i in kept], [states[i] for i in kept]), host=host)
    assert gapped.energy_kwh == pytest.approx(0.6 + (18 - 115 / 60) * 0.002)


def test_per_host_watts():
    # Both hosts on 6 h (as above). pc-1 draws the pool's 80 W → 0.48 kWh; pc-2 overrides 120 W → 0.72 kWh.
    pool = make_pool(pc("pc-1", watts=80.0), pc("pc-2", watts=120.0), watts=80.0)
    samples = up_between(MONDAY, "06:00", "12:00")
    rows = [host_day(pool, MONDAY, samples, host=host) for host in pool.hosts]
    assert [row.energy_kwh for row in rows] == [pytest.approx(0.48), pytest.approx(0.72)]


def test_per_host_watts_when_the_first_sample_has_no_earlier_neighbour():
    # Up samples at 10:00..10:55 (UTC), then a down sample at 11:00; nothing earlier. The first sample has no
    # earlier neighbour, so it speaks from 09:55 (hold 5 min); the change falls at 10:57:30.
    # On 09:55 → 10:57:30 = 62.5 min, for each of the two hosts (100 W and 250 W).
    pool = make_pool(pc("pc-1"), pc("pc-2", watts=250.0))
    samples = sweeps(utc(2026, 11, 2, 10), utc(2026, 11, 2, 11, 5), lambda t: t < utc(2026, 11, 2, 11))
    rows = [host_day(pool, MONDAY, samples, tz=UTC, host=host) for host in pool.hosts]
    assert rows[0].runtime_h == pytest.approx(62.5 / 60)
    assert rows[0].energy_kwh == pytest.approx(62.5 / 60 * 0.100)
    assert rows[1].energy_kwh == pytest.approx(62.5 / 60 * 0.250)


# -- opening hours --------------------------------------------------------------------------------


def test_weekday_opening_hours_and_a_sunday_closed_all_day():
    # Open mon-fri 08:00-20:00, closed sat and sun. Host up 07:00..18:55 → on 06:57:30..18:57:30 = 12 h.
    # Monday: on while closed 06:57:30..08:00 = 62.5 min = 1.0416667 h; at 20:00 off → on_at_close 0.
    # Sunday: closed all day → runtime_closed_h = the whole 12 h; no closing instant → 0.
    weekdays = ((480, 1200),)
    pool = make_pool(hours=OpeningHours((weekdays,) * 5 + ((), ())))
    for day, closed_h in ((MONDAY, 62.5 / 60), (SUNDAY, 12.0)):
        row = host_day(pool, day, up_between(day, "07:00", "19:00"))
        assert row.runtime_h == pytest.approx(12.0)
        assert row.runtime_closed_h == pytest.approx(closed_h)
        assert row.on_at_close == 0


def test_weekday_hours_with_a_lunch_break_and_a_closed_sunday_in_host_and_pool_rows():
    # Open mon-fri 08:00-12:00 and 13:00-18:00 (Berlin). Host up 07:00..18:55 local every day.
    # Midpoint rule: on from 06:57:30 to 18:57:30 = 12 h.
    # Monday: open 9 h of those → closed runtime 3 h; on at both closes (12:00 and 18:00) → 2.
    # Sunday: closed all day → closed runtime = all 12 h, no closing instants → 0.
    # The pool row (one host) carries the same closed runtime and count, and the phase given.
    pool = make_pool(hours=OpeningHours((((480, 720), (780, 1080)),) * 5 + ((), ())))
    for day, closed_h, at_close in ((MONDAY, 3.0, 2), (SUNDAY, 12.0, 0)):
        row = host_day(pool, day, up_between(day, "07:00", "19:00"))
        assert row.runtime_h == pytest.approx(12.0)
        assert row.runtime_closed_h == pytest.approx(closed_h)
        assert row.on_at_close == at_close
        pool_row = compute_pool_day(pool, day, [row], "sign")
        assert (pool_row.runtime_closed_h, pool_row.on_at_close, pool_row.phase) == (
            pytest.approx(closed_h),
            at_close,
            "sign",
        )


def test_on_at_close_counts_only_hosts_on_at_that_instant():
    # Open 08:00-16:00 UTC. Host up 08:00..14:55 (midpoint 14:57:30): off at 16:00 → 0; runtime 7 h.
    # On from 07:57:30: the 2.5 min before opening count as closed runtime.
    pool = make_pool(hours=hours_every_day((480, 960)))
    on_from, on_to = utc(2026, 11, 2, 8), utc(2026, 11, 2, 15)
    row = host_day(pool, MONDAY, sweeps(*sample_window(MONDAY, UTC, HOLD), lambda t: on_from <= t < on_to), tz=UTC)
    assert row.on_at_close == 0
    assert row.runtime_h == pytest.approx(7.0)
    assert row.runtime_closed_h == pytest.approx(2.5 / 60)


def test_on_at_close_with_two_periods_in_one_day():
    # Open 08:00-12:00 and 13:00-18:00 every day (UTC).
    # pc-1 up 07:00..18:55 → on 06:57:30..18:57:30 (12 h): on at 12:00 and at 18:00 → 2.
    #   inside opening hours 4 h + 5 h = 9 h → closed 3 h.
    # pc-2 up 11:00..14:55 → on 10:57:30..14:57:30 (4 h): on at 12:00, off at 18:00 → 1.
    #   inside: 10:57:30..12:00 (62.5 min) + 13:00..14:57:30 (117.5 min) = 3 h → closed 1 h.
    # Pool: on_at_close 3, runtime_closed_h 4.
    pool = make_pool(pc("pc-1"), pc("pc-2"), hours=hours_every_day((480, 720), (780, 1080)))
    window = sample_window(MONDAY, UTC, HOLD)
    samples = {
        "pc-1": sweeps(*window, lambda t: utc(2026, 11, 2, 7) <= t < utc(2026, 11, 2, 19)),
        "pc-2": sweeps(*window, lambda t: utc(2026, 11, 2, 11) <= t < utc(2026, 11, 2, 15)),
    }
    rows = [host_day(pool, MONDAY, samples[host.name], tz=UTC, host=host) for host in pool.hosts]
    assert [row.on_at_close for row in rows] == [2, 1]
    assert [row.runtime_closed_h for row in rows] == [pytest.approx(3.0), pytest.approx(1.0)]
    pool_row = compute_pool_day(pool, MONDAY, rows, None)
    assert (pool_row.on_at_close, pool_row.runtime_closed_h) == (3, pytest.approx(4.0))


def test_closing_exactly_at_a_midpoint_goes_to_the_earlier_sample():
    # Open 08:00-18:00 (UTC). Samples 17:57:30 up and 18:02:30 down: the closing instant 18:00 is their
    # midpoint, so the earlier (up) sample decides → on at close. Swapped states → not on.
    pool = make_pool(hours=hours_every_day((480, 1080)))
    times = [utc(2026, 11, 2, 17, 57, 30), utc(2026, 11, 2, 18, 2, 30)]
    assert host_day(pool, MONDAY, (times, [True, False]), tz=UTC).on_at_close == 1
    assert host_day(pool, MONDAY, (times, [False, True]), tz=UTC).on_at_close == 0


def test_opening_hours_on_dst_days_are_wall_clock_times():
    # Open 01:00-05:00 every day; host up all day.
    # Spring: 01:00 CET = 00:00Z .. 05:00 CEST = 03:00Z → open 3 h; closed 23 - 3 = 20 h.
    # Autumn: 01:00 CEST = 23:00Z (24 Oct) .. 05:00 CET = 04:00Z → open 5 h; closed 25 - 5 = 20 h.
    hours = hours_every_day((60, 300))
    assert opening_spans(hours, SPRING, BERLIN) == ((utc(2026, 3, 29, 0), utc(2026, 3, 29, 3)),)
    assert opening_spans(hours, AUTUMN, BERLIN) == ((utc(2026, 10, 24, 23), utc(2026, 10, 25, 4)),)
    pool = make_pool(hours=hours)
    for day in (SPRING, AUTUMN):
        row = host_day(pool, day, sweeps(*sample_window(day, BERLIN, HOLD), always))
        assert row.runtime_closed_h == pytest.approx(20.0)
        assert row.on_at_close == 1


def test_skipped_and_repeated_wall_times():
    # Spring: 02:00-02:30 never happens (02:00 CET jumps to 03:00 CEST at 01:00Z) → no span at all.
    # 01:00-02:30 ends when the clock jumps past 02:30, at 01:00Z → 00:00Z..01:00Z.
    spring = OpeningHours((((60, 150),),) * 6 + (((120, 150),),))  # the Sunday gets the skipped period
    assert opening_spans(spring, SPRING, BERLIN) == ()
    assert closing_instants(spring, SPRING, BERLIN) == ()
    assert opening_spans(spring, SPRING - dt.timedelta(days=1), BERLIN) == (
        (utc(2026, 3, 28, 0), utc(2026, 3, 28, 1, 30)),
    )  # Saturday, ordinary: 01:00-02:30 CET
    spring_long = hours_every_day((60, 150))
    assert opening_spans(spring_long, SPRING, BERLIN) == ((utc(2026, 3, 29, 0), utc(2026, 3, 29, 1)),)
    # Autumn: 02:30 happens twice (00:30Z in CEST, 01:30Z in CET); the first one counts.
    # 02:30-04:00 → 00:30Z .. 03:00Z (04:00 CET), 2.5 real hours.
    autumn = hours_every_day((150, 240))
    assert opening_spans(autumn, AUTUMN, BERLIN) == ((utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 3)),)
    # A host up all day on the spring Sunday with only the skipped period: all 23 h closed, no close.
    row = host_day(make_pool(hours=spring), SPRING, sweeps(*sample_window(SPRING, BERLIN, HOLD), always))
    assert (row.runtime_closed_h, row.on_at_close) == (pytest.approx(23.0), 0)


def test_touching_periods_are_one_opening():
    # 08:00-12:00 and 12:00-18:00: the pool does not close at 12:00; one closing instant at 18:00.
    hours = hours_every_day((480, 720), (720, 1080))
    assert opening_spans(hours, MONDAY, UTC) == ((utc(2026, 11, 2, 8), utc(2026, 11, 2, 18)),)
    assert closing_instants(hours, MONDAY, UTC) == (utc(2026, 11, 2, 18),)


def test_opening_until_midnight_closes_only_when_the_next_day_does_not_open_at_midnight():
    # Open mon-fri 00:00-24:00. Monday's 24:00 runs into Tuesday 00:00: no closing on Monday.
    # Friday's 24:00 is a closing (Saturday is closed); the state there is decided by Saturday's samples:
    # Friday 23:55 up, Saturday 00:00 up → on (the sample at 00:00 itself); Saturday 00:00 down → off.
    hours = OpeningHours((((0, 1440),),) * 5 + ((), ()))
    assert closing_instants(hours, MONDAY, UTC) == ()
    saturday_midnight = utc(2026, 11, 7)
    assert closing_instants(hours, FRIDAY, UTC) == (saturday_midnight,)
    pool = make_pool(hours=hours)
    times = [saturday_midnight - 300, saturday_midnight]
    assert host_day(pool, FRIDAY, (times, [True, True]), tz=UTC).on_at_close == 1
    assert host_day(pool, FRIDAY, (times, [True, False]), tz=UTC).on_at_close == 0
    assert host_day(pool, MONDAY, sweeps(*sample_window(MONDAY, UTC, HOLD), always), tz=UTC).on_at_close == 0


# -- pool rows ------------------------------------------------------------------------------------


def test_pool_day_sums_and_averages_over_used_pcs_only():
    # pc-1 on 06:00..12:00 → 6 h; pc-2 on 09:00..12:00 → 3 h; pc-3 has no samples.
    # pcs_total 3, pcs_used 2, runtime 9 h, avg 9 / 2 = 4.5 h (not 9 / 3),
    # coverage (1 + 1 + 0) / 3 = 0.6667, energy 0.6 + 0.3 = 0.9 kWh at 100 W.
    pool = make_pool(pc("pc-1"), pc("pc-2"), pc("pc-3"), tags={"building": "main"})
    window = sample_window(MONDAY, BERLIN, HOLD)
    noon = local(MONDAY, "12:00")
    rows = [
        host_day(pool, MONDAY, sweeps(*window, lambda t: local(MONDAY, "06:00") <= t < noon), host=pool.hosts[0]),
        host_day(pool, MONDAY, sweeps(*window, lambda t: local(MONDAY, "09:00") <= t < noon), host=pool.hosts[1]),
        host_day(pool, MONDAY, ([], []), host=pool.hosts[2]),
    ]
    row = compute_pool_day(pool, MONDAY, rows, "polite-sign")
    assert (row.day, row.pool, row.phase, row.tags) == (MONDAY, "A101", "polite-sign", {"building": "main"})
    assert (row.pcs_total, row.pcs_used) == (3, 2)
    assert row.runtime_h == pytest.approx(9.0)
    assert row.avg_runtime_h == pytest.approx(4.5)
    assert row.coverage == pytest.approx(2 / 3)
    assert row.energy_kwh == pytest.approx(0.9)
    assert (row.runtime_closed_h, row.on_at_close) == (None, None)


def test_pool_day_without_any_used_pc():
    # Two hosts, both observed all day but off: pcs_used 0, avg 0 (no division by zero), coverage 1.
    pool = make_pool(pc("pc-1"), pc("pc-2"))
    off = sweeps(*sample_window(MONDAY, BERLIN, HOLD), lambda t: False)
    rows = [host_day(pool, MONDAY, off, host=host) for host in pool.hosts]
    row = compute_pool_day(pool, MONDAY, rows, None)
    assert (row.pcs_total, row.pcs_used, row.runtime_h, row.avg_runtime_h) == (2, 0, 0, 0)
    assert row.coverage == pytest.approx(1.0)
    assert row.phase is None


def test_pool_day_of_hosts_without_samples():
    # Two hosts (100 W and 250 W), neither with a single sample: nobody used a PC, so pcs_used 0,
    # runtime 0 and the average 0 (no division by zero).
    pool = make_pool(pc("pc-1"), pc("pc-2", watts=250.0))
    rows = [host_day(pool, MONDAY, ([], []), tz=UTC, host=host) for host in pool.hosts]
    idle = compute_pool_day(pool, MONDAY, rows, None)
    assert (idle.pcs_used, idle.avg_runtime_h, idle.runtime_h) == (0, 0.0, 0.0)


def test_pool_day_with_standby_energy_and_a_host_without_samples():
    # UTC day. pc-1 up 06:00..11:55 (midpoints: on 05:57:30-11:57:30, 6 h), off the other 18 h, all observed.
    # energy = 6 h × 100 W + 18 h × 2 W = 0.6 + 0.036 = 0.636 kWh. pc-2 (also 2 W standby) has no samples
    # at all: no runtime, no coverage, and no standby energy for unobserved time.
    pool = make_pool(pc("pc-1", standby=2.0), pc("pc-2", standby=2.0), standby=2.0)
    on_from, on_to = utc(2026, 11, 2, 6), utc(2026, 11, 2, 12)
    samples = sweeps(*sample_window(MONDAY, UTC, HOLD), lambda t: on_from <= t < on_to)
    seen = host_day(pool, MONDAY, samples, tz=UTC, host=pool.hosts[0])
    unseen = host_day(pool, MONDAY, ([], []), tz=UTC, host=pool.hosts[1])
    assert seen.runtime_h == pytest.approx(6.0)
    assert seen.energy_kwh == pytest.approx(0.636)
    assert (unseen.runtime_h, unseen.coverage, unseen.energy_kwh) == (0.0, 0.0, 0.0)
    row = compute_pool_day(pool, MONDAY, [seen, unseen], None)
    assert (row.pcs_total, row.pcs_used) == (2, 1)
    assert row.avg_runtime_h == pytest.approx(6.0)  # over the used PC only
    assert row.coverage == pytest.approx(0.5)  # mean of 1.0 and 0.0
    assert row.energy_kwh == pytest.approx(0.636)


def test_pool_day_counts_a_host_missing_from_the_rows_as_unobserved():
    # Two configured hosts, one row given (coverage 1): pool coverage (1 + 0) / 2 = 0.5, pcs_total 2.
    pool = make_pool(pc("pc-1"), pc("pc-2"))
    rows = [host_day(pool, MONDAY, sweeps(*sample_window(MONDAY, BERLIN, HOLD), always))]
    row = compute_pool_day(pool, MONDAY, rows, None)
    assert (row.pcs_total, row.pcs_used, row.coverage) == (2, 1, pytest.approx(0.5))


def test_pool_day_refuses_rows_that_do_not_belong():
    pool = make_pool(pc("pc-1"), pc("pc-2"))
    row = host_day(pool, MONDAY, ([], []))
    with pytest.raises(ValueError):
        compute_pool_day(pool, MONDAY, [row, row], None)
    with pytest.raises(ValueError):
        compute_pool_day(pool, MONDAY + dt.timedelta(days=1), [row], None)
    other = Pool("B202", 100.0, 0.0, pool.hosts, {}, None)
    with pytest.raises(ValueError):
        compute_pool_day(other, MONDAY, [row], None)
