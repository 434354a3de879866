"""The nightly aggregator: at aggregate.at local time, aggregate the finished days not yet done; redo recent ones."""

from __future__ import annotations

import datetime as dt
import logging
import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from pinger.config import Config
from pinger.config_load import reload_config
from pinger.localtime import local_day
from pinger.store import open_history_store

from .job import aggregate_days

if TYPE_CHECKING:
    import schedule

log = logging.getLogger("pinger.aggregate")

RETRY_MINUTES = 15


def days_to_catch_up(
    last_done: dt.date | None, first_sample_day: dt.date | None, yesterday: dt.date, recheck_days: int = 0
) -> tuple[dt.date, dt.date] | None:
    """The finished days to aggregate, as (first, last), or None when there are none.

    Starts after the last aggregated day, or at the first day with samples; ends yesterday:
    today is never written as final. The last ``recheck_days`` finished days are redone even
    when already aggregated: samples that waited in the collector's spool (InfluxDB away) may
    have arrived since.
    """
    if first_sample_day is None:
        return None
    first = first_sample_day if last_done is None else last_done + dt.timedelta(days=1)
    if recheck_days > 0:
        first = min(first, yesterday - dt.timedelta(days=recheck_days - 1))
    first = max(first, first_sample_day)
    return (first, yesterday) if first <= yesterday else None


class NightlyAggregator:
    def __init__(self, config_path: Path, config: Config):
        self.config_path = config_path
        self.config = config
        self.stop_requested = threading.Event()
        self.stop_signal: str | None = None

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self._stop_on_signal)
        signal.signal(signal.SIGINT, self._stop_on_signal)

    def _stop_on_signal(self, number: int, _frame: object) -> None:
        self.stop_signal = signal.Signals(number).name
        self.stop_requested.set()

    def catch_up(self) -> None:
        self.config = reload_config(self.config_path, self.config)
        tz = self.config.timezone
        store = open_history_store(self.config, "write")
        try:
            last_done = store.last_aggregated_day()
            first_time = store.first_sample_time()
        finally:
            store.close()
        first_sample_day = local_day(first_time, tz) if first_time is not None else None
        yesterday = dt.datetime.now(tz).date() - dt.timedelta(days=1)
        span = days_to_catch_up(last_done, first_sample_day, yesterday, self.config.aggregate.recheck_days)
        if span is None:
            log.info("nightly: every finished day is aggregated (up to %s)", last_done or "no samples yet")
            return
        redone = 0 if last_done is None else max(0, (min(last_done, span[1]) - span[0]).days + 1)
        log.info(
            "nightly: aggregating %s to %s%s",
            *span,
            f" ({redone} already aggregated, redone for late samples)" if redone else "",
        )
        aggregate_days(self.config, *span)

    def run_safely(self) -> bool:
        """One catch-up; a failure (store away, disk full) is logged and retried later, never fatal."""
        try:
            self.catch_up()
            return True
        except Exception as err:  # the daemon must outlive any one night's trouble
            log.error("nightly: aggregation failed (%s); retrying in %d minutes", err, RETRY_MINUTES)
            return False

    def run(self) -> None:
        import schedule

        scheduler = schedule.Scheduler()
        at = self.config.aggregate.at.strftime("%H:%M")
        scheduler.every().day.at(at, self.config.timezone.key).do(self._nightly_job, scheduler)
        if not self.run_safely():
            scheduler.every(RETRY_MINUTES).minutes.do(self._retry_job).tag("retry")
        log.info("nightly: next run at %s %s", at, self.config.timezone.key)
        while not self.stop_requested.wait(min(max(scheduler.idle_seconds or 0.0, 0.0), 60.0)):
            scheduler.run_pending()
        log.info("nightly: stopping (%s)", self.stop_signal or "asked to")

    def _nightly_job(self, scheduler: schedule.Scheduler) -> None:
        if not self.run_safely() and not scheduler.get_jobs("retry"):
            scheduler.every(RETRY_MINUTES).minutes.do(self._retry_job).tag("retry")

    def _retry_job(self) -> type[schedule.CancelJob] | None:
        import schedule

        if self.run_safely():
            return schedule.CancelJob
        return None
