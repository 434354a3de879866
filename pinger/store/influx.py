"""The InfluxDB 2 store: sweeps go through the durable spool to the raw bucket; daily rows and reads are direct."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice
from typing import TYPE_CHECKING, Any

from pinger.config import Config, InfluxSettings
from pinger.errors import InfluxConfigError, StoreError
from pinger.lineprotocol import format_line, line_formatter
from pinger.localtime import day_bounds, day_start, local_day
from pinger.models import CollectorStatus, HostDay, HostSamples, PoolDay, PoolHour, Sample, SampleRow, SweepResult
from pinger.schema import (
    COLLECTOR,
    DATE_FIELD,
    HOST_DAILY,
    PING,
    POOL_DAILY,
    POOL_HOURLY,
    POOL_ORDER_FIELD,
    POOL_STATUS,
    Measurement,
    influx_field_names,
)

from .flux import (
    first_sample_flux,
    last_daily_flux,
    last_sample_flux,
    pool_days_flux,
    pool_hours_flux,
    pool_samples_flux,
)
from .interface import SpoolFill
from .spool import Batch, Spool

if TYPE_CHECKING:
    from influxdb_client.client.flux_table import FluxRecord
    from influxdb_client.rest import ApiException

log = logging.getLogger("pinger.influxdb")

MAX_POINTS_PER_REQUEST = 5_000
# A backlog of weeks drains at this many points per second at most, so InfluxDB is not flooded.
MAX_POINTS_PER_SECOND = 50_000
MAX_BACKOFF_S = 60.0
CONFIG_ERROR_RETRY_S = 300.0
_CONFIGURATION = {401, 403, 404}


def point_line(measurement: Measurement, record: Any, time_s: int) -> str:
    """One record as a line of its measurement, as declared in pinger.schema."""
    return format_line(measurement.name, measurement.tag_values(record), measurement.field_values(record), time_s)


def daily_point_line(measurement: Measurement, record: Any, time_s: int, pool_order: int | None = None) -> str:
    """A daily record as a line, with the InfluxDB-only fields (pinger.schema.influx_field_names): its local
    date and, for pool_daily, the pool's position in the config."""
    fields: dict[str, int | float | str] = {**measurement.field_values(record), DATE_FIELD: record.day.isoformat()}
    if pool_order is not None:
        fields[POOL_ORDER_FIELD] = pool_order
    return format_line(measurement.name, measurement.tag_values(record), fields, time_s)


def _prepared(measurement: Measurement) -> Callable[[Any, int], str]:
    """point_line for one measurement without free-form tags, prepared once: a sweep writes thousands."""
    return line_formatter(
        measurement.name, measurement.tag_names, [(field.name, field.type) for field in measurement.fields]
    )


_PING_LINE, _POOL_STATUS_LINE, _COLLECTOR_LINE = (_prepared(m) for m in (PING, POOL_STATUS, COLLECTOR))


def sweep_lines(sweep: SweepResult, status: CollectorStatus) -> list[str]:
    """A sweep's ping, pool_status and collector points as line protocol, all at the scheduled second."""
    lines = [_PING_LINE(sample, sample.time) for sample in sweep.samples()]
    lines += [_POOL_STATUS_LINE(pool, pool.time) for pool in sweep.pool_statuses()]
    lines.append(_COLLECTOR_LINE(status, status.time))
    return lines


def _retry_after(headers: Any) -> float | None:
    value = (headers or {}).get("Retry-After") if hasattr(headers, "get") else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class InfluxStore:
    """Writes through the spool with a background delivery thread; reads with Flux.

    Implements SweepStore and HistoryStore. ``deliver`` starts the background delivery thread,
    which only the collector wants: one-shot commands deliver in line.
    """

    def __init__(self, config: Config, deliver: bool = True):
        from influxdb_client.client.influxdb_client import InfluxDBClient

        if config.storage.influxdb is None:
            raise StoreError("storage.backend is influxdb but storage.influxdb is not configured")
        self.config = config
        self.settings: InfluxSettings = config.storage.influxdb
        self._spool: Spool | None = None  # made when first written: reading needs none
        self._spool_made = threading.Lock()  # the delivery thread and the first sweep may both make it
        self.client = InfluxDBClient(
            url=self.settings.url, token=self.settings.token, org=self.settings.org, enable_gzip=True, timeout=15_000
        )
        self._write_errors = 0
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._reported: str | None = None  # the problem last logged, so each is said once
        self._draining = False
        self._resume_at = 0.0  # monotonic time before which no write is sent (Retry-After, backoff)
        self._backoff = 1.0
        if deliver:
            self._thread = threading.Thread(target=self._deliver_forever, name="influx-delivery", daemon=True)
            self._thread.start()

    # -- start-up check ---------------------------------------------------------------

    def check(self) -> None:
        """Verify URL, token, org and bucket. Raises InfluxConfigError for wrong settings; an unreachable
        server is logged: sweeps wait in the spool."""
        from influxdb_client.rest import ApiException
        from influxdb_client.service.buckets_service import BucketsService

        where = f"InfluxDB at {self.settings.url}"
        try:
            found = BucketsService(self.client.api_client).get_buckets(name=self.settings.bucket, org=self.settings.org)
        except ApiException as err:
            if err.status in (401, 403):
                raise InfluxConfigError(
                    f"{where} rejects the token ({err.status}): check the token in "
                    "storage.influxdb.token (and the variable it names)"
                ) from None
            if err.status == 404:
                raise InfluxConfigError(
                    f"{where} has no organization {self.settings.org!r} (storage.influxdb.org)"
                ) from None
            log.warning("%s answered %s at start; sweeps are spooled until it recovers", where, err.status)
            return
        except Exception as err:  # urllib3 connection errors and the like
            log.warning("%s is not reachable (%s); sweeps are spooled until it is", where, _short(err))
            return
        if not getattr(found, "buckets", None):
            raise InfluxConfigError(
                f"{where} has no bucket {self.settings.bucket!r} in organization "
                f"{self.settings.org!r} (storage.influxdb.bucket)"
            )

    # -- writing sweeps -----------------------------------------------------------------

    def write_sweep(self, sweep: SweepResult, status: CollectorStatus) -> None:
        """Commit the sweep to the spool (durable on return); delivery happens in the background."""
        self.spool.append(self.settings.bucket, sweep_lines(sweep, status), sweep=(status.collector, status.time))
        self._wake.set()

    def backlog(self) -> int:
        return self.spool.backlog()

    def spool_fill(self) -> SpoolFill:
        return SpoolFill(
            self.spool.path, int(self.spool.pending_bytes() * 100 / self.spool.max_bytes), self.spool.backlog()
        )

    def write_errors(self) -> int:
        return self._write_errors

    def deliver_pending(self, deadline: float | None = None) -> bool:
        """Deliver spooled batches in order, honouring the server's waits, until the spool is empty
        (True) or the next wait would pass the deadline (False)."""
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
            self._after_send(self._send(batches))

    def _after_send(self, wait: float | None) -> None:
        """Remember when the next request may go: at once, after the server's Retry-After, or after a
        growing backoff. Shared by the delivery thread and the final flush, so neither ignores the other's wait."""
        if not wait:
            self._backoff = 1.0
            return
        if wait < 0:
            wait, self._backoff = self._backoff, min(self._backoff * 2, MAX_BACKOFF_S)
        self._resume_at = time.monotonic() + wait

    def _send(self, batches: list[Batch]) -> float | None:
        """Send batches of one bucket in one request. None on success, else seconds to wait."""
        from influxdb_client.rest import ApiException

        bucket = batches[0].bucket
        batches = [b for b in batches if b.bucket == bucket]  # one request writes one bucket
        try:
            self._write_lines(bucket, [b.lines for b in batches], len(batches))
        except ApiException as err:
            self._write_errors += 1
            return self._handle_refusal(err, batches, _retry_after(err.headers))
        except Exception as err:  # connection refused, reset, timeout
            self._write_errors += 1
            self._report(
                "unreachable",
                f"InfluxDB at {self.settings.url} is not reachable ({_short(err)}); "
                f"{self.spool.backlog()} sweeps wait in the spool",
            )
            return -1.0
        self.spool.remove([b.id for b in batches])
        if self._reported:
            log.info("InfluxDB accepts writes again; delivering %d spooled sweeps", self.spool.backlog())
            self._reported = None
            self._draining = True
        if self._draining and self.spool.backlog() == 0:
            log.info("spool drained: every spooled sweep is in InfluxDB")
            self._draining = False
        return None

    def _handle_refusal(self, err: ApiException, batches: list[Batch], retry_after: float | None) -> float | None:
        status = err.status
        message = (getattr(err, "body", None) or err.reason or "").strip()
        if status in (400, 422):  # malformed, or a field type conflict: sending again cannot help
            if len(batches) > 1:  # find the bad batch by sending one at a time
                return self._send(batches[:1]) or 0.0
            self.spool.reject(batches[0], f"{status} {message}")
            log.error(
                "InfluxDB refused sweep batch %d (%s %s); kept in the spool's 'rejected' table",
                batches[0].id,
                status,
                message[:200],
            )
            return 0.0
        if status == 413:
            if len(batches) > 1:
                return self._send(batches[:1]) or 0.0
            return self._send_in_chunks(batches[0])
        if status in _CONFIGURATION:
            self._report(
                f"config-{status}",
                f"InfluxDB refuses writes ({status} {message[:200]}): check "
                "storage.influxdb url, org, bucket and token; sweeps wait in the spool, retrying every "
                f"{CONFIG_ERROR_RETRY_S:.0f} s",
            )
            return CONFIG_ERROR_RETRY_S
        self._report(
            f"http-{status}",
            f"InfluxDB answered {status} ({message[:200]}); retrying"
            + (f" after {retry_after:g} s as it asked" if retry_after else ""),
        )
        return retry_after if retry_after is not None else -1.0

    def _send_in_chunks(self, batch: Batch, chunk_lines: int = 1000) -> float | None:
        """A single batch too large for the server (413), sent in smaller requests."""
        from influxdb_client.rest import ApiException

        try:
            self._write_lines(batch.bucket, batch.lines.split("\n"), chunk_lines)
        except ApiException as err:
            if err.status == 413:
                self.spool.reject(batch, f"413 even {chunk_lines} points per request are too large for the server")
                log.error(
                    "InfluxDB refuses batch %d even in requests of %d points (413); kept in the spool's "
                    "'rejected' table",
                    batch.id,
                    chunk_lines,
                )
                return 0.0
            return -1.0
        except Exception:
            return -1.0
        self.spool.remove([batch.id])
        return None

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
            wait = self._send(batches)
            self._after_send(wait)
            if wait is None:
                # Bounded drain rate: never more than MAX_POINTS_PER_SECOND.
                pause = sum(b.points for b in batches) / MAX_POINTS_PER_SECOND - (time.monotonic() - started)
                if pause > 0:
                    self._stopping.wait(pause)

    # -- lifecycle ----------------------------------------------------------------------

    @property
    def spool(self) -> Spool:
        if self._spool is None:
            with self._spool_made:
                if self._spool is None:
                    self._spool = Spool(self.settings.spool, self.settings.spool_max_bytes)
        return self._spool

    def close(self, flush_seconds: float = 5.0) -> None:
        """Stop the delivery thread, try to deliver what is left for a few seconds, close."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=flush_seconds + 20)
        if self._spool is None:
            self.client.close()
            return
        if self.spool.backlog():
            self.deliver_pending(deadline=time.monotonic() + flush_seconds)
        left = self.spool.backlog()
        if left:
            log.warning("%d sweeps stay in the spool %s and are delivered at the next start", left, self.settings.spool)
        self.spool.close()
        self.client.close()

    # -- daily rows and reads, for the aggregator -----------------------------------------

    def host_samples(self, pool: str, hosts: Sequence[str], start: float, stop: float) -> Iterator[HostSamples]:
        """Every host of the pool with samples in [start, stop), streamed; found by the pool tag."""
        query = pool_samples_flux(self.settings.bucket, pool, start, stop)
        wanted = set(hosts)
        current: HostSamples | None = None
        with self._talking(f"the samples of pool {pool}"):
            for record in self.client.query_api().query_stream(query, org=self.settings.org):
                host = record.values.get("host")
                if current is None or host != current.host:
                    if current is not None and current.host in wanted:
                        yield current
                    current = HostSamples(host, [], [])
                current.times.append(int(record.get_time().timestamp()))
                current.states.append(bool(record.get_value()))
        if current is not None and current.host in wanted:
            yield current

    def write_days(
        self, host_days: Sequence[HostDay], pool_days: Sequence[PoolDay], pool_hours: Sequence[PoolHour] = ()
    ) -> None:
        """Replace the daily and hourly rows of each (pool, day): delete that day's points first, so changed
        tags leave no stale series behind, then write. One delete per pool and day, by the pool tag alone
        (InfluxDB's delete predicates have no OR): it takes the pool's host_daily, pool_daily and
        pool_hourly points of that day, which is all the daily bucket holds, since only the aggregator
        writes there."""
        with self._talking("the daily rows"):
            self._replace_days(host_days, pool_days, pool_hours)

    def _replace_days(
        self, host_days: Sequence[HostDay], pool_days: Sequence[PoolDay], pool_hours: Sequence[PoolHour]
    ) -> None:
        bucket = self.settings.daily_bucket
        tz = self.config.timezone
        delete_api = self.client.delete_api()
        for pool_day in pool_days:
            # The day: [its midnight, the next midnight), where its daily points and its hours are stamped;
            # the delete API's stop is inclusive.
            start, stop = (
                dt.datetime.fromtimestamp(instant, dt.UTC)
                for instant in (day_start(pool_day.day, tz), day_bounds(pool_day.day, tz)[1] - 1)
            )
            delete_api.delete(
                start, stop, f'pool="{_predicate_escape(pool_day.pool)}"', bucket=bucket, org=self.settings.org
            )
        order = {pool.name: position for position, pool in enumerate(self.config.pools)}
        lines = [daily_point_line(HOST_DAILY, h, day_start(h.day, tz)) for h in host_days]
        lines += [daily_point_line(POOL_DAILY, p, day_start(p.day, tz), order.get(p.pool)) for p in pool_days]
        lines += [point_line(POOL_HOURLY, hour, hour.time) for hour in pool_hours]
        self._write_lines(bucket, lines, MAX_POINTS_PER_REQUEST)

    def _write_lines(self, bucket: str, lines: Sequence[str], per_request: int) -> None:
        """Write lines (each may hold several) with second precision, ``per_request`` of them in each request."""
        from influxdb_client.client.write_api import SYNCHRONOUS
        from influxdb_client.domain.write_precision import WritePrecision

        write = self.client.write_api(write_options=SYNCHRONOUS)
        for offset in range(0, len(lines), per_request):
            write.write(
                bucket=bucket,
                org=self.settings.org,
                record="\n".join(lines[offset : offset + per_request]),
                # WritePrecision's constants are plain strings, which the client's annotation does not admit
                write_precision=WritePrecision.S,  # type: ignore[arg-type]
            )

    @contextlib.contextmanager
    def _talking(self, doing: str) -> Iterator[None]:
        """Turn the client's exceptions into one sentence naming the server and what failed."""
        from influxdb_client.rest import ApiException

        try:
            yield
        except ApiException as err:
            raise StoreError(
                f"InfluxDB at {self.settings.url} refused {doing}: {err.status} "
                f"{(getattr(err, 'message', None) or err.reason or '').strip()[:200]}"
            ) from None
        except (OSError, ValueError) as err:
            raise StoreError(f"Cannot reach InfluxDB at {self.settings.url} for {doing}: {_short(err)}") from None
        except Exception as err:
            if type(err).__module__.startswith("urllib3"):
                raise StoreError(f"Cannot reach InfluxDB at {self.settings.url} for {doing}: {_short(err)}") from None
            raise

    def _single_time(self, query: str) -> float | None:
        with self._talking("a query"):
            for table in self.client.query_api().query(query, org=self.settings.org):
                for record in table.records:
                    return float(record.get_time().timestamp())
        return None

    def first_sample_time(self) -> int | None:
        found = self._single_time(first_sample_flux(self.settings.bucket))
        return int(found) if found is not None else None

    def last_sample_time(self) -> int | None:
        found = self._single_time(last_sample_flux(self.settings.bucket))
        return int(found) if found is not None else None

    def last_aggregated_day(self) -> dt.date | None:
        found = self._single_time(last_daily_flux(self.settings.daily_bucket))
        return local_day(found, self.config.timezone) if found is not None else None

    def pool_days(self, first: dt.date, last: dt.date, pools: Sequence[str] | None = None) -> list[PoolDay]:
        """Stored pool_daily rows for first..last (inclusive), by date then pool."""
        tz = self.config.timezone
        records = self._daily_records(pool_days_flux, first, last, "the daily rows")
        not_tags = {*influx_field_names(POOL_DAILY), "result", "table"}
        rows = []
        for record in records:
            values = record.values
            if pools and values.get("pool") not in pools:
                continue
            # After group() a row has every pool's tag columns, null where its pool has no such tag.
            tags = {
                key: value
                for key, value in values.items()
                if not key.startswith("_") and key not in not_tags and value is not None
            }
            # The stored date where there is one (rows written before it was added have none).
            stored = values.get(DATE_FIELD)
            day = dt.date.fromisoformat(stored) if stored else local_day(record.get_time().timestamp(), tz)
            rows.append(POOL_DAILY.record_from(day, tags, values))
        return rows

    def _daily_records(
        self, flux: Callable[[str, float, float], str], first: dt.date, last: dt.date, what: str
    ) -> list[FluxRecord]:
        """The records a query of the daily bucket gives for the local days first..last (inclusive)."""
        tz = self.config.timezone
        start, stop = day_bounds(first, tz)[0], day_bounds(last, tz)[1]
        with self._talking(what):
            return list(
                self.client.query_api().query_stream(
                    flux(self.settings.daily_bucket, start, stop), org=self.settings.org
                )
            )

    def pool_hours(self, first: dt.date, last: dt.date, pools: Sequence[str] | None = None) -> list[PoolHour]:
        """Stored pool_hourly rows of the local days first..last (inclusive), by time then pool."""
        records = self._daily_records(pool_hours_flux, first, last, "the hourly rows")
        rows = []
        for record in records:
            values = record.values
            if pools and values.get("pool") not in pools:
                continue
            rows.append(POOL_HOURLY.record_from(int(record.get_time().timestamp()), values, values))
        return rows

    def write_samples(self, samples: Iterable[SampleRow]) -> int:
        """Raw ping samples through the spool, all or none (when ``samples`` raises, nothing is
        spooled), then delivered before returning. Streams: memory holds one request of lines."""
        lines = (_PING_LINE(sample, sample.time) for sample in map(Sample._make, samples))
        requests = iter(lambda: list(islice(lines, MAX_POINTS_PER_REQUEST)), [])
        written = self.spool.append_all(self.settings.bucket, requests)
        if not self.deliver_pending(deadline=time.monotonic() + 300):
            raise StoreError(
                f"{self.spool.backlog()} batches could not be delivered yet; they stay in the spool "
                f"{self.settings.spool} and are delivered by the collector or the next import"
            )
        return written


def _predicate_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _short(err: BaseException) -> str:
    """A connection failure in a few plain words, not urllib3's nested reprs."""
    text = str(err)
    for marker, words in _CONNECTION_FAILURES:
        if marker in text:
            return words
    return text.splitlines()[0][:160] if text else type(err).__name__


_CONNECTION_FAILURES = (
    ("Connection refused", "connection refused"),
    ("RemoteDisconnected", "the server closed the connection without answering"),
    ("Connection reset", "the server reset the connection"),
    ("Connection aborted", "the connection was aborted"),
    ("timed out", "timed out"),
    ("Name or service not known", "the host name does not resolve"),
    ("Temporary failure in name resolution", "the host name does not resolve"),
)
