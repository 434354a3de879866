"""Is the collector alive? Its newest stored sweep is younger than three intervals (``pinger health``).

What "stored" means follows the backend: the SQLite store's newest ``collector`` row of this
collector's name, or, with InfluxDB, the newest sweep committed to the local spool (delivered or
not), so that an InfluxDB outage, which the collector rides out in its spool, does not count as the
collector being down. Used by the image's HEALTHCHECK and fit for monitoring scripts.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import NamedTuple
from zoneinfo import ZoneInfo

from pinger.config import Config
from pinger.store import newest_sweep_time

INTERVALS = 3  # a sweep may be late or missed twice before the collector counts as down


class Health(NamedTuple):
    healthy: bool
    sentence: str


def judge(collector: str, newest: int | None, now: float, interval: float, timezone: ZoneInfo) -> Health:
    """Healthy when the newest sweep is younger than INTERVALS intervals; the verdict in one sentence."""
    bound = INTERVALS * interval
    if newest is None:
        return Health(
            False,
            f"collector {collector}: no sweep stored yet (healthy once one is, within "
            f"{_duration(interval)} of its start)",
        )
    age = now - newest
    when = dt.datetime.fromtimestamp(newest, timezone).strftime("%Y-%m-%d %H:%M:%S %Z")
    state = "healthy" if age < bound else "stale"
    return Health(
        age < bound,
        f"collector {collector}: {state}, newest sweep {when}, {_duration(age)} ago "
        f"(limit: {_duration(bound)}, {INTERVALS} intervals)",
    )


def check_health(config: Config, now: float | None = None) -> Health:
    """Read the newest sweep from the store (read-only) and judge it; StoreMissing when there is no store."""
    newest = newest_sweep_time(config)
    return judge(config.collector_name, newest, time.time() if now is None else now, config.interval, config.timezone)


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
