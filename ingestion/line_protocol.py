"""Import raw ``ping`` samples from InfluxDB line protocol into the configured store, all or nothing."""

from __future__ import annotations

import ipaddress
import logging
from pathlib import Path

from pinger.config import Config
from pinger.errors import MalformedImportError, PingerError
from pinger.lineprotocol import LinePoint, LineProtocolError, parse_line
from pinger.models import Sample
from pinger.schema import PING
from pinger.store import open_history_store

log = logging.getLogger("pinger.import")

MAX_REPORTED_ERRORS = 20


def read_samples(path: Path, precision: str) -> tuple[list[Sample], int]:
    """Every ``ping`` sample of the file, and the number of lines of other measurements skipped.

    Raises MalformedImportError listing the malformed lines (up to 20) when there are any.
    """
    samples: list[Sample] = []
    problems: list[str] = []
    skipped = 0
    try:
        handle = path.open(encoding="utf-8")
    except OSError as err:
        raise PingerError(f"cannot read {path}: {err.strerror or err}") from None
    with handle:
        for number, line in enumerate(handle, start=1):
            try:
                point = parse_line(line, number, precision)
                if point is None:
                    continue
                if point.measurement != PING.name:
                    skipped += 1
                    continue
                samples.append(_as_sample(point, number))
            except LineProtocolError as err:
                problems.append(f"{path}:{err.line_number}: {str(err).split(': ', 1)[1]}")
            except UnicodeDecodeError:
                problems.append(f"{path}:{number}: not UTF-8 text")
    if problems:
        more = len(problems) - MAX_REPORTED_ERRORS
        shown = problems[:MAX_REPORTED_ERRORS] + ([f"… and {more} more malformed lines"] if more > 0 else [])
        raise MalformedImportError("nothing imported; malformed lines:\n" + "\n".join(shown))
    return samples, skipped


def _as_sample(point: LinePoint, number: int) -> Sample:
    pool, host = point.tags.get("pool"), point.tags.get("host")
    if not pool or not host:
        raise LineProtocolError(number, "a ping point needs the tags pool and host")
    up = point.fields.get("up")
    if isinstance(up, bool):
        up = int(up)
    if up not in (0, 1):
        raise LineProtocolError(number, "a ping point needs the field up = 0 or 1")
    if point.time_ns is None:
        raise LineProtocolError(number, "a ping point needs a timestamp")
    rtt = point.fields.get("rtt_ms")
    if rtt is not None and (isinstance(rtt, (bool, str))):
        raise LineProtocolError(number, "rtt_ms must be a number")
    return Sample(point.time_ns // 1_000_000_000, pool, _canonical(host), int(up),
                  float(rtt) if rtt is not None and up else None)


def _canonical(host: str) -> str:
    """An IPv6 address in the form the config and the collector use (``FD00:0::1`` -> ``fd00::1``)."""
    if ":" in host:
        try:
            return str(ipaddress.IPv6Address(host))
        except ValueError:
            pass
    return host


def import_file(config: Config, path: Path, precision: str = "ns") -> int:
    samples, skipped = read_samples(path, precision)
    store = open_history_store(config)
    try:
        written = store.write_samples(samples)
    finally:
        store.close()
    log.info("imported %d ping samples from %s%s", written, path,
             f"; skipped {skipped} lines of other measurements" if skipped else "")
    unknown = {sample.host for sample in samples} - {h.name for p in config.pools for h in p.hosts}
    if unknown:
        log.warning("%d imported hosts are not in the config and will not be aggregated (e.g. %s)",
                    len(unknown), sorted(unknown)[0])
    return written
