"""Waiting in tests: on the event itself (a line in a log, a file, a row, a process's end), never for a fixed time.

CI runs on two shared cores, and a test that waits "long enough" fails there one day in three. So a test waits
for what it needs to see and nothing else. The one limit left, ``HANG_S``, is a hang's: no correct run comes near
it, even with every core busy, and a wrong one still ends the test with the log instead of stalling the suite.
A limit that is itself what a test checks (refused "in well under 2 s") is written in that test, generously.
"""

from __future__ import annotations

import codecs
import os
import select
import signal
import subprocess
import time
from collections.abc import Callable
from typing import TypeVar

from tests.support import ROOT

HANG_S = 300.0  # minutes, not seconds: only a hang gets here

SWEEP_LOGGED = "hosts on,"  # the collector's one line per sweep: "sweep …: 3/3 hosts on, 0.004 s"

T = TypeVar("T")


def wait_until(condition: Callable[[], T], what: str, limit: float = HANG_S, poll: float = 0.02) -> T:
    """Call ``condition`` until it returns something true, and return that; after ``limit`` seconds fail,
    saying that ``what`` did not happen."""
    deadline = time.monotonic() + limit
    while not (result := condition()):
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what} did not happen within {limit:g} s")
        time.sleep(poll)
    return result


class Daemon:
    """A pinger daemon in a subprocess whose log (stderr) the test reads as it goes.

    Every wait ends with the event waited for, with the daemon's end, or after ``HANG_S`` (unless told
    otherwise), and a failure shows the log read so far.
    """

    def __init__(self, argv: list[str], env: dict[str, str] | None = None, popen=subprocess.Popen):
        self.process = popen(argv, cwd=ROOT, stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})})
        self.lines: list[str] = []
        self._looked_at = 0  # lines wait_for has gone through: it waits for lines after these
        self._partial = ""
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._ended = False  # the log reached its end: the daemon closed stderr, it exited

    def wait_for(self, text: str, count: int = 1, timeout: float = HANG_S) -> None:
        """Read the log until ``count`` more lines contain ``text``; fail if the daemon ends first."""
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            while self._looked_at < len(self.lines):
                self._looked_at += 1
                if text in self.lines[self._looked_at - 1]:
                    seen += 1
                    if seen == count:
                        return
            if self._ended:
                raise AssertionError(f"the daemon ended before logging {text!r}:\n{self.log}")
            if time.monotonic() >= deadline:
                raise AssertionError(f"the daemon did not log {text!r} within {timeout:g} s:\n{self.log}")
            self._read(deadline)

    def wait_for_sweeps(self, count: int) -> None:
        self.wait_for(SWEEP_LOGGED, count)

    def stop(self, signal_number: int = signal.SIGTERM, timeout: float = HANG_S) -> int:
        """Signal the daemon, read the rest of its log, and return its exit code."""
        self.process.send_signal(signal_number)
        return self.finish(timeout)

    def finish(self, timeout: float = HANG_S) -> int:
        """Wait for the daemon to end (by itself, --sweeps N, or after stop's signal); return its exit code."""
        deadline = time.monotonic() + timeout
        while not self._ended:
            if time.monotonic() >= deadline:
                raise AssertionError(f"the daemon did not end within {timeout:g} s:\n{self.log}")
            self._read(deadline)
        try:
            return self.process.wait(timeout=max(deadline - time.monotonic(), 1.0))
        except subprocess.TimeoutExpired:
            raise AssertionError(f"the daemon closed its log but did not end within {timeout:g} s") from None

    def _read(self, deadline: float) -> None:
        """Take what the log has, waiting for it until the deadline at most."""
        stream = self.process.stderr
        ready, _, _ = select.select([stream], [], [], max(deadline - time.monotonic(), 0.0))
        if not ready:
            return
        chunk = os.read(stream.fileno(), 65536)
        text = self._partial + self._decoder.decode(chunk, final=not chunk)
        *complete, self._partial = text.split("\n")
        self.lines.extend(line + "\n" for line in complete)
        if not chunk:
            self._ended = True
            if self._partial:
                self.lines.append(self._partial)
                self._partial = ""
            stream.close()

    @property
    def log(self) -> str:
        return "".join(self.lines)

    @property
    def sweep_lines(self) -> list[str]:
        return [line for line in self.lines if SWEEP_LOGGED in line]

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if self.process.stderr is not None and not self.process.stderr.closed:
            self.process.stderr.close()
