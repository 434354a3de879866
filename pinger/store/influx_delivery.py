"""Delivery of the spool to InfluxDB: oldest first, with retries, a bounded rate, and each problem said once.

``Delivery`` owns the spool (made when first used: reading needs none) and, for the collector, a background
thread. Each request's outcome is a ``Sent``: what happened and when the next request may go. One-shot
commands deliver in line (``deliver_pending``) and stop at the first sign that the server is unreachable.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from pinger.config import InfluxSettings

from .influx_client import short
from .interface import SpoolFill
from .spool import Batch, Spool

if TYPE_CHECKING:
    from influxdb_client.rest import ApiException

log = logging.getLogger("pinger.influxdb")

MAX_POINTS_PER_REQUEST = 5_000
# A backlog of weeks drains at this many points per second at most, so InfluxDB is not flooded.
MAX_POINTS_PER_SECOND = 50_000
MAX_BACKOFF_S = 60.0
CONFIG_ERROR_RETRY_S = 300.0
_CONFIGURATION = {401, 403, 404}

# (bucket, lines, lines per request): writes or raises the client's exception (pinger.store.influx_client).
WriteLines = Callable[[str, Sequence[str], int], None]

Outcome = Literal["delivered", "set_aside", "unreachable", "refused"]


class Sent(NamedTuple):
    """What one delivery request did.

    ``delivered``: the server acknowledged the batches, they left the spool; ``set_aside``: a batch the server
    can never take (malformed, conflicting, too large) went to the spool's ``rejected`` table. After either the
    next request goes at once. ``unreachable``: no answer (refused, reset, timed out); ``refused``: the server
    answered with an error worth retrying. After these the next request waits ``wait_s`` seconds (the server's
    Retry-After, or the pause after a configuration error), or when it is None a backoff growing from 1 s to
    MAX_BACKOFF_S.
    """

    outcome: Outcome
    wait_s: float | None = None

    @property
    def ok(self) -> bool:
        return self.outcome in ("delivered", "set_aside")


DELIVERED = Sent("delivered")
SET_ASIDE = Sent("set_aside")


class Unreachable(Exception):
    """Raised by deliver_pending(give_up_unreachable=True): the server did not answer; carries why."""


def retry_after(headers: Any) -> float | None:
    """The server's Retry-After in seconds, if it sent one (InfluxDB OSS never does; Cloud's 429 does)."""
    value = (headers or {}).get("Retry-After") if hasattr(headers, "get") else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class Delivery:
    """The spool and its way to the server. ``background`` starts the delivery thread (the collector's)."""

    def __init__(self, settings: InfluxSettings, write: WriteLines, background: bool):
        self.settings = settings
        self._write = write
        self._spool: Spool | None = None
        self._spool_made = threading.Lock()  # the delivery thread and the first sweep may both make it
        self._write_errors = 0
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._reported: str | None = None  # the problem last logged, so each is said once
        self._last_problem = ""  # the last unreachable reason, in plain words
        self._draining = False
        self._gave_up = False  # a one-shot delivery found the server away and said so: no flush at close
        self._resume_at = 0.0  # monotonic time before which no write is sent (Retry-After, backoff)
        self._backoff = 1.0
        self._thread: threading.Thread | None = None
        if background:
            self._thread = threading.Thread(target=self._deliver_forever, name="influx-delivery", daemon=True)
            self._thread.start()

    @property
    def spool(self) -> Spool:
        if self._spool is None:
            with self._spool_made:
                if self._spool is None:
                    self._spool = Spool(self.settings.spool, self.settings.spool_max_bytes)
        return self._spool

    def wake(self) -> None:
        """A batch was appended: the delivery thread need not wait for its next look."""
        self._wake.set()

    def backlog(self) -> int:
        return self.spool.backlog()

    def spool_fill(self) -> SpoolFill:
        spool = self.spool
        return SpoolFill(spool.path, int(spool.pending_bytes() * 100 / spool.max_bytes), spool.backlog())

    def write_errors(self) -> int:
        return self._write_errors

    # -- delivering ---------------------------------------------------------------------------------

    def deliver_pending(self, deadline: float | None = None, give_up_unreachable: bool = False) -> bool:
        """Deliver spooled batches in order, honouring the server's waits, until the spool is empty (True) or
        the next wait would pass the deadline (False). With ``give_up_unreachable`` the first request the server
        does not answer raises Unreachable (one-shot commands: no silent retrying for minutes)."""
        while True:
            if deadline is not None and time.monotonic() >= deadline and self.spool.backlog():
                return False
            delay = self._resume_at - time.monotonic()
            if delay > 0:
                if deadline is not None and time.monotonic() + delay > deadline:
                    return False
                time.sleep(delay)
            batches = self.spool.oldest(MAX_POINTS_PER_REQUEST)
            if not batches:
                return True
            sent = self._send(batches, quiet_unreachable=give_up_unreachable)
            self._after(sent)
            if give_up_unreachable and sent.outcome == "unreachable":
                self._gave_up = True
                raise Unreachable(self._last_problem)

    def _after(self, sent: Sent) -> None:
        """Remember when the next request may go: at once, after the server's (or the config error's) wait, or
        after a growing backoff. Shared by the thread and the final flush, so neither ignores the other's wait."""
        if sent.ok:
            self._backoff = 1.0
            return
        if sent.wait_s is not None:
            self._resume_at = time.monotonic() + sent.wait_s
            return
        self._resume_at = time.monotonic() + self._backoff
        self._backoff = min(self._backoff * 2, MAX_BACKOFF_S)

    def _send(self, batches: list[Batch], quiet_unreachable: bool = False) -> Sent:
        """Send batches of one bucket in one request. ``quiet_unreachable``: the caller says it, not the log."""
        from influxdb_client.rest import ApiException

        bucket = batches[0].bucket
        batches = [b for b in batches if b.bucket == bucket]  # one request writes one bucket
        try:
            self._write(bucket, [b.lines for b in batches], len(batches))
        except ApiException as err:
            self._write_errors += 1
            return self._refused(err, batches)
        except Exception as err:  # connection refused, reset, timeout
            self._write_errors += 1
            self._last_problem = short(err)
            if not quiet_unreachable:
                self._report(
                    "unreachable",
                    f"InfluxDB at {self.settings.url} is not reachable ({self._last_problem}); "
                    f"{self.spool.backlog()} sweeps wait in the spool",
                )
            return Sent("unreachable")
        self.spool.remove([b.id for b in batches])
        if self._reported:
            log.info("InfluxDB accepts writes again; delivering %d spooled sweeps", self.spool.backlog())
            self._reported = None
            self._draining = True
        if self._draining and self.spool.backlog() == 0:
            log.info("spool drained: every spooled sweep is in InfluxDB")
            self._draining = False
        return DELIVERED

    def _refused(self, err: ApiException, batches: list[Batch]) -> Sent:
        status = err.status
        message = (getattr(err, "body", None) or err.reason or "").strip()
        waited = retry_after(err.headers)
        if status in (400, 422):  # malformed, or a field type conflict: sending again cannot help
            if len(batches) > 1:  # find the bad batch by sending one at a time
                alone = self._send(batches[:1])
                return SET_ASIDE if alone.ok else alone
            self.spool.reject(batches[0], f"{status} {message}")
            log.error(
                "InfluxDB refused sweep batch %d (%s %s); kept in the spool's 'rejected' table",
                batches[0].id,
                status,
                message[:200],
            )
            return SET_ASIDE
        if status == 413:
            if len(batches) > 1:
                alone = self._send(batches[:1])
                return SET_ASIDE if alone.ok else alone
            return self._send_in_chunks(batches[0])
        if status in _CONFIGURATION:
            self._report(
                f"config-{status}",
                f"InfluxDB refuses writes ({status} {message[:200]}): check "
                "storage.influxdb url, org, bucket and token; sweeps wait in the spool, retrying every "
                f"{CONFIG_ERROR_RETRY_S:.0f} s",
            )
            return Sent("refused", CONFIG_ERROR_RETRY_S)
        self._report(
            f"http-{status}",
            f"InfluxDB answered {status} ({message[:200]}); retrying"
            + (f" after {waited:g} s as it asked" if waited else ""),
        )
        return Sent("refused", waited)

    def _send_in_chunks(self, batch: Batch, chunk_lines: int = 1000) -> Sent:
        """A single batch too large for the server (413), sent in smaller requests."""
        from influxdb_client.rest import ApiException

        try:
            self._write(batch.bucket, batch.lines.split("\n"), chunk_lines)
        except ApiException as err:
            if err.status == 413:
                self.spool.reject(batch, f"413 even {chunk_lines} points per request are too large for the server")
                log.error(
                    "InfluxDB refuses batch %d even in requests of %d points (413); kept in the spool's "
                    "'rejected' table",
                    batch.id,
                    chunk_lines,
                )
                return SET_ASIDE
            return Sent("refused")
        except Exception as err:
            self._last_problem = short(err)
            return Sent("unreachable")
        self.spool.remove([batch.id])
        return DELIVERED

    def _report(self, key: str, message: str) -> None:
        if self._reported != key:
            self._reported = key
            log.error("%s", message)

    def _deliver_forever(self) -> None:
        while not self._stopping.is_set():
            delay = self._resume_at - time.monotonic()
            if delay > 0:
                self._stopping.wait(delay)
                continue
            batches = self.spool.oldest(MAX_POINTS_PER_REQUEST)
            if not batches:
                self._wake.wait(5.0)
                self._wake.clear()
                continue
            started = time.monotonic()
            sent = self._send(batches)
            self._after(sent)
            if sent.outcome == "delivered":
                # Bounded drain rate: never more than MAX_POINTS_PER_SECOND.
                pause = sum(b.points for b in batches) / MAX_POINTS_PER_SECOND - (time.monotonic() - started)
                if pause > 0:
                    self._stopping.wait(pause)

    # -- lifecycle ----------------------------------------------------------------------------------

    def close(self, flush_seconds: float = 5.0) -> None:
        """Stop the thread, try to deliver what is left for a few seconds, close the spool."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=flush_seconds + 20)
        if self._spool is None:
            return
        if self._gave_up:
            self.spool.close()
            return
        if self.spool.backlog():
            self.deliver_pending(deadline=time.monotonic() + flush_seconds)
        left = self.spool.backlog()
        if left:
            log.warning("%d sweeps stay in the spool %s and are delivered at the next start", left, self.settings.spool)
        self.spool.close()
