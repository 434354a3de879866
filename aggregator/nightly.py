"""The nightly aggregator: at aggregate.at local time, aggregate the finished days not yet done; redo recent ones."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from pinger.config import Config
from pinger.config_load import reload_config
from pinger.localtime import local_day
from pinger.stop_signal import StopSignal
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
    """The ``aggregate --nightly`` daemon: a catch-up at start, then one at ``aggregate.at`` each day; a failed
    run is retried every RETRY_MINUTES until one succeeds. SIGTERM or SIGINT stop it at once, wherever its
    loop stands (see pinger.stop_signal); a catch-up under way is finished first."""

    def __init__(self, config_path: Path, config: Config):
        self.config_path = config_path
        self.config = config
        self.stop = StopSignal()

    @property
    def stop_signal(self) -> str | None:
        return self.stop.received

    def install_signal_handlers(self) -> None:
        self.stop.install()

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
        self._nightly_job(scheduler)  # the catch-up at start
        self._log_next_run(scheduler)
        while not self.stop.sleep(min(max(scheduler.idle_seconds or 0.0, 0.0), 60.0)):
            due = [job for job in scheduler.jobs if job.should_run]
            scheduler.run_pending()
            if due:
                self._log_next_run(scheduler)
        log.info("nightly: stopping (%s)", self.stop.received)

    def _nightly_job(self, scheduler: schedule.Scheduler) -> None:
        if self.run_safely():
            scheduler.clear("retry")  # a retry still pending has nothing left to do
        elif not scheduler.get_jobs("retry"):
            scheduler.every(RETRY_MINUTES).minutes.do(self._retry_job).tag("retry")

    def _retry_job(self) -> type[schedule.CancelJob] | None:
        import schedule

        if self.run_safely():
            return schedule.CancelJob
        return None

    def _log_next_run(self, scheduler: schedule.Scheduler) -> None:
        """Say when the next run is: the retry when one comes before the nightly run."""
        zone = self.config.timezone.key
        at = self.config.aggregate.at.strftime("%H:%M")
        retry = scheduler.get_jobs("retry")
        nightly = [job for job in scheduler.jobs if "retry" not in job.tags]
        if (
            retry
            and retry[0].next_run is not None
            and (not nightly or nightly[0].next_run is None or retry[0].next_run < nightly[0].next_run)
        ):
            when = next_run_text(retry[0].next_run, self.config.timezone)
            log.info(
                "nightly: next run at %s %s (a retry, every %d minutes until one succeeds), then daily at %s",
                when,
                zone,
                RETRY_MINUTES,
                at,
            )
        else:
            log.info("nightly: next run at %s %s", at, zone)


def next_run_text(next_run: dt.datetime, tz: dt.tzinfo) -> str:
    """A job's next run (schedule keeps it naive, in the machine's local time) as HH:MM in the config's zone."""
    return next_run.astimezone(tz).strftime("%H:%M")
