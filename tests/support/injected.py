"""What a collector test injects instead of the network, the disk and the clock: a fake ping, a store in memory,
clocks that move only when waited on.

``FakePing`` answers as a table says (address -> round-trip time in ms, or None for silence) and records what
it was asked, so a test drives ``Collector`` (or ``run_sweep``) without a packet sent, as telegraf's ping plugin
tests inject ``pingHost``. ``MemoryStore`` is a SweepStore (pinger/store/interface.py) that keeps each sweep and
status it is given, in order, and can be told to fail the next writes as a full disk does; ``SpooledMemoryStore``
is one with an outbox as the test says (Spooled: a backlog, a fill level, failed deliveries). ``FakeClock`` is the
schedule's clock (collector/schedule.py) stepped by the test: the machine's clock is never touched.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pinger.collector.engine import EchoOutcome
from pinger.config import PingSettings
from pinger.errors import StoreError
from pinger.models import CollectorStatus, SweepResult
from pinger.stop_signal import StopSignal
from pinger.store.interface import SpoolFill


class FakePing:
    """A ping that sends nothing: ``answers`` maps an address to its round-trip time (ms), or to None for an
    address that stays silent; an address not in the table is silent too. ``asked`` holds each call's addresses."""

    def __init__(self, answers: dict[str, float | None]):
        self.answers = answers
        self.asked: list[list[str]] = []

    def __call__(self, addresses: Sequence[str], settings: PingSettings) -> list[EchoOutcome]:
        self.asked.append(list(addresses))
        return [EchoOutcome(self.answers.get(address)) for address in addresses]


class MemoryStore:
    """A SweepStore in memory, without an outbox: ``sweeps`` and ``statuses`` in the order written; ``fail_next``
    writes raise StoreError first (then it writes again); ``closed`` says whether the collector closed it."""

    def __init__(self, fail_next: int = 0):
        self.sweeps: list[SweepResult] = []
        self.statuses: list[CollectorStatus] = []
        self.fail_next = fail_next
        self.closed = False

    def check(self) -> None:
        """Settings are what they are in memory: nothing to check."""

    def write_sweep(self, sweep: SweepResult, status: CollectorStatus) -> None:
        if self.fail_next > 0:
            self.fail_next -= 1
            raise StoreError("Cannot write to the memory store: database or disk is full")
        self.sweeps.append(sweep)
        self.statuses.append(status)

    def close(self) -> None:
        self.closed = True


class SpooledMemoryStore(MemoryStore):
    """A MemoryStore with an outbox (Spooled) that is what the test says: ``waiting`` sweeps not yet delivered,
    ``fill``, ``delivery_errors``; it never delivers. ``flushed_for``: the seconds ``close`` was given."""

    def __init__(self, fill: SpoolFill, fail_next: int = 0):
        super().__init__(fail_next)
        self.fill = fill
        self.waiting = 0
        self.delivery_errors = 0
        self.flushed_for: float | None = None

    def backlog(self) -> int:
        return self.waiting

    def spool_fill(self) -> SpoolFill:
        return self.fill

    def write_errors(self) -> int:
        return self.delivery_errors

    def deliver_pending(self, deadline: float | None = None) -> bool:
        return self.waiting == 0

    def close(self, flush_seconds: float = 5.0) -> None:
        self.flushed_for = flush_seconds
        self.closed = True


class FakeClock:
    """Wall and monotonic clocks that move only when waited on; ``during_waits`` scripts what happens while the
    collector waits (one entry per wait, in turn: a process stop, a step of the wall clock)."""

    def __init__(self, wall: float):
        self.wall = wall
        self.mono = 5000.0
        self.during_waits: list[Callable[[FakeClock], None]] = []
        self.waited: list[float] = []

    def time(self) -> float:
        return self.wall

    def monotonic(self) -> float:
        return self.mono

    def wait(self, stop: StopSignal, seconds: float) -> bool:
        self.waited.append(seconds)
        self.pass_time(seconds)
        if self.during_waits:
            self.during_waits.pop(0)(self)
        return stop.received is not None

    def pass_time(self, seconds: float) -> None:
        """Time passes (both clocks run, as they do while a process is stopped)."""
        self.wall += seconds
        self.mono += seconds

    def step(self, seconds: float) -> None:
        """Someone sets the wall clock: only it moves."""
        self.wall += seconds
