"""What the InfluxDB store's parts share: the client, writing lines, and a failure said in one sentence."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from pinger.config import InfluxSettings
from pinger.errors import StoreError

if TYPE_CHECKING:
    from influxdb_client.client.influxdb_client import InfluxDBClient

# The client's timeout for one request, connecting included (influxdb-client: milliseconds).
TIMEOUT_MS = 15_000


def make_client(settings: InfluxSettings) -> InfluxDBClient:
    """A client for the configured server: gzip, TIMEOUT_MS per request, no retries of its own (the spool
    retries, one-shot commands say what failed)."""
    from influxdb_client.client.influxdb_client import InfluxDBClient

    return InfluxDBClient(
        url=settings.url, token=settings.token, org=settings.org, enable_gzip=True, timeout=TIMEOUT_MS
    )


def write_lines(client: InfluxDBClient, org: str, bucket: str, lines: Sequence[str], per_request: int) -> None:
    """Write lines (each may hold several) with second precision, ``per_request`` of them in each request.
    Raises the client's exceptions: ApiException when the server answered, others when it did not."""
    from influxdb_client.client.write_api import SYNCHRONOUS
    from influxdb_client.domain.write_precision import WritePrecision

    write = client.write_api(write_options=SYNCHRONOUS)
    for offset in range(0, len(lines), per_request):
        write.write(
            bucket=bucket,
            org=org,
            record="\n".join(lines[offset : offset + per_request]),
            # WritePrecision's constants are plain strings, which the client's annotation does not admit
            write_precision=WritePrecision.S,  # type: ignore[arg-type]
        )


@contextlib.contextmanager
def talking(url: str, doing: str) -> Iterator[None]:
    """Turn the client's exceptions into StoreError: one sentence naming the server and what failed."""
    from influxdb_client.rest import ApiException

    try:
        yield
    except ApiException as err:
        raise StoreError(
            f"InfluxDB at {url} refused {doing}: {err.status} "
            f"{(getattr(err, 'message', None) or err.reason or '').strip()[:200]}"
        ) from None
    except (OSError, ValueError) as err:
        raise StoreError(f"Cannot reach InfluxDB at {url} for {doing}: {short(err)}") from None
    except Exception as err:
        if type(err).__module__.startswith("urllib3"):
            raise StoreError(f"Cannot reach InfluxDB at {url} for {doing}: {short(err)}") from None
        raise


def short(err: BaseException) -> str:
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
    ("timed out", f"no answer within {TIMEOUT_MS // 1000} s"),
    ("Name or service not known", "the host name does not resolve"),
    ("Temporary failure in name resolution", "the host name does not resolve"),
)


def predicate_escape(text: str) -> str:
    """A value inside a double-quoted string of a delete predicate."""
    return text.replace("\\", "\\\\").replace('"', '\\"')
