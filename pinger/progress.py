"""Progress of long work on stderr: a live line on a terminal, a log line every ~10 % otherwise."""

from __future__ import annotations

import logging
import sys
import time
from typing import TextIO

log = logging.getLogger("pinger")


class Progress:
    def __init__(self, total: int, what: str, stream: TextIO | None = None):
        self.total = total
        self.what = what
        self.stream = stream or sys.stderr
        self.live = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.started = time.monotonic()
        self._last_logged = -1

    def update(self, done: int, detail: str = "") -> None:
        if self.total <= 1:
            return
        elapsed = time.monotonic() - self.started
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
