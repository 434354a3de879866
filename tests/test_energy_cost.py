"""Energy cost and CO2 with time-of-use tariffs, against figures worked out by hand; the energy: config section.

A PC of 100 W (0.1 kWh an hour), sweeps every 5 minutes, hold 300 s. Default price 0.32 per kWh, the
night tariff 0.24 (mon-fri 22:00-06:00, i.e. 00:00-06:00 and 22:00-24:00 of each weekday) and the
weekend 0.24 all day, as in the README's sample.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from pinger.aggregator.daily import compute_host_day, compute_pool_day, sample_window
from pinger.aggregator.export import DIALECTS, long_rows, render_csv, unconfigured, wide_figures, wide_rows
from pinger.config import Energy, Host, OpeningHours, Pool, Tariff
from pinger.config_values import periods

BERLIN = ZoneInfo("Europe/Berlin")
HOLD = 300.0
MONDAY = dt.date(2026, 11, 2)
SUNDAY = dt.date(2026, 11, 8)
SPRING = dt.date(2026, 3, 29)  # Sunday, 23 hours
AUTUMN = dt.date(2026, 10, 25)  # Sunday, 25 hours


def at(**per_day: str) -> OpeningHours:
    """Tariff periods by weekday name (mon..sun), in the config's wrapping form."""
    names = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    return OpeningHours(
        tuple(tuple(periods(per_day[name], wrap_midnight=True)) if name in per_day else () for name in names)
    )


NIGHT = Tariff(0.24, at(mon="22:00-06:00", tue="22:00-06:00", wed="22:00-06:00", thu="22:00-06:00", fri="22:00-06:00"))
WEEKEND = Tariff(0.24, at(sat="00:00-24:00", sun="00:00-24:00"))
PRICED = Energy(currency="EUR", price=0.32, tariffs=(NIGHT, WEEKEND), co2_g_per_kwh=380.0)


def local(day: dt.date, clock: str) -> float:
    return dt.datetime.combine(day, dt.time.fromisoformat(clock), tzinfo=BERLIN).timestamp()


def day_sweeps(day: dt.date, up) -> tuple[list[float], list[bool]]:
    start, stop = sample_window(day, BERLIN, HOLD)
    times = [float(t) for t in range(int(start), int(stop) + 1, 300)]
    return times, [bool(up(t)) for t in times]


def host_day(day: dt.date, up, energy: Energy = PRICED, standby: float = 0.0):
    host = Host("pc-1", 100.0, standby, False)
    pool = Pool("A101", 100.0, standby, (host,), {})
    return compute_host_day(pool, host, day, BERLIN, HOLD, *day_sweeps(day, up), energy)


def evening(day: dt.date):
    """Up in the sweeps 21:00..22:55: on from 20:57:30 to 22:57:30."""
    return lambda t: local(day, "21:00") <= t < local(day, "23:00")


def test_cost_across_the_22_00_tariff_boundary():
    row = host_day(MONDAY, evening(MONDAY))
    # 3750 s before 22:00 at 0.32, 3450 s after at 0.24; 100 W.
    assert row.cost == pytest.approx(100 * 3750 / 3.6e6 * 0.32 + 100 * 3450 / 3.6e6 * 0.24)
    assert row.cost == pytest.approx(0.0563333, abs=1e-7)
    assert row.co2_kg == pytest.approx(0.2 * 0.380)


def test_a_weekend_day_is_all_weekend_tariff():
    assert host_day(SUNDAY, evening(SUNDAY)).cost == pytest.approx(0.2 * 0.24)


@pytest.mark.parametrize(
    ("day", "night_hours", "day_hours"),
    [
        (AUTUMN, 7 + 2, 16),  # 00:00-06:00 lasts 7 hours (02:00-03:00 twice), 22:00-24:00 two, the rest 16
        (SPRING, 5 + 2, 16),  # 00:00-06:00 lasts 5 hours (02:00-03:00 skipped)
    ],
)
def test_a_dst_night_inside_a_night_tariff_is_priced_by_its_real_length(day, night_hours, day_hours):
    energy = Energy(price=0.32, tariffs=(Tariff(0.24, at(sun="22:00-06:00")),))
    row = host_day(day, lambda t: True, energy)
    assert row.runtime_h == pytest.approx(night_hours + day_hours)
    assert row.cost == pytest.approx(0.1 * (night_hours * 0.24 + day_hours * 0.32))
    assert row.co2_kg is None  # no co2_g_per_kwh configured


def test_standby_energy_is_priced_by_the_tariff_in_force_too():
    row = host_day(MONDAY, evening(MONDAY), standby=2.0)
    on_cost = 0.0563333333
    # Off and observed: 00:00-06:00 (21600 s) and 22:57:30-24:00 (3750 s) at 0.24, 06:00-20:57:30 (53850 s) at 0.32.
    standby_cost = 2.0 * (21600 * 0.24 + 3750 * 0.24 + 53850 * 0.32) / 3.6e6
    assert row.cost == pytest.approx(on_cost + standby_cost)
    assert row.energy_kwh == pytest.approx(0.2 + 2.0 * (86400 - 7200) / 3.6e6)
    assert row.co2_kg == pytest.approx(row.energy_kwh * 0.380)


def test_a_pool_sums_its_hosts_cost_and_co2():
    host = host_day(MONDAY, evening(MONDAY))
    other = host._replace(host="pc-2", cost=0.5, co2_kg=0.25)
    pool = Pool("A101", 100.0, 0.0, (Host("pc-1", 100, 0, False), Host("pc-2", 100, 0, False)), {})
    row = compute_pool_day(pool, MONDAY, [host, other], None, PRICED)
    assert row.cost == pytest.approx(host.cost + 0.5) and row.co2_kg == pytest.approx(host.co2_kg + 0.25)


def test_no_pricing_configured_means_no_cost_no_co2_and_no_columns():
    row = host_day(MONDAY, evening(MONDAY), Energy())
    assert (row.cost, row.co2_kg) == (None, None)
    pool = Pool("A101", 100.0, 0.0, (Host("pc-1", 100, 0, False),), {})
    pool_row = compute_pool_day(pool, MONDAY, [row], None)
    assert (pool_row.cost, pool_row.co2_kg) == (None, None)
    long_csv = render_csv(long_rows([pool_row], left_out=unconfigured(Energy())), DIALECTS["unix"])
    assert long_csv.splitlines()[0] == (
        "date,pool,phase,pcs_total,pcs_used,runtime_h,avg_runtime_h,energy_kwh,coverage,runtime_closed_h,on_at_close"
    )
    assert wide_figures(Energy()) == ("runtime_h", "avg_runtime_h", "energy_kwh", "pcs_total", "pcs_used")


def test_with_pricing_both_layouts_show_cost_and_co2():
    row = host_day(MONDAY, evening(MONDAY))
    pool = Pool("A101", 100.0, 0.0, (Host("pc-1", 100, 0, False),), {})
    pool_row = compute_pool_day(pool, MONDAY, [row], None, PRICED)
    long_csv = render_csv(long_rows([pool_row], left_out=unconfigured(PRICED)), DIALECTS["unix"]).splitlines()
    assert long_csv[0].endswith(",runtime_closed_h,on_at_close,cost,co2_kg")
    assert long_csv[1].endswith(",,,0.056333,0.076")
    wide = render_csv(wide_rows([pool_row], ["A101"], wide_figures(PRICED)), DIALECTS["unix"]).splitlines()
    assert wide[0] == (
        "date,A101 runtime_h,A101 avg_runtime_h,A101 energy_kwh,A101 cost,A101 pcs_total,A101 pcs_used,A101 co2_kg"
    )
    # Pricing without a CO2 intensity: cost only.
    assert unconfigured(PRICED._replace(co2_g_per_kwh=None)) == {"co2_kg"}


# -- the energy: section -------------------------------------------------------------------------------

BASE = """
timezone: Europe/Berlin
pools:
  - {name: A, watts: 80, hosts: [127.0.0.1]}
"""


def test_the_readme_sample_loads(write_config):
    from pinger.config_load import load_config

    config = load_config(
        write_config(
            BASE
            + """
energy:
  currency: EUR
  price: 0.32
  tariffs:
    - {price: 0.24, at: {mon-fri: "22:00-06:00", "sat,sun": "00:00-24:00"}}
  co2_g_per_kwh: 380
"""
        )
    )
    assert config.energy.price == 0.32 and config.energy.currency == "EUR" and config.energy.co2_g_per_kwh == 380
    (tariff,) = config.energy.tariffs
    assert tariff.price == 0.24
    assert tariff.hours.periods[0] == ((0, 360), (1320, 1440)) and tariff.hours.periods[6] == ((0, 1440),)
    assert load_config(write_config(BASE)).energy == Energy()


@pytest.mark.parametrize(
    ("energy", "expected"),
    [
        (
            """  price: 0.3
  tariffs:
    - {price: 0.2, at: {mon-fri: "22:00-06:00"}}
    - {price: 0.1, at: {fri: "05:00-07:00"}}
""",
            "{path}:8: energy.tariffs[1].at: overlaps energy.tariffs[0] on fri (05:00-06:00); tariffs must not overlap",
        ),
        (
            """  price: -0.3
""",
            "{path}:5: energy.price: '-0.3' is not a price (a number of zero or more, per kWh, e.g. 0.32)",
        ),
        (
            """  price: 0.3
  tariffs:
    - {price: cheap, at: {sun: "00:00-24:00"}}
""",
            "{path}:7: energy.tariffs[0].price: 'cheap' is not a price (a number of zero or more, per kWh, e.g. 0.32)",
        ),
        (
            """  price: 0.3
  co2: 380
""",
            "{path}:6: energy.co2: unknown field (known here: co2_g_per_kwh, currency, price, tariffs)",
        ),
        (
            """  price: 0.3
  tariffs:
    - {price: 0.2, at: {sun: "00:00-24:00"}, when: night}
""",
            "{path}:7: energy.tariffs[0].when: unknown field (known here: at, price)",
        ),
        (
            """  tariffs:
    - {price: 0.2, at: {sun: "00:00-24:00"}}
""",
            "{path}:6: energy.price: required with tariffs: the price per kWh wherever no tariff is in force",
        ),
        (
            """  price: 0.3
  tariffs:
    - {price: 0.2, at: {}}
""",
            "{path}:7: energy.tariffs[0].at: required: the weekly periods the price is in force, "
            'e.g. {{mon-fri: "22:00-06:00"}}',
        ),
    ],
)
def test_energy_config_errors_name_file_and_line(write_config, run_pinger, energy, expected):
    path = write_config(BASE + "energy:\n" + energy)
    result = run_pinger("check-config", "-c", str(path))
    assert result.returncode == 2
    assert result.stderr.strip() == expected.format(path=path)
