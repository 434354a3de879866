"""Every sweep carries the time it was taken: on time its boundary; late (stopped, suspended, starved) the second it
ran; after a step of the wall clock the corrected clock's second; never a time ahead of the clock.

The schedule's clock is injected (``FakeClock``) to step it: the machine's clock is never touched. A real collector
process is stopped and continued with SIGSTOP/SIGCONT.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import sqlite3
import time

import pytest

from pinger.collector.daemon import open_collector
from pinger.collector.schedule import Schedule
from pinger.config_load import load_config
from pinger.stop_signal import StopSignal
from tests.support import loopback_config
from tests.support.injected import FakeClock


def nothing(clock: FakeClock) -> None:
    pass


NEVER = StopSignal()  # never asked to stop


def test_a_sweep_on_time_carries_its_boundary():
    clock = FakeClock(1_000_000_000.3)
    schedule = Schedule(10, clock)
    first = schedule.next(NEVER)
    assert (first.stamp, first.late_s, first.skipped, first.step_s) == (1_000_000_010, 0.0, 0, 0.0)
    clock.pass_time(0.2)  # the sweep
    second = schedule.next(NEVER)
    assert (second.stamp, second.skipped) == (1_000_000_020, 0)


def test_a_late_start_within_the_tolerance_still_carries_the_boundary():
    clock = FakeClock(1_000_000_000.3)
    clock.during_waits = [lambda c: c.pass_time(0.6)]  # woken 0.6 s late: a busy machine
    slot = Schedule(10, clock).next(NEVER)
    assert (slot.stamp, slot.late_s) == (1_000_000_010, 0.0)


def test_a_sweep_that_starts_late_carries_the_time_it_ran():
    clock = FakeClock(1_000_000_000.3)
    clock.during_waits = [lambda c: c.pass_time(20.4)]  # stopped (SIGSTOP) while it waited: 20.4 s later it runs
    slot = Schedule(10, clock).next(NEVER)
    assert slot.stamp == 1_000_000_030  # 13:27:20 when it ran at 13:27:20.4, not the 13:27:00 it was due at
    assert slot.late_s == pytest.approx(20.4) and slot.due == 1_000_000_010
    assert slot.late_skips == 2  # the boundaries …:20 and …:30 passed while it was stopped


def test_a_backward_step_of_the_wall_clock_never_stamps_a_sweep_in_the_future():
    clock = FakeClock(1_000_000_000.3)
    schedule = Schedule(10, clock)
    assert schedule.next(NEVER).stamp == 1_000_000_010
    clock.pass_time(0.1)
    clock.during_waits = [lambda c: c.step(-7200)]  # NTP sets the clock back 2 h while the collector waits
    slot = schedule.next(NEVER)
    assert slot.stamp <= clock.time() < 1_000_000_010
    assert slot.stamp == int(clock.time())
    assert slot.step_s == pytest.approx(-7200)
    clock.pass_time(0.1)
    following = schedule.next(NEVER)  # on the corrected clock's boundaries, not two hours away
    assert following.stamp == slot.stamp + 10 and following.step_s == 0.0
    assert clock.waited[-1] < 10


def test_a_forward_step_stamps_the_corrected_time():
    clock = FakeClock(1_000_000_000.3)
    clock.during_waits = [lambda c: c.step(3600)]
    slot = Schedule(10, clock).next(NEVER)
    assert slot.stamp == int(clock.time()) == 1_000_003_610 and slot.step_s == pytest.approx(3600)


def test_a_step_during_a_sweep_does_not_make_the_next_one_wait_for_the_old_clock():
    clock = FakeClock(1_000_000_000.3)
    schedule = Schedule(10, clock)
    schedule.next(NEVER)
    clock.pass_time(0.2)
    clock.step(-7200)  # while the sweep ran
    slot = schedule.next(NEVER)
    assert clock.waited[-1] < 10  # the next boundary of the corrected clock, not the old one's
    assert slot.stamp == 1_000_000_010 - 7200 + 10 and slot.step_s == pytest.approx(-7200)


def test_a_sweep_longer_than_the_interval_skips_boundaries():
    clock = FakeClock(1_000_000_000.3)
    schedule = Schedule(10, clock)
    schedule.next(NEVER)
    clock.pass_time(35)  # the sweep took 35 s
    slot = schedule.next(NEVER)
    assert (slot.stamp, slot.overrun, slot.late_s) == (1_000_000_050, 3, 0.0)  # …:20, :30, :40 skipped


def test_a_wall_clock_trailing_the_monotonic_deadline_is_waited_for():
    clock = FakeClock(1_000_000_000.3)
    clock.during_waits = [lambda c: c.step(-0.05), nothing]  # slewed: the wall clock is 50 ms behind at the deadline
    slot = Schedule(10, clock).next(NEVER)
    assert slot.stamp == 1_000_000_010 <= clock.time()


def test_a_stop_ends_the_wait():
    stop = StopSignal()
    clock = FakeClock(1_000_000_000.3)
    clock.during_waits = [lambda c: stop.request()]
    assert Schedule(10, clock).next(stop) is None


def test_a_collector_whose_clock_steps_back_stores_no_sweep_in_the_future(write_config, tmp_path, caplog):
    store = tmp_path / "s.sqlite"
    path = loopback_config(write_config, store, hosts="127.0.0.1", interval="10s")
    start = int(time.time()) // 10 * 10 + 0.3
    clock = FakeClock(start)
    clock.during_waits = [nothing, lambda c: c.step(-7200), nothing]
    collector = open_collector(load_config(path), clock=clock)
    with caplog.at_level("INFO", logger="pinger.collector"):
        assert collector.run(sweeps=3) == (3, 0)
    boundary = int(start) + 10
    with sqlite3.connect(store) as db:
        times = [row[0] for row in db.execute("SELECT time FROM collector ORDER BY time")]
    # The first sweep at its boundary; the next two on the corrected clock, two hours back, and none ahead of it.
    assert times == [boundary + 10 - 7200, boundary + 20 - 7200, boundary]
    assert max(times) <= clock.time() + 7200 and times[1] <= clock.time()
    stepped = [r.getMessage() for r in caplog.records if "wall clock stepped" in r.getMessage()]
    assert len(stepped) == 1 and stepped[0].startswith("the wall clock stepped back by 2.0 h since the previous sweep")


def main_thread_waits(pid: int) -> None:
    """Until the process's main thread has slept in select for 50 ms in a row: the schedule's wait for the next
    boundary, on the stop signal's pipe (pinger.stop_signal). A sweep on loopback never waits that long for its
    replies, so the sweep's own select does not pass for it."""
    asleep_since = None
    for _ in range(20_000):
        try:
            wchan = open(f"/proc/{pid}/wchan").read()
        except OSError:
            pytest.skip("/proc/PID/wchan is not readable here")
        if any(name in wchan for name in ("poll_schedule_timeout", "do_select", "do_sys_poll")):
            asleep_since = asleep_since or time.monotonic()
            if time.monotonic() - asleep_since >= 0.05:
                return
        else:
            asleep_since = None
        time.sleep(0.001)
    pytest.fail("the collector never settled into its wait")


LOGGED_SWEEP = re.compile(r"^(\S+ \S+) UTC INFO sweep (\S+ \S+) UTC: ")


def test_a_collector_stopped_with_sigstop_stamps_the_sweep_after_sigcont_with_the_time_it_ran(
    write_config, tmp_path, daemon
):
    store = tmp_path / "s.sqlite"
    collector = daemon("collect", "-c", str(loopback_config(write_config, store, hosts="127.0.0.1")))
    collector.wait_for_sweeps(2)
    main_thread_waits(collector.process.pid)
    stopped_at = time.time()
    os.kill(collector.process.pid, signal.SIGSTOP)
    time.sleep(3.5)  # the scenario: stopped for 3.5 s (an interval is 1 s)
    continued_at = time.time()
    os.kill(collector.process.pid, signal.SIGCONT)
    collector.wait_for_sweeps(2)
    assert collector.stop() == 0
    with sqlite3.connect(store) as db:
        times = [row[0] for row in db.execute("SELECT time FROM collector ORDER BY time")]
    after_stop = [stamp for stamp in times if stamp > stopped_at]
    assert after_stop[0] >= int(continued_at), (stopped_at, continued_at, times)  # not the boundary it missed
    (late,) = [line for line in collector.lines if " started " in line]
    assert re.search(r"the sweep due at \S+ \S+ UTC started \d+\.\d s late \(the collector was stopped", late)
    assert "the sweep took" not in collector.log  # a quick sweep is not blamed for the stop
    for line in collector.sweep_lines:  # every sweep's time is at most its log line's, never ahead of the clock
        logged, stamp = (dt.datetime.fromisoformat(text) for text in LOGGED_SWEEP.match(line).groups())
        assert stamp <= logged
