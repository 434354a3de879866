"""The collector loop: one sweep per interval on the clock's boundaries, handed to the writer thread for the store.

``run`` returns how many sweeps were taken and how many of them could not be stored (the command
line exits 1 when any were lost), and raises StoreFileLost when the store's file was deleted or
replaced under the running collector (collector/store_file.py says why it stops then).
Log lines carry times in the config's time zone, with the zone's name.
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
from typing import NamedTuple

from pinger.config import Config
from pinger.config_load import reload_config
from pinger.errors import StoreError
from pinger.models import CollectorStatus, SweepResult
from pinger.stop_signal import StopSignal
from pinger.store import Spooled, SweepStore, backend_of, open_sweep_store

from .engine import ping_addresses
from .lock import CollectorLock
from .schedule import Clock, Schedule, Slot, SystemClock, next_boundary
from .store_file import StoreFileWatch
from .sweep import Ping, run_sweep
from .targets import Resolver
from .writer import SweepWriter

log = logging.getLogger("pinger.collector")

# Sweeps that could not be written wait in memory (collector/writer.py); past this many the collector stops.
MAX_UNWRITTEN_SWEEPS = 10_000
FINAL_WRITE_S = 10.0  # at a stop, how long the sweeps still waiting may take to be written
# After a sweep, how long to let the writer store it before the sweep's log line (a tenth of the interval at most).
LOG_AFTER_WRITE_S = 1.0


__all__ = ["Collector", "CollectorRun", "next_boundary", "open_collector"]


def open_collector(config: Config, clock: Clock | None = None) -> Collector:
    """A Collector for ``config``: its lock taken first (a second collector changes nothing), then its store
    opened and checked (a wrong token, org or bucket ends the start here, in one sentence). Whatever was taken
    is given back when a later step fails."""
    lock = CollectorLock(
        backend_of(config).local_file(config).path, config.collector_name, [p.name for p in config.pools]
    )
    lock.acquire()
    try:
        store = open_sweep_store(config)
    except BaseException:
        lock.release()
        raise
    try:
        store.check()
    except BaseException:
        if isinstance(store, Spooled):
            store.close(flush_seconds=0)  # nothing of this run waits in its outbox
        else:
            store.close()
        lock.release()
        raise
    return Collector(config, store, lock, clock=clock)


class CollectorRun(NamedTuple):
    """What a run did: sweeps taken, and how many of them could not be stored (lost)."""

    sweeps: int
    lost: int


class Collector:
    """Runs sweeps on schedule until stopped; reloads the config (``config.source``) on SIGHUP or when its file
    changes. It is handed what it works with, and owns them from then on: ``store``, open and checked, is
    closed and ``lock``, acquired, released when ``run`` ends (``open_collector`` takes both for a config).
    Injected for tests: ``clock`` (the wall and monotonic clocks the schedule reads), ``ping`` (how a sweep
    pings, collector.engine.ping_addresses), ``resolver`` (DNS) and ``store_file`` (the watch on the store's
    local file; default: the config's). A ``store`` that is Spooled (pinger.store.interface) is asked what waits in
    its outbox, for the log and the collector's status; any other has none."""

    def __init__(
        self,
        config: Config,
        store: SweepStore,
        lock: CollectorLock,
        *,
        clock: Clock | None = None,
        ping: Ping = ping_addresses,
        resolver: Resolver | None = None,
        store_file: StoreFileWatch | None = None,
    ):
        self.config = config
        self.store = store
        self.outbox = store if isinstance(store, Spooled) else None
        self.lock = lock
        self.clock: Clock = clock or SystemClock()
        self.ping = ping
        self.resolver = resolver or Resolver()
        # deleted or replaced under us: stop (exit 1)
        self.store_file = store_file or StoreFileWatch(backend_of(config).local_file(config).path)
        self.stop = StopSignal()
        self._reload_asked = False  # set by SIGHUP's handler: a plain store, safe wherever the signal lands
        self.writer: SweepWriter | None = None
        self.lost = 0  # sweeps that could not be stored, known at the end of a run
        self._spool_warned_at = 0  # the last fill level (percent) warned about
        self._config_stamp: int | None = None
        self._config_file_changed()  # remember the file as loaded

    @property
    def stop_signal(self) -> str | None:
        """What asked the collector to stop (SIGTERM, SIGINT, "asked to"), or None."""
        return self.stop.received

    def install_signal_handlers(self) -> None:
        """SIGTERM and SIGINT stop the collector (pinger.stop_signal: no lock is taken in a handler, and the
        wait for the next sweep ends at once); SIGHUP asks for a reload before the next sweep."""
        self.stop.install()
        signal.signal(signal.SIGHUP, self._reload_on_signal)

    def _reload_on_signal(self, _number: int, _frame: object) -> None:
        self._reload_asked = True

    def run(self, sweeps: int | None = None, immediately: bool = False) -> CollectorRun:
        """Sweep ``sweeps`` times (None: until stopped); say how many sweeps were done and how many are lost."""
        log.info(
            "collector %s: %d hosts in %d pools, one sweep every %gs, store: %s",
            self.config.collector_name,
            self.config.host_count,
            len(self.config.pools),
            self.config.interval,
            backend_of(self.config).describe(self.config),
        )
        self.writer = writer = SweepWriter(self.store, self.config.interval, self.store_file)
        try:
            done = self._sweep_on_schedule(writer, sweeps, immediately)
        finally:
            self._shut_down()
        return CollectorRun(done, self.lost)

    def _sweep_on_schedule(self, writer: SweepWriter, sweeps: int | None, immediately: bool) -> int:
        done = 0
        schedule = Schedule(self.config.interval, self.clock)
        previous_duration = 0.0
        while (sweeps is None or done < sweeps) and self.stop.received is None:
            slot = schedule.next(self.stop, immediately=immediately and done == 0)
            if slot is None:
                break
            if self._reload_asked or self._config_file_changed():
                self._reload()
                schedule.interval = self.config.interval
            self._log_schedule(slot, previous_duration)
            sweep = run_sweep(self.config, self.resolver, scheduled=slot.stamp, ping=self.ping)
            previous_duration = sweep.duration_s
            self._store(writer, sweep)
            done += 1
            writer.wait_for(sweep, min(LOG_AFTER_WRITE_S, self.config.interval / 10))
            if writer.fatal is not None:
                raise writer.fatal
            backlog = writer.waiting() + self._outbox_backlog()
            observed = sweep.observed
            unobserved = len(sweep.hosts) - observed
            log.info(
                "sweep %s: %d/%d hosts on,%s %.3f s%s",
                self._when(slot.stamp),
                sweep.online,
                observed,
                f" {unobserved} not observed," if unobserved else "",
                sweep.duration_s,
                f", {backlog} sweeps waiting to be written" if backlog else "",
            )
            self._warn_if_spool_fills()
        return done

    def _log_schedule(self, slot: Slot, previous_duration: float) -> None:
        """Say why a sweep is not at its boundary, or why boundaries got no sweep (never blaming a quick sweep)."""
        interval = self.config.interval
        if slot.step_s:
            log.warning(
                "the wall clock stepped %s by %s since the previous sweep (NTP or a manual change): this sweep "
                "carries the corrected clock's time, %s",
                "ahead" if slot.step_s > 0 else "back",
                _span(abs(slot.step_s)),
                self._when(slot.stamp),
            )
        if slot.overrun:
            if previous_duration > interval:
                log.warning(
                    "the sweep took %.1f s, longer than the interval %gs: %d sweeps skipped",
                    previous_duration,
                    interval,
                    slot.overrun,
                )
            else:
                log.warning(
                    "%d sweeps skipped: the collector was held up for %.1f s after the previous sweep started "
                    "(stopped, suspended or starved of CPU; the sweep itself took %.1f s)",
                    slot.overrun,
                    slot.since_previous_s,
                    previous_duration,
                )
        if slot.late_s:
            log.warning(
                "the sweep due at %s started %.1f s late (the collector was stopped, suspended or starved of CPU): "
                "it carries the time it ran, %s%s",
                self._when(slot.due),
                slot.late_s,
                self._when(slot.stamp),
                f"; {slot.late_skips} sweeps skipped" if slot.late_skips else "",
            )

    def _when(self, time_s: float) -> str:
        """A time as the log says it: in the config's zone, with the zone's name (health says times alike)."""
        return dt.datetime.fromtimestamp(time_s, self.config.timezone).strftime("%Y-%m-%d %H:%M:%S %Z")

    def _shut_down(self) -> None:
        """Last try at the sweeps still waiting; say plainly what is lost; close the store."""
        if self.stop_signal:
            log.info("collector %s: stopping (%s)", self.config.collector_name, self.stop_signal)
        writer_ended = self.writer is None or self.writer.stop(FINAL_WRITE_S)
        unwritten = self.writer.unwritten() if self.writer is not None else []
        self.lost = len(unwritten)
        if unwritten:
            first, last = unwritten[0].scheduled, unwritten[-1].scheduled
            log.error(
                "stopping with %d sweeps that could not be stored (%s to %s): they are lost",
                len(unwritten),
                self._when(first),
                self._when(last),
            )
        if writer_ended:
            self.store.close()
        # else: the writer is still inside a write (a store locked for longer): leave its connection be
        self.lock.release()

    def _outbox_backlog(self) -> int:
        return self.outbox.backlog() if self.outbox is not None else 0

    def _warn_if_spool_fills(self) -> None:
        if self.outbox is None:
            return
        fill = self.outbox.spool_fill()
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
            hosts=sweep.observed,
            online=sweep.online,
            sweep_s=round(sweep.duration_s, 4),
            spool_backlog=writer.waiting_before(sweep) + self._outbox_backlog(),
            write_errors=writer.write_errors + (self.outbox.write_errors() if self.outbox is not None else 0),
        )
        writer.put(sweep, status)
        waiting = writer.waiting()
        if waiting >= MAX_UNWRITTEN_SWEEPS:
            raise StoreError(
                f"{waiting} sweeps in a row could not be stored; stopping rather than holding more in memory"
            )

    def _config_file_changed(self) -> bool:
        try:
            stamp = self.config.source.stat().st_mtime_ns
        except OSError:
            return False  # a file being replaced: look again at the next sweep
        changed = self._config_stamp is not None and stamp != self._config_stamp
        self._config_stamp = stamp
        return changed

    def _reload(self) -> None:
        self._reload_asked = False
        previous = self.config
        self.config = reload_config(self.config.source, self.config)
        if self.config is not previous:
            self.lock.update_pools([pool.name for pool in self.config.pools])
            log.info("config reloaded: %d hosts in %d pools", self.config.host_count, len(self.config.pools))


def _span(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"
