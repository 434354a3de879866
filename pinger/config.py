"""The validated configuration as typed, immutable objects (loading lives in config_load).

Records here and in ``models`` are NamedTuples rather than dataclasses: ``import dataclasses``
plus building frozen dataclasses cost ~25 ms, paid by every ``pinger sweep`` process.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from pathlib import Path
from typing import NamedTuple
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# The defaults of what a config may leave out are written here, on the types, and nowhere else: the loader
# passes on what the file gives and lets the type fill in the rest. Config's own fields have no defaults
# (each follows a rule), except the interval:
DEFAULT_INTERVAL_S = 300.0  # Config.interval: one sweep every 5 minutes


class Host(NamedTuple):
    """One PC: an IPv4 or IPv6 address or a DNS name, and its draw while on and off."""

    name: str
    watts: float
    standby_watts: float
    is_address: bool


class OpeningHours(NamedTuple):
    """Opening periods per weekday (0 = Monday), as (start, end) minutes after local midnight.

    A weekday without periods is closed all day. ``end`` may be 1440 (24:00).
    """

    periods: tuple[tuple[tuple[int, int], ...], ...]  # index: weekday

    def periods_on(self, day: dt.date) -> tuple[tuple[int, int], ...]:
        return self.periods[day.weekday()]


class Tariff(NamedTuple):
    """A time-of-use price per kWh, in force during its weekly wall-clock periods."""

    price: float
    hours: OpeningHours  # the periods it is in force, in the opening-hours form


class Energy(NamedTuple):
    """Energy pricing and CO2 intensity (config ``energy:``); a figure left out is None."""

    currency: str | None = None
    price: float | None = None  # per kWh, wherever no tariff is in force
    tariffs: tuple[Tariff, ...] = ()  # never overlapping (checked on load)
    co2_g_per_kwh: float | None = None

    @property
    def priced(self) -> bool:
        return self.price is not None or bool(self.tariffs)


class Pool(NamedTuple):
    name: str
    watts: float
    standby_watts: float
    hosts: tuple[Host, ...]
    tags: dict[str, str]
    open: OpeningHours | None = None


class Phase(NamedTuple):
    """A study phase: from ``start`` to ``end`` (both inclusive; open-ended when None)."""

    name: str
    start: dt.date
    end: dt.date | None = None
    pools: frozenset[str] | None = None  # None: every pool

    def applies(self, pool: str, day: dt.date) -> bool:
        if day < self.start or (self.end is not None and day > self.end):
            return False
        return self.pools is None or pool in self.pools


class Study(NamedTuple):
    """The study's phases. One phase name may have several entries, for different pools and start dates
    (staggered starts: one intervention); a pool is in at most one phase on any day.

    ``baseline`` names the baseline phase: the config's ``study.baseline``, else the phase that starts
    first (the loader fills it in and refuses a tie). None only for a study without phases, or one built
    in code that leaves the choice to ``reporting.study.baseline_of`` (the same rule).
    """

    phases: tuple[Phase, ...] = ()
    baseline: str | None = None

    def phase_for(self, pool: str, day: dt.date) -> str | None:
        """The phase a pool is in on a day (the loader guarantees at most one)."""
        for phase in self.phases:
            if phase.applies(pool, day):
                return phase.name
        return None


class PingSettings(NamedTuple):
    timeout: float = 1.0  # seconds
    retries: int = 1
    rate: float = 2000.0  # packets per second
    privileged: bool | None = None  # None: auto (raw if allowed, else datagram ICMP)


class InfluxSettings(NamedTuple):
    url: str
    org: str
    bucket: str
    token: str
    daily_bucket: str = "pinger_daily"
    spool: Path = Path("data/spool.sqlite")
    spool_max_bytes: int = 10**9

    def __repr__(self) -> str:  # the token never reaches a log line through repr
        return (
            f"InfluxSettings(url={self.url!r}, org={self.org!r}, bucket={self.bucket!r}, "
            f"daily_bucket={self.daily_bucket!r}, token=<hidden>, spool={self.spool!r}, "
            f"spool_max_bytes={self.spool_max_bytes!r})"
        )


# The storage backends a config may name; what each is, is pinger.store.backends' (one entry per name).
BACKENDS = ("sqlite", "influxdb")


class StorageSettings(NamedTuple):
    backend: str = "sqlite"  # one of BACKENDS
    path: Path = Path("data/pinger.sqlite")
    influxdb: InfluxSettings | None = None


class AggregateSettings(NamedTuple):
    hold: float  # seconds; the loader's default is the config's interval
    at: dt.time = dt.time(0, 30)  # local time of the nightly run
    recheck_days: int = 3  # the nightly run also redoes this many finished days, for samples that came late


class Config(NamedTuple):
    source: Path
    timezone: ZoneInfo
    interval: float  # seconds
    collector_name: str
    ping: PingSettings
    allow: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] | None
    storage: StorageSettings
    aggregate: AggregateSettings
    pools: tuple[Pool, ...]
    study: Study = Study()
    energy: Energy = Energy()

    def pool(self, name: str) -> Pool:
        for pool in self.pools:
            if pool.name == name:
                return pool
        raise KeyError(name)

    @property
    def host_count(self) -> int:
        return sum(len(pool.hosts) for pool in self.pools)
