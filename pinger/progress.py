"""Progress of long work on stderr once it has run a few seconds: a live line on a terminal, else a line every ~10 %."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from typing import TextIO

log = logging.getLogger("pinger")

QUIET_FOR_S = 3.0  # work done sooner than this shows no progress at all: its summary line is enough


class Progress:
    def __init__(
        self,
        total: int,
        what: str,
        stream: TextIO | None = None,
        quiet_for: float = QUIET_FOR_S,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.total = total
        self.what = what
        self.stream = stream or sys.stderr
        self.live = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.quiet_for = quiet_for
        self.clock = clock
        self.started = clock()
        self._last_logged = -1

    def update(self, done: int, detail: str = "") -> None:
        if self.total <= 1:
            return
        elapsed = self.clock() - self.started
        if elapsed < self.quiet_for:
            return
        remaining = elapsed / done * (self.total - done) if done else 0.0
        line = f"{self.what}: {done}/{self.total} {detail} ({elapsed:.0f} s, ~{remaining:.0f} s left)"
        if self.live:
            self.stream.write("\r\x1b[K" + line + ("\n" if done == self.total else ""))
            self.stream.flush()
            return
        tenth = done * 10 // self.total
        if tenth != self._last_logged:
            self._last_logged = tenth
            log.info("%s", line)
