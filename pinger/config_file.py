"""The config file, read safely: its kind and size, its text, and YAML whose aliases do not explode.

Everything here happens before a field is looked at, and each refusal is one ConfigError naming the file
(and the line, where there is one):

* the file: a regular file of at most MAX_CONFIG_BYTES, its kind checked before it is opened (a named pipe
  would block the open, /dev/zero never ends) and again once opened;
* the text: UTF-8 without control bytes, and without characters YAML does not allow, each named with its line;
* the YAML: a syntax error as FILE:LINE with advice for the usual mistakes (tabs, an unquoted IPv6 address),
  an empty file, a document that is not a mapping of sections, and aliases that would repeat anchored nodes
  more than MAX_ALIAS_NODES times (a "billion laughs") or refer to a node containing them.

``read_config_text`` and ``compose_document`` are the two steps; pinger.config_load walks the document.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable

import yaml

from .errors import ConfigError

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

MAX_CONFIG_BYTES = 16 * 10**6  # a config file may have at most 16 MB
MAX_ALIAS_NODES = 100_000  # nodes a config may gain through aliases (*name) repeating anchored ones

# Bytes that are never text: C0 controls other than tab, line feed and carriage return, and DEL.
_CONTROL_BYTE = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

# Characters YAML does not allow (PyYAML's reader refuses them without naming a line).
_NOT_YAML_TEXT = yaml.reader.Reader.NON_PRINTABLE

FILE_KINDS: tuple[tuple[Callable[[int], bool], str], ...] = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISSOCK, "a socket"),
)


def read_config_text(path: str | os.PathLike[str], source: str) -> str:
    """The config file's text: a regular file of at most MAX_CONFIG_BYTES, UTF-8 without control bytes."""
    return _decode(_read_bytes(path, source), source)


def compose_document(text: str, source: str) -> yaml.MappingNode:
    """The YAML document of a config's text as nodes (scalars unresolved: each field converts its own text),
    refused when it is not YAML, empty, not a mapping of sections, or expanded too far by its aliases."""
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
    return root


def file_kind(mode: int) -> str | None:
    """What a file that is not a regular file is ("a directory", "a named pipe", …); None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    return next((name for is_kind, name in FILE_KINDS if is_kind(mode)), "an unknown kind of file")


def _read_bytes(path: str | os.PathLike[str], source: str) -> bytes:
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
    kind = file_kind(info.st_mode)
    if kind is not None:
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
