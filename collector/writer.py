"""Writes the collector's sweeps to the store in their own thread, in order: sweeping never waits on the store.

Durability contract: a sweep handed to ``put`` stays in memory, in order, until the store has
committed it (for InfluxDB: until the spool has it, which is durable). A store that is slow,
locked by another process, full or failing delays the writing, never the sweeping. A write that
fails is tried again when the next sweep arrives and once more at shutdown; what is still
unwritten then is reported as lost by the caller, with its time span. Nothing is dropped
silently. When writing catches up after a wait, one log line says how long the store held the
sweeps back, why, and how many sweeps waited.

Before each write the store's file is checked (``StoreFileWatch``): when it was deleted or replaced,
writing stops for good and ``fatal`` holds the StoreFileLost for the collector to raise; the sweeps
still waiting are then lost, and reported so by the caller.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque

from pinger.errors import StoreError, StoreFileLost
from pinger.models import CollectorStatus, SweepResult
from pinger.store import SweepStore

from .store_file import StoreFileWatch

log = logging.getLogger("pinger.collector")


class SweepWriter:
    def __init__(self, store: SweepStore, interval: float, store_file: StoreFileWatch | None = None):
        self.store = store
        self.interval = interval
        self.store_file = store_file
        self.write_errors = 0
        self.fatal: StoreFileLost | None = None  # set when the store's file is gone: nothing is written after it
        self._waiting: deque[tuple[SweepResult, CollectorStatus]] = deque()
        self._changed = threading.Condition()
        self._attempt_due = False  # try the oldest waiting sweep now (after a failure: at the next sweep)
        self._writing = False
        self._stopping = False
        self._held_since: float | None = None  # when the sweeps now waiting were first held back
        self._held_count = 0  # sweeps written since then
        self._last_error: str | None = None
        self._thread = threading.Thread(target=self._write_forever, name="sweep-writer", daemon=True)
        self._thread.start()

    def put(self, sweep: SweepResult, status: CollectorStatus) -> None:
        with self._changed:
            self._waiting.append((sweep, status))
            self._attempt_due = True
            self._changed.notify_all()

    def waiting(self) -> int:
        """Sweeps handed over and not yet stored."""
        with self._changed:
            return len(self._waiting)

    def waiting_before(self, sweep: SweepResult) -> int:
        """Sweeps older than this one that are not yet stored."""
        with self._changed:
            return sum(1 for queued, _ in self._waiting if queued.scheduled < sweep.scheduled)

    def wait_for(self, sweep: SweepResult, seconds: float) -> None:
        """Wait up to ``seconds`` until the sweep is stored or a try to store it failed, so that the
        sweep's log line can say whether it is stored (as it normally is by then)."""
        deadline = time.monotonic() + seconds
        with self._changed:
            while (
                (self._writing or self._attempt_due)
                and self.fatal is None
                and any(queued is sweep for queued, _ in self._waiting)
            ):
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                self._changed.wait(left)

    def unwritten(self) -> list[SweepResult]:
        with self._changed:
            return [sweep for sweep, _ in self._waiting]

    def stop(self, seconds: float) -> bool:
        """Write what waits, for up to ``seconds`` (one more try for what failed); True when the thread ended."""
        with self._changed:
            self._stopping = True
            self._attempt_due = True
            self._changed.notify_all()
        self._thread.join(timeout=seconds)
        return not self._thread.is_alive()

    def _write_forever(self) -> None:
        while True:
            with self._changed:
                while not (self._waiting and self._attempt_due):
                    if self._stopping:
                        return
                    self._changed.wait()
                self._writing = True
                sweep, status = self._waiting[0]
            written = self._write(sweep, status)
            with self._changed:
                self._writing = False
                if self.fatal is not None:
                    self._changed.notify_all()
                    return
                if written:
                    self._waiting.popleft()
                    self._held_count += self._held_since is not None
                    if not self._waiting:
                        self._caught_up()
                else:
                    self._attempt_due = False
                self._changed.notify_all()

    def _write(self, sweep: SweepResult, status: CollectorStatus) -> bool:
        started = time.monotonic()
        try:
            if self.store_file is not None:
                self.store_file.check()
            self.store.write_sweep(sweep, status)
            if self.store_file is not None:
                self.store_file.written()
        except StoreFileLost as err:  # the collector raises it (its one sentence) after this sweep
            self.fatal = err
            return False
        except StoreError as err:
            self.write_errors += 1
            self._held_since = self._held_since or started
            self._last_error = str(err)
            log.error("%s (will retry at the next sweep)", err)
            return False
        if time.monotonic() - started > self.interval:
            self._held_since = self._held_since or started
            self._last_error = self._last_error or "slow"
        return True

    def _caught_up(self) -> None:
        """Called with every waiting sweep written: say what held them back, if anything did."""
        if self._held_since is None:
            return
        held = time.monotonic() - self._held_since
        if self._last_error == "slow":
            cause = f"writing to the store took {held:.0f} s (another process held its lock, or the disk was slow)"
        elif "locked" in (self._last_error or ""):
            cause = f"the store was locked for {held:.0f} s"
        else:
            cause = f"the store could not be written for {held:.0f} s ({self._last_error})"
        log.warning("%s; %d sweeps waited and were written", cause, self._held_count)
        self._held_since = None
        self._held_count = 0
        self._last_error = None
