"""SIGTERM at every point of a daemon's loop in turn: the test that finds a stop signal handled unsafely.

A daemon whose SIGTERM handler calls ``threading.Event.set`` deadlocks when the signal lands while its main
thread is inside that event's ``wait`` (holding the same lock): the handler waits for itself forever. Such a
window is a few bytecodes wide, so a test that sends the signal "some time" finds it once in a thousand runs.
``stop_at_every_point`` finds it every time: it runs the daemon again and again in a child process, and in the
k-th run sends SIGTERM at the k-th function call after the log line that arms it, until a run's signal finds
the loop asleep; ``assert_stops_at_once`` starts that child and holds each run to a second from signal to stop.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from tests.support import ROOT

QUIET_S = 0.3  # no profile event for this long and the main thread asleep in the kernel: the daemon waits
CHILD_LIMIT_S = 120.0  # about a second or two when idle; a hang is what this catches


def main_thread_sleeps() -> bool:
    """The main thread blocks in the kernel (state S), not merely waiting for a CPU (state R)."""
    stat = Path(f"/proc/self/task/{os.getpid()}/stat").read_text()
    return stat.rsplit(")", 1)[1].split()[0] == "S"


def stop_at_every_point(start: Callable[[], Callable[[], object]], logger: str, armed_by: str) -> None:
    """In a child process: ``start()`` builds a daemon, installs its signal handlers and returns its run; the
    k-th run gets SIGTERM at the k-th function call after a ``logger`` line starting with ``armed_by``. Prints
    one line per run, "k how seconds" (how: "point", or "asleep" for the last run, signalled while it slept)."""
    log = logging.getLogger(logger)
    log.setLevel(logging.INFO)  # read by Arm below, printed by nothing
    k = 0
    while True:
        k += 1
        state = {"events": 0, "sent_at": None, "by": ""}

        def hook(_frame, event, _arg, k=k, state=state):
            if event not in ("call", "c_call") or state["sent_at"] is not None:
                return
            state["events"] += 1
            if state["events"] == k:
                sys.setprofile(None)
                state["sent_at"], state["by"] = time.monotonic(), "point"
                os.kill(os.getpid(), signal.SIGTERM)

        class Arm(logging.Handler):
            def emit(self, record, state=state):
                if "armed" not in state and record.getMessage().startswith(armed_by):
                    state["armed"] = time.monotonic()
                    sys.setprofile(hook)

        def watchdog(state=state):
            seen = -1
            while state["sent_at"] is None:
                time.sleep(QUIET_S)
                if "armed" in state and state["events"] == seen and main_thread_sleeps():
                    state["sent_at"], state["by"] = time.monotonic(), "asleep"
                    os.kill(os.getpid(), signal.SIGTERM)
                seen = state["events"]

        arm = Arm()
        log.addHandler(arm)
        run = start()
        threading.Thread(target=watchdog, daemon=True).start()
        run()
        sys.setprofile(None)
        log.removeHandler(arm)
        stopped_after = time.monotonic() - state["sent_at"]
        print(f"{k} {state['by']} {stopped_after:.3f}", flush=True)
        if state["by"] == "asleep":
            return


def assert_stops_at_once(child_code: str) -> None:
    """Run ``child_code`` (a call of stop_at_every_point) in a child process: it must end, each run within a
    second of its signal, the last one signalled while asleep, after more than ten points."""
    child = subprocess.Popen(
        [sys.executable, "-c", child_code], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        out, err = child.communicate(timeout=CHILD_LIMIT_S)
    except subprocess.TimeoutExpired:
        child.kill()
        out, err = child.communicate()
        last = out.splitlines()[-1] if out.strip() else "none"
        raise AssertionError(f"the daemon hung after a SIGTERM; the last run that stopped: {last}") from None
    assert child.returncode == 0, err
    runs = [line.split() for line in out.splitlines()]
    assert runs[-1][1] == "asleep" and len(runs) > 10, out  # signalled at each point, then while asleep
    slow = [run for run in runs if float(run[2]) > 1.0]
    assert slow == [], f"runs that took over a second from the signal to stop: {slow}"
