"""How one configuration value's text becomes a typed value: durations, sizes, times, networks, hosts.

Each converter takes the scalar's text and returns the value, or raises InvalidValue with a
message meant for the user (the loader adds file, line and field). The command line's options use
the same converters (pinger/cli.py turns InvalidValue into argparse's one-sentence error).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
import socket
from collections.abc import Callable
from itertools import pairwise
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .config import BACKENDS, WEEKDAYS

T = TypeVar("T")

MAX_ADDRESSES_PER_ENTRY = 65536
MAX_DURATION = 86400.0  # seconds: interval, ping.timeout and aggregate.hold are at most one day
MIN_INTERVAL = 1.0  # seconds: samples are stored on whole seconds
MAX_WATTS = 10000.0  # one PC drawing more than 10 kW is a unit mistake (kW or mW written as W)


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$")


_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)"
    r"(\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$"
)


_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")


class InvalidValue(Exception):
    """A field's value is wrong; the message says why."""


def parse_duration(text: str) -> float:
    """'5m' -> 300.0 seconds; units ms, s, m, h."""
    match = _DURATION.match(text)
    if not match:
        raise InvalidValue(f"{text!r} is not a duration (write e.g. 500ms, 30s, 5m, 1h)")
    seconds = float(match.group(1)) * _DURATION_UNITS[match.group(2)]
    if seconds <= 0:
        raise InvalidValue("must be longer than zero")
    if not seconds <= MAX_DURATION:  # also inf, from a number too long for a float
        raise InvalidValue("must be at most 24h (one day)")
    return seconds


def interval(text: str) -> float:
    """A sweep interval: a duration of at least one second."""
    seconds = parse_duration(text)
    if seconds < MIN_INTERVAL:
        raise InvalidValue("must be at least 1s: samples are stored on whole seconds")
    return seconds


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB)\s*$", re.I)


_SIZE_UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12}


def parse_size(text: str) -> int:
    """'500MB' -> 500000000 bytes; units B, KB, MB, GB, TB (powers of 1000)."""
    match = _SIZE.match(text)
    if not match:
        raise InvalidValue(f"{text!r} is not a size (write e.g. 500MB, 2GB)")
    size = int(float(match.group(1)) * _SIZE_UNITS[match.group(2).lower()])
    if size < 10**6:
        raise InvalidValue("must be at least 1MB")
    return size


def _parsed(text: str, parse: Callable[[str], T], what: str) -> T:
    """``parse(text)``; its ValueError as InvalidValue saying the text is not ``what``."""
    try:
        return parse(text)
    except ValueError:
        raise InvalidValue(f"{text!r} is not {what}") from None


def nonnegative_number(text: str) -> float:
    value = _parsed(text, float, "a number")
    if not value >= 0 or value == float("inf"):
        raise InvalidValue("must be a number of zero or more")
    return value


def fraction(text: str) -> float:
    """A share of a whole, from 0 to 1 (both included)."""
    value = _parsed(text, float, "a number")
    if not 0.0 <= value <= 1.0:
        raise InvalidValue(f"{text} is not between 0 and 1")
    return value


def watts(text: str) -> float:
    """A PC's draw in watts: zero or more, at most MAX_WATTS."""
    value = nonnegative_number(text)
    if value > MAX_WATTS:
        raise InvalidValue(f"must be at most {MAX_WATTS:g} W (10 kW): is the unit watts?")
    return value


def nonnegative_int(text: str) -> int:
    value = _parsed(text, int, "a whole number")
    if value < 0:
        raise InvalidValue("must be zero or more")
    return value


def positive_int(text: str) -> int:
    value = _parsed(text, int, "a whole number")
    if value < 1:
        raise InvalidValue("must be 1 or more")
    return value


def timezone(text: str) -> ZoneInfo:
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidValue(f"{text!r} is not an IANA time zone name (e.g. Europe/Berlin)") from None


def clock(text: str, allow_24: bool = False) -> int:
    """'08:30' -> minutes after midnight."""
    match = _CLOCK.match(text.strip())
    if not match:
        raise InvalidValue(f"{text!r} is not a time of day (write HH:MM)")
    hours, minutes = int(match.group(1)), int(match.group(2))
    if (hours, minutes) == (24, 0) and allow_24:
        return 1440
    if hours > 23 or minutes > 59:
        raise InvalidValue(f"{text!r} is not a time of day (write HH:MM)")
    return hours * 60 + minutes


def time_of_day(text: str) -> dt.time:
    minutes = clock(text)
    return dt.time(minutes // 60, minutes % 60)


def date(text: str) -> dt.date:
    return _parsed(text.strip(), dt.date.fromisoformat, "a date (YYYY-MM-DD)")


def privileged(text: str) -> bool | None:
    lowered = text.strip().lower()
    if lowered == "auto":
        return None
    if lowered in ("true", "yes", "on"):
        return True
    if lowered in ("false", "no", "off"):
        return False
    raise InvalidValue(f"{text!r} is not one of auto, true, false")


def network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        raise InvalidValue(f"{text!r} is not a network (write e.g. 10.1.0.0/16 or fd00:1::/64)") from None


def nonempty(text: str) -> str:
    if not text.strip():
        raise InvalidValue("must not be empty")
    return text.strip()


def backend(text: str) -> str:
    if text not in BACKENDS:
        raise InvalidValue(f"{text!r} is not a storage backend ({' or '.join(BACKENDS)})")
    return text


def url(text: str) -> str:
    if not re.match(r"^https?://[^\s/]+", text):
        raise InvalidValue(f"{text!r} is not an http:// or https:// URL")
    return text.rstrip("/")


def ipv4(text: str) -> ipaddress.IPv4Address:
    try:
        return ipaddress.IPv4Address(text)
    except ValueError:
        raise InvalidValue(f"{text!r} is not an IPv4 address") from None


def ipv6(text: str) -> ipaddress.IPv6Address:
    try:
        address = ipaddress.IPv6Address(text)
    except ValueError:
        raise InvalidValue(f"{text!r} is not an IPv6 address") from None
    if address.scope_id:  # "::1%lo": a zone index names an interface; loopback with one is no link-local address
        raise InvalidValue(f"{text!r} carries a zone index (%{address.scope_id}); write the address without it")
    if address.ipv4_mapped is not None:
        raise InvalidValue(f"{text!r} is an IPv4-mapped address; list {address.ipv4_mapped} instead")
    if address.is_link_local:
        raise InvalidValue(f"{text!r} is link-local and would need an interface; list a global or unique-local address")
    return address


def dotted(address: int) -> str:
    return socket.inet_ntoa(address.to_bytes(4, "big"))  # 10x faster than ipaddress for big ranges


def as_int(address: str) -> int:
    """An IPv4 or IPv6 address in canonical text as a number (of its own version's range)."""
    if ":" in address:
        return int.from_bytes(socket.inet_pton(socket.AF_INET6, address), "big")
    return int.from_bytes(socket.inet_aton(address), "big")


def expand_host_spec(text: str) -> tuple[list[str], bool]:
    """Expand one host entry to its host names; the flag says whether they are IP addresses.

    Forms: an IPv4 or IPv6 address; an inclusive range ``a-b`` (``10.0.0.5-10.0.0.9``,
    ``10.0.0.5-9``, ``fd00::5-fd00::9``); a CIDR network (IPv4 without its network and broadcast
    addresses up to /30, IPv6 without its subnet-router anycast address up to /126); a DNS name.
    Addresses come out in canonical form (IPv6 compressed and in lower case), so that one
    address has one name in the samples however the config spells it.
    """
    _count, expand, is_address = _host_spec(text)
    return expand(), is_address


def host_spec_size(text: str) -> int:
    """How many hosts ``expand_host_spec(text)`` gives, without making their names.

    An entry without '/' or '-' is one address or one name (or a mistake): 1, without parsing it.
    """
    if "/" not in text and "-" not in text:
        return 1
    return _host_spec(text)[0]


_HostSpec = tuple[int, Callable[[], list[str]], bool]  # how many hosts, a function making their names, addresses?


def _host_spec(text: str) -> _HostSpec:
    """An entry's number of hosts, a function making their names, and whether they are addresses."""
    text = text.strip()
    if "/" in text:
        return _cidr(text)
    if "-" in text and ":" in text:
        first_text, last_text = (part.strip() for part in text.split("-", 1))
        first, last = ipv6(first_text), ipv6(last_text)
        count = _range_count(text, int(first), int(last))
        return count, lambda: [str(first + i) for i in range(count)], True
    if re.match(r"^\d+\.\d+\.\d+\.\d+\s*-\s*\d+(\.\d+\.\d+\.\d+)?$", text):
        first_text, last_text = (part.strip() for part in text.split("-"))
        if "." not in last_text:
            last_text = first_text.rsplit(".", 1)[0] + "." + last_text
        first_v4, last_v4 = ipv4(first_text), ipv4(last_text)
        count = _range_count(text, int(first_v4), int(last_v4))
        return count, lambda: [dotted(int(first_v4) + i) for i in range(count)], True
    if re.match(r"^[\d.]+$", text):
        name = str(ipv4(text))
        return 1, lambda: [name], True
    if ":" in text:
        name = str(ipv6(text))
        return 1, lambda: [name], True
    if not _HOSTNAME.match(text):
        raise InvalidValue(f"{text!r} is neither an IP address, a range a-b, a CIDR network nor a DNS name")
    name = text.rstrip(".").lower()
    return 1, lambda: [name], False


def _cidr(text: str) -> _HostSpec:
    """A CIDR network entry: IPv4 leaves out the network and broadcast addresses up to /30, IPv6 the
    subnet-router anycast address up to /126 (what ipaddress's hosts() does)."""
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise InvalidValue(f"{text!r} is not a CIDR network (write e.g. 10.1.2.0/28 or fd00:1::/120)") from None
    if ipaddress.ip_address(text.split("/")[0]) != network.network_address:
        raise InvalidValue(f"{text!r} has host bits set; did you mean {network}?")
    if network.version == 6:
        ipv6(str(network.network_address))  # refuses link-local and IPv4-mapped networks
    if network.num_addresses > MAX_ADDRESSES_PER_ENTRY + 2:
        raise InvalidValue(f"{text!r} holds more than {MAX_ADDRESSES_PER_ENTRY} addresses; split it")
    every = network.prefixlen >= network.max_prefixlen - 1
    count = network.num_addresses if every else network.num_addresses - (2 if network.version == 4 else 1)

    def cidr_names() -> list[str]:
        addresses = list(network.hosts()) if network.version == 6 or network.prefixlen < 31 else list(network)
        return [str(a) for a in addresses]

    return count, cidr_names, True


def _range_count(text: str, first: int, last: int) -> int:
    count = last - first + 1
    if count < 1:
        raise InvalidValue(f"range {text!r} ends before it starts")
    if count > MAX_ADDRESSES_PER_ENTRY:
        raise InvalidValue(f"range {text!r} holds more than {MAX_ADDRESSES_PER_ENTRY} addresses; split it")
    return count


def weekdays(key: str) -> list[int]:
    """'mon-fri' / 'sat,sun' / 'mon' -> weekday numbers (0 = Monday)."""
    days: list[int] = []
    for part in key.lower().split(","):
        part = part.strip()
        if "-" in part:
            first, last = (p.strip() for p in part.split("-", 1))
            if first not in WEEKDAYS or last not in WEEKDAYS:
                raise InvalidValue(f"{key!r} is not a day range (write e.g. mon-fri)")
            start, stop = WEEKDAYS.index(first), WEEKDAYS.index(last)
            if stop < start:
                raise InvalidValue(f"{key!r} runs backwards; write e.g. mon-fri")
            days.extend(range(start, stop + 1))
        elif part in WEEKDAYS:
            days.append(WEEKDAYS.index(part))
        else:
            raise InvalidValue(f"{part!r} is not a weekday (mon, tue, wed, thu, fri, sat, sun)")
    return days


def periods(text: str, wrap_midnight: bool = False) -> list[tuple[int, int]]:
    """'08:00-12:00, 13:00-20:00' -> [(480, 720), (780, 1200)]; 'closed' -> [].

    With ``wrap_midnight`` (tariffs) '22:00-06:00' is both ends of the same day: [(0, 360), (1320, 1440)].
    """
    if text.strip().lower() == "closed":
        return []
    periods = []
    for part in text.split(","):
        if part.count("-") != 1:
            raise InvalidValue(f"{part.strip()!r} is not an opening period (write HH:MM-HH:MM)")
        start_text, end_text = part.split("-")
        start, end = clock(start_text), clock(end_text, allow_24=True)
        if wrap_midnight and end < start:
            periods += [(0, end)] if end else []
            periods.append((start, 1440))
            continue
        if end <= start:
            raise InvalidValue(f"{part.strip()!r} ends before it starts (periods cannot cross midnight)")
        periods.append((start, end))
    periods.sort()
    for (_, end), (start, _) in pairwise(periods):
        if start < end:
            raise InvalidValue(f"opening periods {text!r} overlap")
    return periods


def price(text: str) -> float:
    """A price per kWh: a finite number of zero or more."""
    try:
        return nonnegative_number(text)
    except InvalidValue:
        raise InvalidValue(f"{text!r} is not a price (a number of zero or more, per kWh, e.g. 0.32)") from None


def positive_rate(text: str) -> float:
    value = nonnegative_number(text)
    if value <= 0:
        raise InvalidValue("must be more than zero packets per second")
    return value


_POOL_NAME = re.compile(r"^[^\W_][\w .-]*\Z")
# C0 and C1 controls and DEL: InfluxDB line protocol cannot carry a line feed in a tag at all, and the
# others break CSV cells, terminals and Grafana labels.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def pool_name(text: str) -> str:
    name = text.strip()
    if not _POOL_NAME.match(name):
        refuse_control_characters(name)
        raise InvalidValue(f"{text!r} is not a pool name (letters, digits, space, . _ -)")
    return name


def refuse_control_characters(text: str) -> str:
    """The text, unless it holds a control character; then InvalidValue naming it."""
    found = _CONTROL.search(text)
    if found:
        raise InvalidValue(
            f"{text!r} holds a control character (U+{ord(found.group()):04X}): names and tags go into InfluxDB "
            "line protocol and CSV, which cannot carry it"
        )
    return text


def label(text: str) -> str:
    """A free-form name or tag (collector name, tag key or value): not empty, no control characters."""
    return refuse_control_characters(nonempty(text))
