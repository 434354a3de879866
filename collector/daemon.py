"""The collector loop: one sweep per interval on the clock's boundaries, handed to the writer thread for the store."""

from __future__ import annotations

import logging
import math
import signal
import threading
import time
from pathlib import Path

from pinger.config import Config
from pinger.config_load import reload_config
from pinger.errors import StoreError
from pinger.models import CollectorStatus, SweepResult
from pinger.store import SweepStore, open_sweep_store

from .lock import CollectorLock
from .sweep import run_sweep
from .targets import Resolver
from .writer import SweepWriter

log = logging.getLogger("pinger.collector")

# Sweeps that could not be written wait in memory (collector/writer.py); past this many the collector stops.
MAX_UNWRITTEN_SWEEPS = 10_000
FINAL_WRITE_S = 10.0  # at a stop, how long the sweeps still waiting may take to be written
# After a sweep, how long to let the writer store it before the sweep's log line (a tenth of the interval at most).
LOG_AFTER_WRITE_S = 1.0


def local_store_file(config: Config) -> Path:
    """The file on this machine the collector writes: the SQLite store, or the InfluxDB spool."""
    if config.storage.backend == "influxdb" and config.storage.influxdb is not None:
        return config.storage.influxdb.spool
    return config.storage.path


def next_boundary(now: float, interval: float) -> float:
    """The first interval boundary (multiple of ``interval`` since the epoch) at or after ``now``."""
    return math.ceil(now / interval) * interval


class Collector:
    """Runs sweeps on schedule until stopped; reloads the config on SIGHUP."""

    def __init__(self, config_path: Path, config: Config):
        self.config_path = config_path
        self.config = config
        self.lock = CollectorLock(local_store_file(config), config.collector_name, [p.name for p in config.pools])
        self.lock.acquire()  # before the store is touched: a second collector changes nothing
        try:
            self.store: SweepStore = open_sweep_store(config)
        except BaseException:
            self.lock.release()
            raise
        self.resolver = Resolver()
        self.stop_requested = threading.Event()
        self.reload_requested = threading.Event()
        self.writer: SweepWriter | None = None
        self.stop_signal: str | None = None
        self._spool_warned_at = 0  # the last fill level (percent) warned about
        self._config_stamp: int | None = None
        self._config_file_changed()  # remember the file as loaded
        try:
            self.store.check()  # wrong token, org or bucket end the collector here, with one clear sentence
        except Exception:
            self.store.close(flush_seconds=0)
            self.lock.release()
            raise

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self._stop_on_signal)
        signal.signal(signal.SIGINT, self._stop_on_signal)
        signal.signal(signal.SIGHUP, lambda *_: self.reload_requested.set())

    def _stop_on_signal(self, number: int, _frame: object) -> None:
        self.stop_signal = signal.Signals(number).name
        self.stop_requested.set()

    def run(self, sweeps: int | None = None, immediately: bool = False) -> int:
        """Sweep ``sweeps`` times (None: until stopped); return the number of sweeps done."""
        storage = self.config.storage
        where = (
            f"InfluxDB {storage.influxdb.url} bucket {storage.influxdb.bucket} via spool {storage.influxdb.spool}"
            if storage.backend == "influxdb" and storage.influxdb
            else f"SQLite {storage.path}"
        )
        log.info(
            "collector %s: %d hosts in %d pools, one sweep every %gs, store: %s",
            self.config.collector_name,
            self.config.host_count,
            len(self.config.pools),
            self.config.interval,
            where,
        )
        self.writer = writer = SweepWriter(self.store, self.config.interval)
        try:
            return self._sweep_on_schedule(writer, sweeps, immediately)
        finally:
            self._shut_down()

    def _sweep_on_schedule(self, writer: SweepWriter, sweeps: int | None, immediately: bool) -> int:
        done = 0
        due = time.time() if immediately else next_boundary(time.time(), self.config.interval)
        while sweeps is None or done < sweeps:
            if self.stop_requested.wait(max(0.0, due - time.time())):
                break
            if self.reload_requested.is_set() or self._config_file_changed():
                self._reload()
            scheduled = int(due)
            sweep = run_sweep(self.config, self.resolver, scheduled=scheduled)
            self._store(writer, sweep)
            done += 1
            writer.wait_for(sweep, min(LOG_AFTER_WRITE_S, self.config.interval / 10))
            backlog = writer.waiting() + self.store.backlog()
            log.info(
                "sweep %s: %d/%d hosts on, %.3f s%s",
                time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(scheduled)),
                sweep.online,
                len(sweep.hosts),
                sweep.duration_s,
                f", {backlog} sweeps waiting to be written" if backlog else "",
            )
            self._warn_if_spool_fills()
            following = next_boundary(time.time(), self.config.interval)
            if following == due:
                following += self.config.interval
            missed = int(round((following - due) / self.config.interval)) - 1
            if missed > 0:
                log.warning(
                    "the sweep took %.1f s, longer than the interval: %d sweeps skipped", sweep.duration_s, missed
                )
            due = following
        return done

    def _shut_down(self) -> None:
        """Last try at the sweeps still waiting; say plainly what is lost; close the store."""
        if self.stop_signal:
            log.info("collector %s: stopping (%s)", self.config.collector_name, self.stop_signal)
        writer_ended = self.writer is None or self.writer.stop(FINAL_WRITE_S)
        unwritten = self.writer.unwritten() if self.writer is not None else []
        if unwritten:
            first, last = unwritten[0].scheduled, unwritten[-1].scheduled
            log.error(
                "stopping with %d sweeps that could not be stored (%s to %s): they are lost",
                len(unwritten),
                time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(first)),
                time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(last)),
            )
        if writer_ended:
            self.store.close()
        # else: the writer is still inside a write (a store locked for longer): leave its connection be
        self.lock.release()

    def _warn_if_spool_fills(self) -> None:
        fill = self.store.spool_fill()
        if fill is None:
            return
        level = max((mark for mark in (80, 90, 95) if fill.percent >= mark), default=0)
        if level > self._spool_warned_at:
            log.warning(
                "the spool %s is %d%% full (%d sweeps); at 100%% new sweeps cannot be kept: "
                "restore the connection to InfluxDB or raise storage.influxdb.spool_max",
                fill.path,
                fill.percent,
                fill.batches,
            )
        self._spool_warned_at = level

    def _store(self, writer: SweepWriter, sweep: SweepResult) -> None:
        """Hand the sweep and its status to the writer. The status counts the sweeps before it not yet
        in the store (waiting in memory, plus the InfluxDB spool's backlog) and the failed writes so far."""
        status = CollectorStatus(
            time=sweep.scheduled,
            collector=self.config.collector_name,
            hosts=len(sweep.hosts),
            online=sweep.online,
            sweep_s=round(sweep.duration_s, 4),
            spool_backlog=writer.waiting_before(sweep) + self.store.backlog(),
            write_errors=writer.write_errors + self.store.write_errors(),
        )
        writer.put(sweep, status)
        waiting = writer.waiting()
        if waiting >= MAX_UNWRITTEN_SWEEPS:
            raise StoreError(
                f"{waiting} sweeps in a row could not be stored; stopping rather than holding more in memory"
            )

    def _config_file_changed(self) -> bool:
        try:
            stamp = self.config_path.stat().st_mtime_ns
        except OSError:
            return False  # a file being replaced: look again at the next sweep
        changed = self._config_stamp is not None and stamp != self._config_stamp
        self._config_stamp = stamp
        return changed

    def _reload(self) -> None:
        self.reload_requested.clear()
        previous = self.config
        self.config = reload_config(self.config_path, self.config)
        if self.config is not previous:
            self.lock.update_pools([pool.name for pool in self.config.pools])
            log.info("config reloaded: %d hosts in %d pools", self.config.host_count, len(self.config.pools))
