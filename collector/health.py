"""Is the collector alive? Its newest stored sweep is younger than three intervals (``pinger health``).

What "stored" means is the backend's to say (``pinger.store.backends``, ``Backend.newest_sweep``): the
SQLite store's newest ``collector`` row of this collector's name, or, with InfluxDB, the newest sweep
committed to the local spool (delivered or not), so that an InfluxDB outage, which the collector rides
out in its spool, does not count as the collector being down. Used by the image's HEALTHCHECK and fit
for monitoring scripts.

Beyond the age:

* a newest sweep stamped ahead of this machine's clock (the clock was set back since) tells nothing
  of the collector's age: unhealthy, and the sentence says why (a collector never stamps a sweep
  ahead of its clock, collector/schedule.py);
* with InfluxDB, batches the server refused as malformed within the same three intervals mean the
  sweeps do not arrive, however fresh the spool is: unhealthy; older refusals are mentioned;
* no sweep of the configured ``collector.name``: the sentence lists the names the store holds.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import NamedTuple
from zoneinfo import ZoneInfo

from pinger.config import Config
from pinger.store import newest_sweep
from pinger.store.backends import NO_REJECTIONS, Rejections

INTERVALS = 3  # a sweep may be late or missed twice before the collector counts as down
AHEAD_S = 5.0  # a newest sweep this far ahead of the reader's clock still counts as now (rounding, two clocks)


class Health(NamedTuple):
    healthy: bool
    sentence: str


def judge(
    collector: str,
    newest: int | None,
    now: float,
    interval: float,
    timezone: ZoneInfo,
    others: tuple[str, ...] = (),
    rejections: Rejections = NO_REJECTIONS,
    holder: str = "store",
) -> Health:
    """Healthy when the newest sweep is younger than INTERVALS intervals (and none ahead of the clock, and no
    batch refused in that time); the verdict in one sentence. ``others``: the collector names the store holds."""
    bound = INTERVALS * interval
    if newest is None:
        names = [name for name in others if name != collector]
        if names:
            return Health(
                False,
                f"collector {collector}: no sweep stored yet; the {holder} holds sweeps of the "
                f"{'collectors' if len(names) > 1 else 'collector'} {', '.join(names)}: is collector.name right?",
            )
        return Health(
            False,
            f"collector {collector}: no sweep stored yet (healthy once one is, within "
            f"{_duration(interval)} of its start)",
        )
    when = dt.datetime.fromtimestamp(newest, timezone).strftime("%Y-%m-%d %H:%M:%S %Z")
    age = now - newest
    if age < -AHEAD_S:
        return Health(
            False,
            f"collector {collector}: unknown, newest sweep {when} is {_duration(-age)} ahead of this machine's "
            "clock (the clock was set back since, or was ahead then): its age, and so whether the collector is "
            "alive, cannot be told",
        )
    if rejections.batches and rejections.newest_at is not None and now - rejections.newest_at < bound:
        refused = f"{rejections.batches} {'batch' if rejections.batches == 1 else 'batches'}"
        return Health(
            False,
            f"collector {collector}: rejected, InfluxDB refused {refused} of sweeps as malformed, the newest "
            f"{_duration(now - rejections.newest_at)} ago ({rejections.reason}); the spool keeps them in its "
            "'rejected' table",
        )
    state = "healthy" if age < bound else "stale"
    earlier = ""
    if rejections.batches and rejections.newest_at is not None:
        refused = f"{rejections.batches} {'batch' if rejections.batches == 1 else 'batches'}"
        earlier = (
            f"; {refused} refused by InfluxDB earlier, the newest {_duration(now - rejections.newest_at)} ago, "
            f"{'is' if rejections.batches == 1 else 'are'} kept in the spool"
        )
    return Health(
        age < bound,
        f"collector {collector}: {state}, newest sweep {when}, {_duration(age)} ago "
        f"(limit: {_duration(bound)}, {INTERVALS} intervals){earlier}",
    )


def check_health(config: Config, now: float | None = None) -> Health:
    """Read the newest sweep from the store (read-only) and judge it; StoreMissing when there is no store."""
    newest = newest_sweep(config)
    return judge(
        config.collector_name,
        newest.time,
        time.time() if now is None else now,
        config.interval,
        config.timezone,
        newest.collectors,
        newest.rejections,
        newest.holder,
    )


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
