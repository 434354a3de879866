"""The Pinger config for the first system's pools: YAML text with comments, hosts compressed into ranges."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from pinger.config_values import MAX_ADDRESSES_PER_ENTRY


class LegacyPool(NamedTuple):
    """A ``pingerservice.pool`` with its computers' addresses (canonical text)."""

    pk: int
    name: str
    watts: int
    keyboard: str
    printer: bool
    hosts: tuple[str, ...]


def host_entries(addresses: Iterable[str]) -> list[str]:
    """Addresses as config host entries: IPv4 first, then IPv6, each in numeric order; a run of
    consecutive addresses becomes one inclusive range ``first-last`` (at most
    MAX_ADDRESSES_PER_ENTRY addresses, the loader's limit per entry)."""
    parsed = sorted((ipaddress.ip_address(address) for address in addresses), key=lambda a: (a.version, int(a)))
    entries: list[str] = []
    run: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = []
    for address in parsed:
        if (
            run
            and address.version == run[-1].version
            and int(address) == int(run[-1]) + 1
            and len(run) < MAX_ADDRESSES_PER_ENTRY
        ):
            run.append(address)
            continue
        if run:
            entries.append(_entry(run[0], run[-1]))
        run = [address]
    if run:
        entries.append(_entry(run[0], run[-1]))
    return entries


def _entry(
    first: ipaddress.IPv4Address | ipaddress.IPv6Address, last: ipaddress.IPv4Address | ipaddress.IPv6Address
) -> str:
    return str(first) if first == last else f"{first}-{last}"


def duration_text(seconds: int) -> str:
    """Whole seconds as the config writes durations: 5m, 1h, 90s."""
    if seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    if seconds % 60 == 0:
        return f"{seconds // 60}m"
    return f"{seconds}s"


def _quoted(text: str) -> str:
    """A YAML double-quoted scalar (JSON's string syntax is a subset of it)."""
    return json.dumps(text, ensure_ascii=False)


def config_text(
    pools: Sequence[LegacyPool],
    *,
    source: str,
    timezone: str,
    interval_s: int,
    store_path: str,
    left_out: Sequence[str] = (),
    today: dt.date | None = None,
) -> str:
    """The YAML config: the given zone and interval, the embedded store at ``store_path``, one pool
    per legacy pool in the given order. ``left_out`` names pools without computers (a Pinger pool
    needs at least one host), listed in a comment."""
    today = today or dt.date.today()
    lines = [
        f"# Written by `pinger import-legacy` on {today.isoformat()} from {source},",
        "# a backup of the first system (Django: manage.py dumpdata pingerservice).",
        "# One pool per pingerservice.pool: name = room_no, watts = pc_power_consumption (one PC while on),",
        "# tags = keyboard_layout and printer; hosts = its computers, consecutive addresses as ranges.",
        "# The history is in the store below: samples every interval, rebuilt from the first system's",
        "# on-intervals (see docs/legacy.md in Pinger).",
        f"timezone: {timezone}",
        f"interval: {duration_text(interval_s)}  # the first system's ping cadence (--interval)",
        "storage:",
        "  backend: sqlite",
        f"  path: {_quoted(store_path)}",
        "pools:",
    ]
    for pool in pools:
        lines += [
            f"  - name: {_quoted(pool.name)}  # pingerservice.pool pk {pool.pk}",
            f"    watts: {pool.watts}",
            f"    tags: {{keyboard: {_quoted(pool.keyboard)}, printer: {_quoted('yes' if pool.printer else 'no')}}}",
            "    hosts:",
        ]
        lines += [f"      - {_quoted(entry) if ':' in entry else entry}" for entry in host_entries(pool.hosts)]
    if left_out:
        lines.append(
            "# Left out: pools without computers (a Pinger pool needs at least one host): " + ", ".join(left_out)
        )
    return "\n".join(lines) + "\n"
