"""Load a YAML config into typed objects, reporting every problem as FILE:LINE: path: message.

Three steps, a module each: pinger.config_file reads the file safely and composes its YAML document;
pinger.config_reader walks the document's nodes, collecting problems; this module says what each section
holds and checks what spans sections (hosts listed twice, a sweep that fits the interval, study phases of
configured pools). YAML scalars are read as plain strings (no YAML 1.1 guessing: ``no`` stays "no",
``00:30`` is not sexagesimal 30) and each field converts its own value (pinger.config_values). A field left
out keeps its type's default (pinger.config), which is written there only.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml

from . import config_values as values
from .config import (
    DEFAULT_INTERVAL_S,
    WEEKDAYS,
    AggregateSettings,
    Config,
    Energy,
    Host,
    InfluxSettings,
    OpeningHours,
    Phase,
    PingSettings,
    Pool,
    StorageSettings,
    Study,
    Tariff,
)
from .config_file import compose_document, file_kind, read_config_text
from .config_reader import MERGE_TAG, Fields, Problems, Reader, join, nfc
from .errors import ConfigError

T = TypeVar("T")

MAX_HOSTS = 1_000_000  # hosts in all pools together, counted before any is expanded


# -- sections -------------------------------------------------------------------

_TOP = {"timezone", "interval", "collector", "ping", "allow", "storage", "aggregate", "pools", "study", "energy"}


def _opening_hours(reader: Reader, node: yaml.Node, path: str, wrap_midnight: bool = False) -> OpeningHours | None:
    fields = reader.mapping(node, path, None)
    if not fields:
        return None
    per_day: list[list[tuple[int, int]]] = [[] for _ in WEEKDAYS]
    assigned: dict[int, str] = {}
    for key, value_node in fields.items():
        full = join(path, key)
        try:
            days = values.weekdays(key)
            periods = values.periods(reader.text(value_node, full), wrap_midnight)
        except values.InvalidValue as err:
            reader.invalid(value_node, full, err)
            continue
        for day in days:
            if day in assigned:
                reader.problems.add(value_node, full, f"{WEEKDAYS[day]} is already given by {assigned[day]!r}")
                continue
            assigned[day] = key
            per_day[day] = periods
    return OpeningHours(tuple(tuple(sorted(periods)) for periods in per_day))


def _energy(reader: Reader, node: yaml.Node | None) -> Energy:
    """The ``energy:`` section: prices per kWh, time-of-use tariffs that never overlap, CO2 intensity."""
    fields = reader.mapping(node, "energy", {"currency", "price", "tariffs", "co2_g_per_kwh"})
    price = reader.field(fields, "price", values.price, default=None)
    tariffs: list[Tariff] = []
    taken: list[list[tuple[int, int, int]]] = [[] for _ in WEEKDAYS]  # per weekday: (start, end, tariff index)
    for index, tariff_node in enumerate(reader.sequence(fields.get("tariffs"), "energy.tariffs")):
        path = f"energy.tariffs[{index}]"
        tariff_fields = reader.mapping(tariff_node, path, {"price", "at"})
        tariff_price = reader.field(tariff_fields, "price", values.price, required=True)
        at_node = tariff_fields.get("at")
        known = len(reader.problems.items)
        hours = _opening_hours(reader, at_node, join(path, "at"), wrap_midnight=True) if at_node else None
        if at_node is None or reader.is_null(at_node) or (hours is None and len(reader.problems.items) == known):
            # Missing, null, or an empty mapping ({}): a tariff in force at no time would be dropped silently.
            reader.problems.add(
                at_node if at_node is not None else tariff_node,
                join(path, "at"),
                'required: the weekly periods the price is in force, e.g. {mon-fri: "22:00-06:00"}',
            )
        if tariff_price is None or hours is None:
            continue
        clash = _tariff_overlap(hours, taken, index)
        if clash is not None:
            reader.problems.add(at_node, join(path, "at"), clash)
            continue
        tariffs.append(Tariff(tariff_price, hours))
    if tariffs and price is None and not reader.given(fields, "price"):
        reader.problems.add(
            fields.get("tariffs"),
            "energy.price",
            "required with tariffs: the price per kWh wherever no tariff is in force",
        )
    return Energy(
        currency=reader.field(fields, "currency", values.nonempty, default=None),
        price=price,
        tariffs=tuple(tariffs),
        co2_g_per_kwh=reader.field(fields, "co2_g_per_kwh", values.nonnegative_number, default=None),
    )


def _tariff_overlap(hours: OpeningHours, taken: list[list[tuple[int, int, int]]], index: int) -> str | None:
    """Why a tariff's periods overlap an earlier tariff's (None when they do not); records them when they do not."""
    for day, periods in enumerate(hours.periods):
        for start, end in periods:
            for other_start, other_end, other in taken[day]:
                if start < other_end and other_start < end:
                    return (
                        f"overlaps energy.tariffs[{other}] on {WEEKDAYS[day]} "
                        f"({_hhmm(max(start, other_start))}-{_hhmm(min(end, other_end))}); "
                        "tariffs must not overlap"
                    )
    for day, periods in enumerate(hours.periods):
        taken[day].extend((start, end, index) for start, end in periods)
    return None


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def load_config(
    path: str | os.PathLike[str], environ: dict[str, str] | None = None, *, allow_unset_env: bool = False
) -> Config:
    """Read and validate a config file; raise ConfigError listing every problem.

    ``allow_unset_env`` (for check-config) lets a ${VAR} whose variable is not set pass: the
    value it is part of is left out (its field keeps its default, a host entry is skipped) and
    the rest is checked in full. A config loaded so is for checking, not for running.
    """
    source = str(path)
    text = read_config_text(path, source)
    return parse_config(
        text, source, os.environ.copy() if environ is None else environ, allow_unset_env=allow_unset_env
    )


def reload_config(path: str | os.PathLike[str], running: Config) -> Config:
    """The file's config when it is valid; otherwise log every problem and keep the running one.

    Storage settings only change with a restart: a reload keeps the running ones.
    """
    import logging

    log = logging.getLogger("pinger")
    try:
        fresh = load_config(path)
    except ConfigError as err:
        log.error("config reload rejected, keeping the running config:\n%s", err)
        return running
    if fresh.storage != running.storage:
        log.warning("config reload: storage settings changed; they take effect after a restart")
        fresh = fresh._replace(storage=running.storage)
    return fresh


def parse_config(text: str, source: str, environ: dict[str, str], *, allow_unset_env: bool = False) -> Config:
    """A config's text (from ``source``, named in every problem) as a Config; raise ConfigError listing every
    problem. ``environ``: where ${VAR}s come from."""
    root = compose_document(text, source)
    problems = Problems(source)
    reader = Reader(problems, environ, allow_unset_env)
    top = reader.mapping(root, "", _TOP)
    _check_host_count(reader, top.get("pools"))

    timezone = reader.field(top, "timezone", values.timezone, required=True)
    interval_value = reader.field(top, "interval", values.interval)
    interval = DEFAULT_INTERVAL_S if interval_value is None else interval_value

    collector_fields = reader.mapping(top.get("collector"), "collector", {"name"})
    collector_name = reader.field(collector_fields, "name", values.label, default=None) or socket.gethostname()

    ping_fields = reader.mapping(top.get("ping"), "ping", {"timeout", "retries", "rate", "privileged"})
    timeout = reader.field(ping_fields, "timeout", values.parse_duration)
    retries = reader.field(ping_fields, "retries", values.nonnegative_int)
    ping = _given(
        PingSettings,
        timeout=timeout,
        retries=retries,
        rate=reader.field(ping_fields, "rate", values.positive_rate),
        privileged=reader.field(ping_fields, "privileged", values.privileged),
    )
    # Only when all three are known: a bad (or unknown) one is reported on its own.
    sweep_settings_known = all(
        value is not None or not reader.given(fields, name)
        for value, fields, name in (
            (interval_value, top, "interval"),
            (timeout, ping_fields, "timeout"),
            (retries, ping_fields, "retries"),
            (ping.rate if "rate" in ping_fields else None, ping_fields, "rate"),
        )
    )

    allow: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] | None = None
    if "allow" in top and not reader.is_null(top["allow"]):
        networks = []
        for index, item in enumerate(reader.sequence(top["allow"], "allow")):
            try:
                networks.append(values.network(reader.text(item, f"allow[{index}]")))
            except values.InvalidValue as err:
                reader.invalid(item, f"allow[{index}]", err)
        allow = tuple(networks)

    storage = _storage(reader, top.get("storage"), source)

    aggregate_fields = reader.mapping(top.get("aggregate"), "aggregate", {"at", "hold", "recheck_days"})
    aggregate = _given(
        AggregateSettings,
        hold=reader.field(aggregate_fields, "hold", values.parse_duration) or interval,
        at=reader.field(aggregate_fields, "at", values.time_of_day),
        recheck_days=reader.field(aggregate_fields, "recheck_days", values.nonnegative_int),
    )

    pools = _pools(reader, top.get("pools"), allow)
    if sweep_settings_known:
        _check_sweep_fits(reader, top, ping_fields, ping, interval, sum(len(pool.hosts) for pool in pools))
    study = _study(reader, top.get("study"), {pool.name for pool in pools})
    energy = _energy(reader, top.get("energy"))

    if "pools" not in top:
        problems.items.append((1, f"{source}:1: pools: required (a list of pools with their hosts)"))
    problems.raise_if_any()
    return Config(
        source=Path(source),
        timezone=timezone,
        interval=interval,
        collector_name=collector_name,
        ping=ping,
        allow=allow,
        storage=storage,
        aggregate=aggregate,
        pools=tuple(pools),
        study=study,
        energy=energy,
    )


def _first_value(node: yaml.Node, key: str, depth: int = 0) -> yaml.Node | None:
    """The value of ``key`` in a mapping node as the reader will see it: its own, else a merged (<<) one."""
    if not isinstance(node, yaml.MappingNode):
        return None
    merged: list[yaml.Node] = []
    for key_node, value_node in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            continue
        if key_node.tag == MERGE_TAG:
            merged += value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
        elif key_node.value == key:
            found: yaml.Node = value_node
            return found
    if depth < 100:  # merges of merges: no deeper than a config anyone writes (and never in a cycle)
        for source in merged:
            value = _first_value(source, key, depth + 1)
            if value is not None:
                return value
    return None


def _check_host_count(reader: Reader, pools_node: yaml.Node | None) -> None:
    """Refuse more than MAX_HOSTS hosts in all pools, counted from the entries without expanding them.

    Malformed pools and entries count nothing here; the walk reports them.
    """
    if not isinstance(pools_node, yaml.SequenceNode):
        return
    per_list: dict[int, int] = {}  # a hosts list reached through aliases is counted once
    total = 0
    for pool_node in pools_node.value:
        hosts_node = _first_value(pool_node, "hosts")
        if not isinstance(hosts_node, yaml.SequenceNode):
            continue
        if id(hosts_node) not in per_list:
            count = 0
            for entry in hosts_node.value:
                spec = _first_value(entry, "host") if isinstance(entry, yaml.MappingNode) else entry
                if isinstance(spec, yaml.ScalarNode):
                    try:
                        count += values.host_spec_size(reader.text(spec, ""))
                    except values.InvalidValue:
                        pass
            per_list[id(hosts_node)] = count
        total += per_list[id(hosts_node)]
    if total > MAX_HOSTS:
        line = pools_node.start_mark.line + 1
        raise ConfigError(
            [
                f"{reader.problems.source}:{line}: pools: the pools hold {total:,} hosts, "
                f"more than the {MAX_HOSTS:,} a config may have"
            ]
        )


def _check_sweep_fits(
    reader: Reader, top: Fields, ping_fields: Fields, ping: PingSettings, interval: float, hosts: int
) -> None:
    """A sweep must end before the next one is due, also when every host is silent (at night, most are).

    Each round sends one request to every host still silent, paced at ``rate`` per second, then waits
    ``timeout`` after the last one; a sweep has 1 + ``retries`` rounds. So the longest sweep is
    (1 + retries) × (hosts / rate + timeout). The waiting alone, timeout × (1 + retries), is checked
    first: it is too long whatever the number of hosts, and the message says so.
    """
    rounds = 1 + ping.retries
    retries = f"{ping.retries} {'retry' if ping.retries == 1 else 'retries'}"
    waiting = ping.timeout * rounds
    if round(waiting, 6) >= interval:
        node = ping_fields.get("timeout") or ping_fields.get("retries") or ping_fields.node or top.get("interval")
        reader.problems.add(
            node,
            "ping.timeout",
            f"{ping.timeout:g}s × (1 + {retries}) = {waiting:g}s is not shorter than the interval "
            f"{interval:g}s: a sweep could not finish before the next one is due",
        )
        return
    longest = rounds * (hosts / ping.rate + ping.timeout)
    if round(longest, 6) < interval:
        return
    node = ping_fields.get("rate") or ping_fields.node or top.get("interval") or top.get("pools")
    reader.problems.add(
        node,
        "ping.rate",
        f"a sweep of {hosts} hosts at {ping.rate:g} requests/s takes up to (1 + {retries}) × "
        f"({hosts} / {ping.rate:g}/s + {ping.timeout:g}s timeout) = {longest:.1f}s, not shorter than the "
        f"interval {interval:g}s; raise ping.rate or the interval, or split the pools among collectors",
    )


def _storage(reader: Reader, node: yaml.Node | None, source: str) -> StorageSettings:
    """The storage section, taken as written (no NFC: paths and secrets are exact); the store's local file
    must be a regular file or not there yet, and not this config file."""
    fields = reader.mapping(node, "storage", {"backend", "path", "influxdb"})
    backend = reader.field(fields, "backend", values.backend, exact=True)
    path = reader.field(fields, "path", lambda t: Path(values.nonempty(t)), exact=True)
    _check_store_file(reader, fields, "path", path, source)
    influx = None
    influx_node = fields.get("influxdb")
    if backend == "influxdb" or (influx_node is not None and not reader.is_null(influx_node)):
        if influx_node is None or reader.is_null(influx_node):
            reader.problems.add(
                fields.get("backend"), "storage.influxdb", "required when backend is influxdb (url, org, bucket, token)"
            )
        else:
            known = {"url", "org", "bucket", "daily_bucket", "token", "spool", "spool_max"}
            influx_fields = reader.mapping(influx_node, "storage.influxdb", known)
            influx = _given(
                InfluxSettings,
                url=reader.field(influx_fields, "url", values.url, default="", required=True, exact=True),
                org=reader.field(influx_fields, "org", values.nonempty, default="", required=True, exact=True),
                bucket=reader.field(influx_fields, "bucket", values.nonempty, default="", required=True, exact=True),
                token=reader.field(influx_fields, "token", values.nonempty, default="", required=True, exact=True),
                daily_bucket=reader.field(influx_fields, "daily_bucket", values.nonempty, exact=True),
                spool=reader.field(influx_fields, "spool", lambda t: Path(values.nonempty(t)), exact=True),
                spool_max_bytes=reader.field(influx_fields, "spool_max", values.parse_size),
            )
            _check_store_file(reader, influx_fields, "spool", influx.spool, source)
    return _given(StorageSettings, backend=backend, path=path, influxdb=influx)


def _given(make: Callable[..., T], **fields: Any) -> T:
    """A settings record of the fields the config gives (not None); the others take the type's default."""
    return make(**{name: value for name, value in fields.items() if value is not None})


def _check_store_file(reader: Reader, fields: Fields, name: str, path: Path | None, source: str) -> None:
    """The store's (or spool's) file must be a regular file, or not there yet (it is created): not /dev/null,
    a directory or a FIFO, on which SQLite fails with "disk I/O error" after leaving files beside it, and not
    the config file itself."""
    if path is None or name not in fields:
        return
    try:
        found = os.stat(path)
    except (OSError, ValueError):
        return  # not there yet, or not reachable now: opening the store says why when it matters
    kind = file_kind(found.st_mode)
    if kind is not None:
        reader.problems.add(
            fields[name],
            join(fields.path, name),
            f"{path} is {kind}, not a store file; name a file (it is created when missing)",
        )
        return
    try:
        config = os.stat(source)
    except OSError:
        return
    if (found.st_dev, found.st_ino) == (config.st_dev, config.st_ino):
        reader.problems.add(
            fields[name], join(fields.path, name), f"{path} is this config file; name the store's own file"
        )


_POOL_FIELDS = {"name", "watts", "standby_watts", "open", "tags", "hosts"}

Networks = tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]


def _pools(reader: Reader, node: yaml.Node | None, allow: Networks | None) -> list[Pool]:
    """The pools, each name once; every host once in all pools (a second listing is a problem at its line)."""
    pools: list[Pool] = []
    pool_lines: dict[str, int] = {}
    hosts = _HostList(reader, allow)
    items = reader.sequence(node, "pools")
    if node is not None and not items:
        reader.problems.add(node, "pools", "the list is empty; add at least one pool with hosts")
    for index, pool_node in enumerate(items):
        path = f"pools[{index}]"
        fields = reader.mapping(pool_node, path, _POOL_FIELDS)
        name = reader.field(fields, "name", values.pool_name, required=True)
        if name in pool_lines:
            reader.problems.add(
                fields["name"], join(path, "name"), f"pool {name!r} is already defined at line {pool_lines[name]}"
            )
        elif name is not None:
            pool_lines[name] = fields["name"].start_mark.line + 1
        watts = reader.field(fields, "watts", values.watts, required=True)
        standby = reader.field(fields, "standby_watts", values.watts) or 0.0
        opening = _opening_hours(reader, fields["open"], join(path, "open")) if "open" in fields else None
        tags = _tags(reader, fields.get("tags"), join(path, "tags"))
        host_nodes = reader.sequence(fields.get("hosts"), join(path, "hosts"))
        if not host_nodes:
            reader.problems.add(fields.get("hosts", pool_node), join(path, "hosts"), "required: at least one host")
        pool_hosts = [
            host
            for host_index, host_node in enumerate(host_nodes)
            for host in hosts.entry(host_node, f"{path}.hosts[{host_index}]", name or "?", watts, standby)
        ]
        pools.append(
            Pool(
                name=name or f"#{index}",
                watts=watts or 0.0,
                standby_watts=standby,
                hosts=tuple(pool_hosts),
                tags=tags,
                open=opening,
            )
        )
    return pools


class _HostList:
    """The hosts of all pools, read entry by entry: each entry expanded (ranges, networks), checked against
    ``allow:``, and every host remembered with its line, so that one listed again is a problem there."""

    def __init__(self, reader: Reader, allow: Networks | None):
        self.reader = reader
        self.allow = allow
        self.lines: dict[str, tuple[int, str]] = {}  # host -> (line, pool) where it was first listed
        self.allowed_spans = {
            version: [(int(n.network_address), int(n.broadcast_address)) for n in allow or () if n.version == version]
            for version in (4, 6)
        }

    def entry(self, node: yaml.Node, path: str, pool: str, watts: float | None, standby: float) -> list[Host]:
        """The hosts of one entry of a pool's list: a host spec, or ``{host: spec, watts: W}``."""
        reader = self.reader
        spec_node = node
        if isinstance(node, yaml.MappingNode):
            fields = reader.mapping(node, path, {"host", "watts"})
            if "host" not in fields:
                reader.problems.add(node, join(path, "host"), "required")
                return []
            spec_node = fields["host"]
            watts = reader.field(fields, "watts", values.watts, default=watts)
            path = join(path, "host")
        try:
            names, is_address = values.expand_host_spec(reader.text(spec_node, path))
        except values.InvalidValue as err:
            reader.invalid(spec_node, path, err)
            return []
        outside = self._outside_allowed(names) if is_address and self.allow is not None else None
        if outside is not None:
            reader.problems.add(spec_node, path, f"{outside} is outside the allowed networks (allow:)")
            return []
        line = spec_node.start_mark.line + 1
        hosts = []
        for name in names:
            if name in self.lines:
                other_line, other_pool = self.lines[name]
                reader.problems.add(
                    spec_node, path, f"host {name} is already listed at line {other_line} (pool {other_pool})"
                )
                break
            self.lines[name] = (line, pool)
            hosts.append(Host(name, watts if watts is not None else 0.0, standby, is_address))
        return hosts

    def _outside_allowed(self, names: list[str]) -> str | None:
        """The first address of an entry's that no ``allow:`` network holds; None when they all lie inside."""
        spans = self.allowed_spans[6 if ":" in names[0] else 4]  # one entry is of one IP version
        numbers = [values.as_int(name) for name in names]
        first, last = min(numbers), max(numbers)
        # Every address lies between the lowest and the highest: one network holding both holds all.
        if any(low <= first and last <= high for low, high in spans):
            return None
        for name, number in zip(names, numbers, strict=True):
            if not any(low <= number <= high for low, high in spans):
                return name
        return None


def _tags(reader: Reader, node: yaml.Node | None, path: str) -> dict[str, str]:
    """A pool's free tags: keys and values in NFC, neither with a control character (line protocol and CSV
    cannot carry one)."""
    tags: dict[str, str] = {}
    for raw_key, value_node in reader.mapping(node, path, None).items():
        full = join(path, raw_key)
        key = nfc(raw_key)
        if key in ("pool", "host", "phase", "_time", "_measurement", "_field", "_value"):
            reader.problems.add(value_node, full, f"{key!r} is a reserved tag name")
            continue
        try:
            values.refuse_control_characters(key)
            tags[key] = values.refuse_control_characters(reader.text(value_node, full))
        except values.InvalidValue as err:
            reader.invalid(value_node, full, err)
    return tags


def _study(reader: Reader, node: yaml.Node | None, pool_names: set[str]) -> Study:
    """``study.phases`` and which of them is the baseline (``study.baseline``, else the phase starting first).

    One name may have several entries (staggered starts: the same phase from different dates in
    different pools); a pool in two phases on one day (or twice in one) is refused, and so is a study
    whose baseline is ambiguous: two names starting first on the same day and no ``study.baseline``.
    """
    fields = reader.mapping(node, "study", {"phases", "baseline"})
    phases: list[tuple[Phase, yaml.Node]] = []
    for index, phase_node in enumerate(reader.sequence(fields.get("phases"), "study.phases")):
        path = f"study.phases[{index}]"
        phase_fields = reader.mapping(phase_node, path, {"name", "start", "end", "pools"})
        name = reader.field(phase_fields, "name", values.label, required=True)
        start = reader.field(phase_fields, "start", values.date, required=True)
        end = reader.field(phase_fields, "end", values.date, default=None)
        pools = None
        if "pools" in phase_fields:
            pools = set()
            for pool_index, pool_node in enumerate(reader.sequence(phase_fields["pools"], join(path, "pools"))):
                pool_path = f"{path}.pools[{pool_index}]"
                try:
                    pool = reader.text(pool_node, pool_path)
                except values.InvalidValue as err:
                    reader.invalid(pool_node, pool_path, err)
                    continue
                if pool not in pool_names:
                    reader.problems.add(pool_node, pool_path, f"no pool is named {pool!r}")
                pools.add(pool)
        if name is None or start is None:
            continue
        if end is not None and end < start:
            reader.problems.add(phase_fields["end"], join(path, "end"), "the phase ends before it starts")
            continue
        phase = Phase(name=name, start=start, end=end, pools=frozenset(pools) if pools is not None else None)
        for other, _ in phases:
            if _phases_overlap(phase, other, pool_names):
                reader.problems.add(
                    phase_node, path, f"overlaps phase {other.name!r} for the same pool; a day has one phase"
                )
                break
        phases.append((phase, phase_node))
    return Study(tuple(phase for phase, _ in phases), _baseline(reader, fields, phases))


def _baseline(reader: Reader, fields: Fields, phases: list[tuple[Phase, yaml.Node]]) -> str | None:
    """The name ``study.baseline`` gives (it must name a phase), else the phase that starts first; a tie of two
    names on the first day is a problem at the later entry. None without phases."""
    names = list(dict.fromkeys(phase.name for phase, _ in phases))
    named = reader.field(fields, "baseline", values.nonempty, default=None)
    if named is not None:
        if names and named not in names:
            listed = ", ".join(repr(name) for name in names)
            reader.problems.add(fields["baseline"], "study.baseline", f"no phase is named {named!r} (phases: {listed})")
        return str(named)
    if not phases:
        return None
    first = min(phase.start for phase, _ in phases)
    earliest = [(phase, node) for phase, node in phases if phase.start == first]
    for phase, node in earliest[1:]:
        if phase.name != earliest[0][0].name:
            index = next(i for i, (_, other) in enumerate(phases) if other is node)
            reader.problems.add(
                node,
                f"study.phases[{index}]",
                f"phases {earliest[0][0].name!r} and {phase.name!r} both start first, on {first}, so which is "
                "the baseline is ambiguous: name it with study.baseline",
            )
            break
    return earliest[0][0].name


def _phases_overlap(a: Phase, b: Phase, pool_names: set[str]) -> bool:
    a_pools = a.pools if a.pools is not None else pool_names
    b_pools = b.pools if b.pools is not None else pool_names
    if not a_pools & b_pools:
        return False
    a_end = a.end or dt.date.max
    b_end = b.end or dt.date.max
    return a.start <= b_end and b.start <= a_end
