"""The nightly aggregator stops within moments of SIGTERM, wherever in its loop the signal lands.

The daemon once deadlocked on a busy machine: its SIGTERM handler called ``threading.Event.set``, which takes
the event's lock, and when the signal landed while the main thread was inside that event's ``wait`` (holding
the same lock) the handler waited for itself forever. The test below lands the signal at every point of the
loop in turn, from the log line that says the daemon waits until it sleeps, and then while it sleeps.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.support.stop_points import assert_stops_at_once, stop_at_every_point


def drive(config_path: str) -> None:
    """In a child process: the nightly daemon, signalled at each point after it says when it runs next."""
    from pinger.aggregator.nightly import NightlyAggregator
    from pinger.config_load import load_config

    config = load_config(Path(config_path))

    def start():
        nightly = NightlyAggregator(Path(config_path), config)
        nightly.install_signal_handlers()
        return nightly.run

    stop_at_every_point(start, "pinger.aggregate", "nightly: next run at")


def test_sigterm_anywhere_in_the_nightly_loop_stops_it_at_once(write_config, tmp_path):
    # No store yet: each start's catch-up fails at once and the daemon waits to retry, as in a fresh deployment.
    config = write_config(f"""
        timezone: UTC
        storage: {{path: {tmp_path / "none" / "pinger.sqlite"}}}
        pools:
          - {{name: A, watts: 50, hosts: [10.0.0.1]}}
    """)
    assert_stops_at_once(f"from tests.test_nightly_stop import drive; drive({str(config)!r})")


def nightly_config(write_config, store: Path, timezone: str = "UTC") -> Path:
    return write_config(f"""
        timezone: {timezone}
        storage: {{path: {store}}}
        aggregate: {{at: "00:30"}}
        pools:
          - {{name: A, watts: 50, hosts: [10.0.0.1]}}
    """)


def next_run_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("nightly: next run at")]


def _half_hour_zone_far_from_the_nightly_run() -> str:
    """A zone whose offset from UTC is not whole hours and whose clock now is hours from 00:30.

    Near 00:30 local the retry 15 minutes on would come after the daily run, which then is the next run:
    the test must not depend on the time of day it runs at.
    """
    for name in ("Asia/Kolkata", "America/St_Johns", "Asia/Tehran", "Australia/Adelaide"):
        local = dt.datetime.now(ZoneInfo(name))
        if 2 <= local.hour <= 22:
            return name
    raise AssertionError("no candidate zone is hours from its 00:30 now")


def test_after_a_failed_start_the_nightly_daemon_names_its_retry_as_the_next_run(write_config, tmp_path, caplog):
    # The catch-up at start fails (no store yet): the next run is the retry 15 minutes on, not 00:30. The config's
    # zone is a half-hour offset from UTC, so a time read off the machine's clock unconverted would show.
    from pinger.aggregator.nightly import NightlyAggregator
    from pinger.config_load import load_config

    zone_name = _half_hour_zone_far_from_the_nightly_run()
    path = nightly_config(write_config, tmp_path / "none.sqlite", timezone=zone_name)
    nightly = NightlyAggregator(path, load_config(path))
    nightly.stop.request()  # the loop ends at its first wait, after saying when the next run is
    zone = ZoneInfo(zone_name)
    before = dt.datetime.now(zone) + dt.timedelta(minutes=15)
    with caplog.at_level(logging.INFO, logger="pinger.aggregate"):
        nightly.run()
    after = dt.datetime.now(zone) + dt.timedelta(minutes=15)
    assert "retrying in 15 minutes" in caplog.text
    expected = {
        f"nightly: next run at {t:%H:%M} {zone_name} (a retry, every 15 minutes until one succeeds), "
        "then daily at 00:30"
        for t in (before, after)
    }
    assert len(next_run_lines(caplog)) == 1 and next_run_lines(caplog)[0] in expected, caplog.text
    assert "nightly: stopping (asked to)" in caplog.text


def test_a_successful_run_cancels_the_pending_retry(write_config, tmp_path, caplog):
    import schedule

    from pinger.aggregator.nightly import NightlyAggregator
    from pinger.config_load import load_config
    from pinger.store.sqlite import SqliteStore

    store = tmp_path / "s.sqlite"
    path = nightly_config(write_config, store)
    nightly = NightlyAggregator(path, load_config(path))
    scheduler = schedule.Scheduler()
    with caplog.at_level(logging.INFO, logger="pinger.aggregate"):
        nightly._nightly_job(scheduler)  # no store: a retry is scheduled
        assert len(scheduler.get_jobs("retry")) == 1
        nightly._nightly_job(scheduler)  # fails again: still one retry, not two
        assert len(scheduler.get_jobs("retry")) == 1
        SqliteStore(store, ZoneInfo("UTC"), "create").close()
        nightly._nightly_job(scheduler)  # the nightly run succeeds: the retry has nothing left to do
    assert scheduler.get_jobs("retry") == []
    assert "nightly: every finished day is aggregated (up to no samples yet)" in caplog.text
