"""When each sweep runs and which time it carries: interval boundaries, waited for on the monotonic clock.

A sweep is due at each interval boundary of the wall clock (…:00, :05, …). The wait for it runs on
the monotonic clock, which neither jumps nor stops while the process is stopped, so:

* a sweep that starts on time (within START_TOLERANCE_S of its boundary) carries the boundary;
* a sweep that starts later (the process was stopped with SIGSTOP, the machine suspended or starved
  of CPU) carries the second it started, not the boundary it missed: the samples say when the hosts
  were seen. The boundaries that passed meanwhile got no sweep and are counted as skipped;
* a step of the wall clock (NTP, an administrator) shows as the wall clock moving more or less than
  the monotonic one (more than STEP_TOLERANCE_S, or NTP's largest slew over a long interval): the
  sweep then carries the corrected clock's second and the following boundaries are those of the
  corrected clock.

Either way a sweep never carries a time ahead of the wall clock when it starts, and each sweep's time
is later than the one before unless the wall clock was stepped back. The clock is passed in
(``SystemClock`` in production) so that tests can step it without touching the machine's.
"""

from __future__ import annotations

import math
import time
from typing import NamedTuple, Protocol

from pinger.stop_signal import StopSignal

START_TOLERANCE_S = 1.0  # a sweep starting later than this after its boundary carries the time it started
STEP_TOLERANCE_S = 1.0  # the wall clock moving this much more or less than the monotonic clock is a step
MAX_SLEW = 500e-6  # NTP slews the wall clock by at most 500 ppm: over a long interval that is no step


class Clock(Protocol):
    def time(self) -> float:
        """The wall clock: unix seconds."""

    def monotonic(self) -> float:
        """A clock that never steps, in seconds."""

    def wait(self, stop: StopSignal, seconds: float) -> bool:
        """Wait ``seconds`` on the monotonic clock or until a stop is asked for; True when one is."""


class SystemClock:
    """The machine's clocks."""

    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    def wait(self, stop: StopSignal, seconds: float) -> bool:
        return stop.sleep(seconds)


class Slot(NamedTuple):
    """One sweep's place in the schedule."""

    stamp: int  # the time every point of the sweep carries (unix seconds)
    due: float  # the boundary it was due at, as planned (the current time for a sweep run at once)
    late_s: float = 0.0  # how long after its boundary it started (monotonic seconds) when past the tolerance; else 0
    step_s: float = 0.0  # how far the wall clock stepped since the previous sweep (+ ahead, - back); 0 when it did not
    overrun: int = 0  # boundaries that passed between the previous sweep's start and this one's planning
    late_skips: int = 0  # boundaries that passed while this sweep was late
    since_previous_s: float = 0.0  # monotonic seconds from the previous sweep's start to this one's planning

    @property
    def skipped(self) -> int:
        """Boundaries since the previous sweep that got no sweep."""
        return self.overrun + self.late_skips


def next_boundary(now: float, interval: float) -> float:
    """The first interval boundary (multiple of ``interval`` since the epoch) at or after ``now``."""
    return math.ceil(now / interval) * interval


class Schedule:
    """Plans each sweep at the next boundary and says, when it is time, which time the sweep carries."""

    def __init__(self, interval: float, clock: Clock):
        self.interval = interval  # may change between sweeps (a reloaded config)
        self.clock = clock
        self._previous: int | None = None  # the previous sweep's time
        self._previous_start: float | None = None  # the previous sweep's start on the monotonic clock
        self._offset: float | None = None  # wall minus monotonic when the previous sweep started

    def next(self, stop: StopSignal, immediately: bool = False) -> Slot | None:
        """Wait for the next sweep; None when a stop is asked for first. ``immediately``: now, at the current second."""
        clock = self.clock
        if immediately:
            now = clock.time()
            self._started(int(now), now, clock.monotonic())
            return Slot(int(now), now)
        tolerance = max(STEP_TOLERANCE_S, self.interval * MAX_SLEW)
        wall, mono = clock.time(), clock.monotonic()
        step = self._step(wall, mono)  # a step during the previous sweep: its time is of the old clock
        due = next_boundary(wall, self.interval)
        overrun = 0
        since_previous = 0.0
        if self._previous is not None and self._previous_start is not None and abs(step) <= tolerance:
            while int(due) <= self._previous:  # never the previous sweep's second again
                due += self.interval
            first_free = next_boundary(self._previous + 1e-6, self.interval)
            overrun = max(0, round((due - first_free) / self.interval))
            since_previous = mono - self._previous_start
        deadline = mono + (due - wall)
        while True:
            left = deadline - clock.monotonic()
            if left <= 0:
                break
            if clock.wait(stop, left):
                return None
        now, mono_now = clock.time(), clock.monotonic()
        late = mono_now - deadline
        step += self._step(now, mono_now)
        stepped = abs(step) > tolerance
        if stepped or late > START_TOLERANCE_S:
            stamp = int(now)  # the second it starts, in the wall clock's current frame
        else:
            while now < due:  # the wall clock may trail the monotonic deadline by a slew's fraction of a second
                if clock.wait(stop, due - now):
                    return None
                now = clock.time()
            stamp = int(due)
        stamp = min(stamp, int(clock.time()))  # never ahead of the wall clock
        self._started(stamp, now, clock.monotonic())
        return Slot(
            stamp,
            due,
            late_s=late if late > START_TOLERANCE_S else 0.0,
            step_s=step if stepped else 0.0,
            overrun=overrun,
            late_skips=math.floor(late / self.interval) if late > START_TOLERANCE_S else 0,
            since_previous_s=since_previous,
        )

    def _step(self, wall: float, mono: float) -> float:
        """How far the wall clock moved apart from the monotonic one since it was last looked at."""
        offset = wall - mono
        previous, self._offset = self._offset, offset
        return 0.0 if previous is None else offset - previous

    def _started(self, stamp: int, wall: float, mono: float) -> None:
        self._previous = stamp
        self._previous_start = mono
        self._offset = wall - mono
