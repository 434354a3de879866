"""SIGTERM and SIGINT ask a daemon to stop; its sleep ends the moment one arrives, wherever its loop stands.

Signal-safe by construction. The Python-level handler only records the signal's name: it takes no lock.
(``threading.Event.set`` in a handler takes the event's lock; when the signal lands while the main thread
is inside that event's ``wait``, holding the same lock, the handler waits for itself forever. The nightly
aggregator hung so on a busy machine.) The wake-up comes from ``signal.set_wakeup_fd``: the interpreter
writes the signal's number to a pipe at C level the moment the signal arrives, and ``sleep`` waits on that
pipe with ``select``. A signal that comes after the check and before the ``select`` is in the pipe already,
so no signal is slept through, and the bytes read say which signal it was even before the Python handler ran.
"""

from __future__ import annotations

import os
import select
import signal
import time

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class StopSignal:
    """``install()`` (main thread) routes SIGTERM and SIGINT here; ``sleep(seconds)`` returns True as soon as
    one has come (at once if one came before), False when the time is up. ``request(name)`` asks for a stop
    without a signal (from any thread). ``received`` names what asked, or is None."""

    def __init__(self) -> None:
        self.received: str | None = None
        self._read_end, self._write_end = os.pipe()
        os.set_blocking(self._read_end, False)
        os.set_blocking(self._write_end, False)

    def install(self) -> None:
        """Handle SIGTERM and SIGINT. Call from the main thread (Python runs signal handlers there only)."""
        signal.set_wakeup_fd(self._write_end, warn_on_full_buffer=False)
        for number in STOP_SIGNALS:
            signal.signal(number, self._on_signal)

    def _on_signal(self, number: int, _frame: object) -> None:
        self.received = signal.Signals(number).name  # one store, no lock: safe wherever the signal lands

    def request(self, name: str = "asked to") -> None:
        """Ask for a stop without a signal: ``sleep`` returns True at once, here or in another thread."""
        self.received = self.received or name
        try:
            os.write(self._write_end, b"\0")
        except BlockingIOError:  # the pipe is full of wake-ups already: one more changes nothing
            pass

    def sleep(self, seconds: float) -> bool:
        """Wait up to ``seconds``; True when a stop was asked for (before or during the wait)."""
        deadline = time.monotonic() + max(seconds, 0.0)
        while self.received is None:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            ready, _, _ = select.select([self._read_end], [], [], left)
            if ready:
                self._drain()
        return True

    def _drain(self) -> None:
        """Read the wake-ups; a stop signal's number among them counts even before its Python handler ran."""
        while True:
            try:
                chunk = os.read(self._read_end, 512)
            except BlockingIOError:
                return
            if not chunk:
                return
            for number in STOP_SIGNALS:
                if number in chunk and self.received is None:
                    self.received = number.name
            if b"\0" in chunk and self.received is None:
                self.received = "asked to"
