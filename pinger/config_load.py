"""Load a YAML config into typed objects, reporting every problem as FILE:LINE: path: message.

YAML scalars are read as plain strings (no YAML 1.1 guessing: ``no`` stays "no",
``00:30`` is not sexagesimal 30) and each field converts its own value.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import re
import socket
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from . import config_values as values
from .config import (
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
from .errors import ConfigError

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_ENV_REF = re.compile(r"\$\{([^}]*)(\}|$)")  # every ${...}, also a malformed or unclosed one
_ENV_FORM = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?", re.S)  # ${VAR} or ${VAR:-default}
_MERGE_TAG = "tag:yaml.org,2002:merge"  # what YAML's resolver makes of a plain << key
_NULLS = {"", "~", "null", "Null", "NULL"}

MAX_CONFIG_BYTES = 16 * 10**6  # a config file may have at most 16 MB
MAX_HOSTS = 1_000_000  # hosts in all pools together, counted before any is expanded
MAX_ALIAS_NODES = 100_000  # nodes a config may gain through aliases (*name) repeating anchored ones

# Bytes that are never text: C0 controls other than tab, line feed and carriage return, and DEL.
_CONTROL_BYTE = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

# Characters YAML does not allow (PyYAML's reader refuses them without naming a line).
_NOT_YAML_TEXT = yaml.reader.Reader.NON_PRINTABLE

_FILE_KINDS: tuple[tuple[Callable[[int], bool], str], ...] = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISSOCK, "a socket"),
)


class _Problems:
    def __init__(self, source: str):
        self.source = source
        self.items: list[tuple[int, str]] = []

    def add(self, node: yaml.Node | None, path: str, message: str) -> None:
        line = node.start_mark.line + 1 if node is not None else 1
        self.items.append((line, f"{self.source}:{line}: {path}: {message}"))

    def raise_if_any(self) -> None:
        if self.items:
            self.items.sort(key=lambda item: item[0])
            # A mapping merged (<<) into several others is checked once for each: say its problems once.
            raise ConfigError(list(dict.fromkeys(text for _, text in self.items)))


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    if _CONTROL_CHARACTER.search(key):  # shown escaped, as in the message about it: never raw in a terminal
        key = repr(key)[1:-1]
    return f"{path}.{key}" if path else key


_CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _nfc(text: str) -> str:
    """The text in Unicode NFC (a decomposed "Café" becomes the composed one); ASCII text as it is."""
    if text.isascii():
        return text
    import unicodedata  # only configs with text beyond ASCII pay for it

    return unicodedata.normalize("NFC", text)


class _Fields(dict[str, "yaml.Node"]):
    """A mapping's value nodes by key, remembering the mapping's node and path."""

    def __init__(self, node: yaml.Node | None, path: str):
        super().__init__()
        self.node = node
        self.path = path


class _UnsetVariable(values.InvalidValue):
    """A ${VAR} whose variable is not set: the value it is part of is unknown."""


class _Reader:
    """Walks composed YAML nodes, converting fields and collecting problems.

    With ``allow_unset_env`` a value naming an unset ${VAR} is not a problem: it is unknown, so
    it is left out (a field keeps its default) and everything else is still checked.
    """

    def __init__(self, problems: _Problems, environ: dict[str, str], allow_unset_env: bool = False):
        self.problems = problems
        self.environ = environ
        self.allow_unset_env = allow_unset_env

    def invalid(self, node: yaml.Node | None, path: str, err: values.InvalidValue) -> None:
        """Record a bad value (an unset ${VAR} only when unset variables are not allowed)."""
        if not (self.allow_unset_env and isinstance(err, _UnsetVariable)):
            self.problems.add(node, path, str(err))

    def given(self, fields: _Fields, name: str) -> bool:
        """Whether the mapping gives the field a value (not left out, not null)."""
        node = fields.get(name)
        return node is not None and not self.is_null(node)

    # -- shapes -------------------------------------------------------------

    def mapping(self, node: yaml.Node | None, path: str, allowed: set[str] | None) -> _Fields:
        """A mapping's keys and value nodes; unknown keys and duplicates are problems.

        YAML merge keys work as YAML 1.1 defines them: ``<<: *defaults`` (or a list of such mappings)
        adds the fields the mapping does not give itself; of a list, an earlier mapping wins.
        """
        result = _Fields(node, path)
        if node is None or self.is_null(node):
            return result
        if not isinstance(node, yaml.MappingNode):
            self.problems.add(node, path, "expected a mapping (key: value lines)")
            return result
        merged: list[yaml.Node] = []
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self.problems.add(key_node, path, "keys must be plain names")
                continue
            if key_node.tag == _MERGE_TAG:
                merged += self._merge_sources(value_node, _join(path, "<<"))
                continue
            key = key_node.value
            if key in result:
                self.problems.add(key_node, _join(path, key), "given twice in the same mapping")
                continue
            if allowed is not None and key not in allowed:
                hint = ", ".join(sorted(allowed))
                self.problems.add(key_node, _join(path, key), f"unknown field (known here: {hint})")
                continue
            result[key] = value_node
        for source in merged:
            for key, value_node in self.mapping(source, path, allowed).items():
                result.setdefault(key, value_node)
        return result

    def _merge_sources(self, node: yaml.Node, path: str) -> list[yaml.Node]:
        """The mappings a merge key names, in order; anything else is a problem."""
        sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
        if all(isinstance(source, yaml.MappingNode) for source in sources):
            return list(sources)
        self.problems.add(node, path, "a merge key (<<) takes a mapping or a list of mappings, such as *defaults")
        return []

    def sequence(self, node: yaml.Node | None, path: str) -> list[yaml.Node]:
        if node is None or self.is_null(node):
            return []
        if not isinstance(node, yaml.SequenceNode):
            self.problems.add(node, path, "expected a list")
            return []
        return list(node.value)

    @staticmethod
    def is_null(node: yaml.Node) -> bool:
        return isinstance(node, yaml.ScalarNode) and node.style is None and node.value in _NULLS

    def text(self, node: yaml.Node, path: str, exact: bool = False) -> str:
        """A scalar's text with ${VAR} and ${VAR:-default} replaced from the environment (the default when VAR is
        unset or empty, as in the shell); any other ${...} is a problem. Text that is not ASCII is normalised
        to Unicode NFC, so that a decomposed "Café" (e and a combining accent) is the same name as a composed
        one, unless ``exact`` (file paths, secrets and server names are taken as written)."""
        if not isinstance(node, yaml.ScalarNode):
            raise values.InvalidValue("expected a single value, not a list or mapping")

        def substitute(match: re.Match[str]) -> str:
            form = _ENV_FORM.fullmatch(match.group(1)) if match.group(2) else None
            if form is None:
                raise values.InvalidValue(
                    f"{match.group()} is not a variable reference Pinger knows: write ${{VAR}}, or "
                    "${VAR:-default} for a default when VAR is unset or empty"
                )
            name, default = form.groups()
            if default is not None:
                return self.environ.get(name) or default
            if name not in self.environ:
                raise _UnsetVariable(f"environment variable {name} is not set")
            return self.environ[name]

        text: str = node.value
        if "${" in text:
            text = _ENV_REF.sub(substitute, text)
        return text if exact else _nfc(text)

    def field(
        self,
        fields: _Fields,
        name: str,
        convert: Callable[[str], Any],
        default: Any = None,
        required: bool = False,
        exact: bool = False,
    ) -> Any:
        """Convert one scalar field, recording a problem (and returning the default) when it is bad."""
        node = fields.get(name)
        full = _join(fields.path, name)
        if node is None or self.is_null(node):
            if required:
                self.problems.add(node if node is not None else fields.node, full, "required")
            return default
        try:
            return convert(self.text(node, full, exact))
        except values.InvalidValue as err:
            self.invalid(node, full, err)
            return default


# -- scalar converters ------------------------------------------------------


# -- hosts --------------------------------------------------------------------


# -- sections -------------------------------------------------------------------

_TOP = {"timezone", "interval", "collector", "ping", "allow", "storage", "aggregate", "pools", "study", "energy"}


def _opening_hours(reader: _Reader, node: yaml.Node, path: str, wrap_midnight: bool = False) -> OpeningHours | None:
    fields = reader.mapping(node, path, None)
    if not fields:
        return None
    per_day: list[list[tuple[int, int]]] = [[] for _ in WEEKDAYS]
    assigned: dict[int, str] = {}
    for key, value_node in fields.items():
        full = _join(path, key)
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


def _energy(reader: _Reader, node: yaml.Node | None) -> Energy:
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
        hours = _opening_hours(reader, at_node, _join(path, "at"), wrap_midnight=True) if at_node else None
        if at_node is None or reader.is_null(at_node) or (hours is None and len(reader.problems.items) == known):
            # Missing, null, or an empty mapping ({}): a tariff in force at no time would be dropped silently.
            reader.problems.add(
                at_node if at_node is not None else tariff_node,
                _join(path, "at"),
                'required: the weekly periods the price is in force, e.g. {mon-fri: "22:00-06:00"}',
            )
        if tariff_price is None or hours is None:
            continue
        clash = _tariff_overlap(hours, taken, index)
        if clash is not None:
            reader.problems.add(at_node, _join(path, "at"), clash)
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
    raw = _read_config_file(path, source)
    return parse_config(
        _decode(raw, source), source, os.environ.copy() if environ is None else environ, allow_unset_env=allow_unset_env
    )


def _read_config_file(path: str | os.PathLike[str], source: str) -> bytes:
    """The file's bytes: a regular file of at most MAX_CONFIG_BYTES, checked before it is opened.

    Opening a named pipe would block until a writer comes, and /dev/zero never ends: their kind
    is refused from os.stat, before any open. The open itself does not block (O_NONBLOCK), and
    the opened file is checked again, in case another file took the name in between.
    """
    try:
        _check_file_kind(os.stat(path), source)
        flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
        with open(os.open(path, flags), "rb") as handle:
            info = os.fstat(handle.fileno())
            _check_file_kind(info, source)
            data = handle.read(MAX_CONFIG_BYTES + 1)  # a file growing meanwhile is still read no further
    except OSError as err:
        raise ConfigError([f"{source}: cannot read the config file: {err.strerror or err}"]) from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError([_too_large(source, max(len(data), info.st_size))])
    return data


def _check_file_kind(info: os.stat_result, source: str) -> None:
    if not stat.S_ISREG(info.st_mode):
        kind = next((name for is_kind, name in _FILE_KINDS if is_kind(info.st_mode)), "an unknown kind of file")
        raise ConfigError([f"{source}: not a regular file ({kind})"])
    if info.st_size > MAX_CONFIG_BYTES:
        raise ConfigError([_too_large(source, info.st_size)])


def _too_large(source: str, size: int) -> str:
    shown = f"{size / 1e6:.1f} MB"
    if shown == f"{MAX_CONFIG_BYTES / 1e6:.1f} MB":  # just over the bound: say it in bytes
        shown = f"{size:,} bytes"
    return f"{source}: {shown} is larger than the {MAX_CONFIG_BYTES // 10**6} MB a config may have"


def _decode(raw: bytes, source: str) -> str:
    """The file as text; a byte that is not UTF-8 text is named with its line."""
    control = _CONTROL_BYTE.search(raw)
    bad = control.start() if control else -1
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        bad = err.start if bad < 0 else min(bad, err.start)
    if bad >= 0:
        line = raw.count(b"\n", 0, bad) + 1
        raise ConfigError([f"{source}: not UTF-8 text (byte 0x{raw[bad]:02x} at line {line})"])
    return text


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
    problems = _Problems(source)
    unprintable = _NOT_YAML_TEXT.search(text)
    if unprintable:  # PyYAML would say so without a line (and the C parser counts bytes, not characters)
        line = text.count("\n", 0, unprintable.start()) + 1
        raise ConfigError(
            [f"{source}:{line}: (yaml): the character U+{ord(unprintable.group()):04X} is not allowed in YAML"]
        )
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError as err:
        raise ConfigError([_yaml_problem(err, text, source)]) from None
    if root is None:
        raise ConfigError([f"{source}:1: (file): the config is empty; it needs at least timezone and pools"])
    if "*" in text:  # no alias without a '*'
        _check_aliases(root, source)

    if not isinstance(root, yaml.MappingNode):
        kind = "a list" if isinstance(root, yaml.SequenceNode) else "a single value"
        raise ConfigError(
            [
                f"{source}:{root.start_mark.line + 1}: (top level): the config is {kind}; it must be a mapping of "
                "sections (timezone:, pools:, …)"
            ]
        )
    reader = _Reader(problems, environ, allow_unset_env)
    top = reader.mapping(root, "", _TOP)
    _check_host_count(reader, top.get("pools"))

    timezone = reader.field(top, "timezone", values.timezone, required=True)
    interval_value = reader.field(top, "interval", values.interval)
    interval = 300.0 if interval_value is None else interval_value

    collector_fields = reader.mapping(top.get("collector"), "collector", {"name"})
    collector_name = reader.field(collector_fields, "name", values.label, default=None) or socket.gethostname()

    ping_fields = reader.mapping(top.get("ping"), "ping", {"timeout", "retries", "rate", "privileged"})
    timeout = reader.field(ping_fields, "timeout", values.parse_duration)
    retries = reader.field(ping_fields, "retries", values.nonnegative_int)
    ping = PingSettings(
        timeout=1.0 if timeout is None else timeout,
        retries=1 if retries is None else retries,
        rate=reader.field(ping_fields, "rate", values.positive_rate, default=2000.0),
        privileged=reader.field(ping_fields, "privileged", values.privileged, default=None),
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
    aggregate = AggregateSettings(
        at=reader.field(aggregate_fields, "at", values.time_of_day, default=dt.time(0, 30)),
        hold=reader.field(aggregate_fields, "hold", values.parse_duration, default=None) or interval,
        recheck_days=reader.field(aggregate_fields, "recheck_days", values.nonnegative_int, default=3),
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


def _yaml_problem(err: yaml.YAMLError, text: str, source: str) -> str:
    """A YAML syntax error as one line: FILE:LINE, and what to do for the mistakes people make."""
    mark = getattr(err, "problem_mark", None)
    line = mark.line + 1 if mark is not None else 1
    detail = getattr(err, "problem", None) or str(err)
    lines = text.splitlines()
    bad_line = lines[mark.line] if mark is not None and mark.line < len(lines) else ""
    indent = bad_line[: len(bad_line) - len(bad_line.lstrip(" \t"))]
    if mark is not None and "\t" in indent and (mark.column < len(indent) or "tab" in detail):
        # PyYAML says "found character that cannot start any token" or "... violates indentation".
        return f"{source}:{line}: tabs are not allowed for indentation, use spaces"
    if "::" in bad_line:  # an unquoted IPv6 address in a flow list: YAML takes its colons as a mapping
        detail += " (quote IPv6 addresses inside [...] lists, e.g. ['fd00::1'])"
    return f"{source}:{line}: (yaml): {detail}"


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [child for pair in node.value for child in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check_aliases(root: yaml.Node, source: str) -> None:
    """Refuse a document that aliases would expand by more than MAX_ALIAS_NODES nodes, or without end.

    An alias is the anchored node itself, not a copy: the walk below visits each node once and
    counts how often the document reaches it, so a billion repetitions cost no more than one.
    """
    finished: dict[int, bool] = {id(root): False}  # False while the node's children are walked
    postorder: list[yaml.Node] = []  # children before their parents
    stack: list[tuple[yaml.Node, list[yaml.Node], int]] = [(root, _children(root), 0)]
    while stack:
        node, children, index = stack[-1]
        if index == len(children):
            stack.pop()
            finished[id(node)] = True
            postorder.append(node)
            continue
        stack[-1] = (node, children, index + 1)
        child = children[index]
        state = finished.get(id(child))
        if state is None:
            finished[id(child)] = False
            stack.append((child, _children(child), 0))
        elif state is False:  # the child is being walked: it contains this node
            raise ConfigError(
                [
                    f"{source}:{node.start_mark.line + 1}: (aliases): the node starting on this line "
                    "holds an alias to a node that contains it"
                ]
            )
    reached = {id(root): 1}
    for node in reversed(postorder):  # parents before their children
        for child in _children(node):
            reached[id(child)] = reached.get(id(child), 0) + reached[id(node)]
    gained = sum(reached.values()) - len(reached)
    if gained > MAX_ALIAS_NODES:
        most = max(postorder, key=lambda n: (reached[id(n)], -n.start_mark.index))
        raise ConfigError(
            [
                f"{source}:{most.start_mark.line + 1}: (aliases): aliases repeat the node on this line "
                f"{reached[id(most)] - 1:,} times, expanding the config by {gained:,} nodes, "
                f"more than the {MAX_ALIAS_NODES:,} a config may gain through aliases"
            ]
        )


def _first_value(node: yaml.Node, key: str, depth: int = 0) -> yaml.Node | None:
    """The value of ``key`` in a mapping node as the reader will see it: its own, else a merged (<<) one."""
    if not isinstance(node, yaml.MappingNode):
        return None
    merged: list[yaml.Node] = []
    for key_node, value_node in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            continue
        if key_node.tag == _MERGE_TAG:
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


def _check_host_count(reader: _Reader, pools_node: yaml.Node | None) -> None:
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
    reader: _Reader, top: _Fields, ping_fields: _Fields, ping: PingSettings, interval: float, hosts: int
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


def _storage(reader: _Reader, node: yaml.Node | None, source: str) -> StorageSettings:
    """The storage section, taken as written (no NFC: paths and secrets are exact); the store's local file
    must be a regular file or not there yet, and not this config file."""
    fields = reader.mapping(node, "storage", {"backend", "path", "influxdb"})
    backend = reader.field(fields, "backend", values.backend, default="sqlite", exact=True)
    path = reader.field(
        fields, "path", lambda t: Path(values.nonempty(t)), default=Path("data/pinger.sqlite"), exact=True
    )
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
            influx = InfluxSettings(
                url=reader.field(influx_fields, "url", values.url, default="", required=True, exact=True),
                org=reader.field(influx_fields, "org", values.nonempty, default="", required=True, exact=True),
                bucket=reader.field(influx_fields, "bucket", values.nonempty, default="", required=True, exact=True),
                daily_bucket=reader.field(
                    influx_fields, "daily_bucket", values.nonempty, default="pinger_daily", exact=True
                ),
                token=reader.field(influx_fields, "token", values.nonempty, default="", required=True, exact=True),
                spool=reader.field(
                    influx_fields,
                    "spool",
                    lambda t: Path(values.nonempty(t)),
                    default=Path("data/spool.sqlite"),
                    exact=True,
                ),
                spool_max_bytes=reader.field(influx_fields, "spool_max", values.parse_size, default=10**9),
            )
            _check_store_file(reader, influx_fields, "spool", influx.spool, source)
    return StorageSettings(backend=backend, path=path, influxdb=influx)


def _check_store_file(reader: _Reader, fields: _Fields, name: str, path: Path | None, source: str) -> None:
    """The store's (or spool's) file must be a regular file, or not there yet (it is created): not /dev/null,
    a directory or a FIFO, on which SQLite fails with "disk I/O error" after leaving files beside it, and not
    the config file itself."""
    if path is None or name not in fields:
        return
    try:
        found = os.stat(path)
    except (OSError, ValueError):
        return  # not there yet, or not reachable now: opening the store says why when it matters
    if not stat.S_ISREG(found.st_mode):
        kind = next((kind for is_kind, kind in _FILE_KINDS if is_kind(found.st_mode)), "not a regular file")
        reader.problems.add(
            fields[name],
            _join(fields.path, name),
            f"{path} is {kind}, not a store file; name a file (it is created when missing)",
        )
        return
    try:
        config = os.stat(source)
    except OSError:
        return
    if (found.st_dev, found.st_ino) == (config.st_dev, config.st_ino):
        reader.problems.add(
            fields[name], _join(fields.path, name), f"{path} is this config file; name the store's own file"
        )


_POOL_FIELDS = {"name", "watts", "standby_watts", "open", "tags", "hosts"}


def _pools(
    reader: _Reader, node: yaml.Node | None, allow: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] | None
) -> list[Pool]:
    pools: list[Pool] = []
    pool_lines: dict[str, int] = {}
    host_lines: dict[str, tuple[int, str]] = {}
    items = reader.sequence(node, "pools")
    allowed_spans = {
        version: [
            (int(net.network_address), int(net.broadcast_address)) for net in allow or () if net.version == version
        ]
        for version in (4, 6)
    }
    if node is not None and not items:
        reader.problems.add(node, "pools", "the list is empty; add at least one pool with hosts")
    for index, pool_node in enumerate(items):
        path = f"pools[{index}]"
        fields = reader.mapping(pool_node, path, _POOL_FIELDS)
        name = reader.field(fields, "name", values.pool_name, required=True)
        if name is not None:
            if name in pool_lines:
                reader.problems.add(
                    fields["name"], _join(path, "name"), f"pool {name!r} is already defined at line {pool_lines[name]}"
                )
            else:
                pool_lines[name] = fields["name"].start_mark.line + 1
        watts = reader.field(fields, "watts", values.watts, required=True)
        standby = reader.field(fields, "standby_watts", values.watts, default=0.0)
        opening = _opening_hours(reader, fields["open"], _join(path, "open")) if "open" in fields else None
        tags = _tags(reader, fields.get("tags"), _join(path, "tags"))
        hosts: list[Host] = []
        host_nodes = reader.sequence(fields.get("hosts"), _join(path, "hosts"))
        if not host_nodes:
            reader.problems.add(fields.get("hosts", pool_node), _join(path, "hosts"), "required: at least one host")
        for host_index, host_node in enumerate(host_nodes):
            host_path = f"{path}.hosts[{host_index}]"
            host_watts = watts
            spec_node = host_node
            if isinstance(host_node, yaml.MappingNode):
                host_fields = reader.mapping(host_node, host_path, {"host", "watts"})
                if "host" not in host_fields:
                    reader.problems.add(host_node, _join(host_path, "host"), "required")
                    continue
                spec_node = host_fields["host"]
                host_watts = reader.field(host_fields, "watts", values.watts, default=watts)
                host_path = _join(host_path, "host")
            try:
                names, is_address = values.expand_host_spec(reader.text(spec_node, host_path))
            except values.InvalidValue as err:
                reader.invalid(spec_node, host_path, err)
                continue
            line = spec_node.start_mark.line + 1
            if is_address and allow is not None:
                spans = allowed_spans[6 if ":" in names[0] else 4]  # one entry is of one IP version
                numbers = [values.as_int(n) for n in names]
                first, last = min(numbers), max(numbers)
                # Every address lies between the lowest and the highest: one network holding both holds all.
                inside = any(low <= first and last <= high for low, high in spans)
                outside = (
                    []
                    if inside
                    else [
                        n
                        for n, number in zip(names, numbers, strict=True)
                        if not any(low <= number <= high for low, high in spans)
                    ]
                )
                if outside:
                    reader.problems.add(spec_node, host_path, f"{outside[0]} is outside the allowed networks (allow:)")
                    continue
            for host_name in names:
                if host_name in host_lines:
                    other_line, other_pool = host_lines[host_name]
                    reader.problems.add(
                        spec_node,
                        host_path,
                        f"host {host_name} is already listed at line {other_line} (pool {other_pool})",
                    )
                    break
                host_lines[host_name] = (line, name or "?")
                hosts.append(Host(host_name, host_watts if host_watts is not None else 0.0, standby or 0.0, is_address))
        pools.append(
            Pool(
                name=name or f"#{index}",
                watts=watts or 0.0,
                standby_watts=standby or 0.0,
                hosts=tuple(hosts),
                tags=tags,
                open=opening,
            )
        )
    return pools


def _tags(reader: _Reader, node: yaml.Node | None, path: str) -> dict[str, str]:
    """A pool's free tags: keys and values in NFC, neither with a control character (line protocol and CSV
    cannot carry one)."""
    tags: dict[str, str] = {}
    for raw_key, value_node in reader.mapping(node, path, None).items():
        full = _join(path, raw_key)
        key = _nfc(raw_key)
        if key in ("pool", "host", "phase", "_time", "_measurement", "_field", "_value"):
            reader.problems.add(value_node, full, f"{key!r} is a reserved tag name")
            continue
        try:
            values.refuse_control_characters(key)
            tags[key] = values.refuse_control_characters(reader.text(value_node, full))
        except values.InvalidValue as err:
            reader.invalid(value_node, full, err)
    return tags


def _study(reader: _Reader, node: yaml.Node | None, pool_names: set[str]) -> Study:
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
            for pool_index, pool_node in enumerate(reader.sequence(phase_fields["pools"], _join(path, "pools"))):
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
            reader.problems.add(phase_fields["end"], _join(path, "end"), "the phase ends before it starts")
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


def _baseline(reader: _Reader, fields: _Fields, phases: list[tuple[Phase, yaml.Node]]) -> str | None:
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
