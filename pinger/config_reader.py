"""Walking a config's YAML nodes: mappings, lists and scalar fields, ${VAR}s, and every problem with its line.

``Reader`` reads the document pinger.config_file composed, one section at a time (pinger.config_load says
which): a mapping's fields by name (unknown and repeated keys are problems; ``<<`` merges work as YAML 1.1
says), a list's items, a scalar's text with ${VAR} and ${VAR:-default} replaced from the environment and
non-ASCII text in Unicode NFC. A field converts its text with a converter of pinger.config_values; a bad
value is recorded in ``Problems`` as ``FILE:LINE: path: message`` and the walk goes on, so a config's
problems are all reported at once.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import yaml

from . import config_values as values
from .errors import ConfigError

_ENV_REF = re.compile(r"\$\{([^}]*)(\}|$)")  # every ${...}, also a malformed or unclosed one
_ENV_FORM = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?", re.S)  # ${VAR} or ${VAR:-default}
MERGE_TAG = "tag:yaml.org,2002:merge"  # what YAML's resolver makes of a plain << key
_NULLS = {"", "~", "null", "Null", "NULL"}


class Problems:
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


def join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    if _CONTROL_CHARACTER.search(key):  # shown escaped, as in the message about it: never raw in a terminal
        key = repr(key)[1:-1]
    return f"{path}.{key}" if path else key


_CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def nfc(text: str) -> str:
    """The text in Unicode NFC (a decomposed "Café" becomes the composed one); ASCII text as it is."""
    if text.isascii():
        return text
    import unicodedata  # only configs with text beyond ASCII pay for it

    return unicodedata.normalize("NFC", text)


class Fields(dict[str, "yaml.Node"]):
    """A mapping's value nodes by key, remembering the mapping's node and path."""

    def __init__(self, node: yaml.Node | None, path: str):
        super().__init__()
        self.node = node
        self.path = path


class _UnsetVariable(values.InvalidValue):
    """A ${VAR} whose variable is not set: the value it is part of is unknown."""


class Reader:
    """Walks composed YAML nodes, converting fields and collecting problems.

    With ``allow_unset_env`` a value naming an unset ${VAR} is not a problem: it is unknown, so
    it is left out (a field keeps its default) and everything else is still checked.
    """

    def __init__(self, problems: Problems, environ: dict[str, str], allow_unset_env: bool = False):
        self.problems = problems
        self.environ = environ
        self.allow_unset_env = allow_unset_env

    def invalid(self, node: yaml.Node | None, path: str, err: values.InvalidValue) -> None:
        """Record a bad value (an unset ${VAR} only when unset variables are not allowed)."""
        if not (self.allow_unset_env and isinstance(err, _UnsetVariable)):
            self.problems.add(node, path, str(err))

    def given(self, fields: Fields, name: str) -> bool:
        """Whether the mapping gives the field a value (not left out, not null)."""
        node = fields.get(name)
        return node is not None and not self.is_null(node)

    # -- shapes -------------------------------------------------------------

    def mapping(self, node: yaml.Node | None, path: str, allowed: set[str] | None) -> Fields:
        """A mapping's keys and value nodes; unknown keys and duplicates are problems.

        YAML merge keys work as YAML 1.1 defines them: ``<<: *defaults`` (or a list of such mappings)
        adds the fields the mapping does not give itself; of a list, an earlier mapping wins.
        """
        result = Fields(node, path)
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
            if key_node.tag == MERGE_TAG:
                merged += self._merge_sources(value_node, join(path, "<<"))
                continue
            key = key_node.value
            if key in result:
                self.problems.add(key_node, join(path, key), "given twice in the same mapping")
                continue
            if allowed is not None and key not in allowed:
                hint = ", ".join(sorted(allowed))
                self.problems.add(key_node, join(path, key), f"unknown field (known here: {hint})")
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
        return text if exact else nfc(text)

    def field(
        self,
        fields: Fields,
        name: str,
        convert: Callable[[str], Any],
        default: Any = None,
        required: bool = False,
        exact: bool = False,
    ) -> Any:
        """Convert one scalar field, recording a problem (and returning the default) when it is bad."""
        node = fields.get(name)
        full = join(fields.path, name)
        if node is None or self.is_null(node):
            if required:
                self.problems.add(node if node is not None else fields.node, full, "required")
            return default
        try:
            return convert(self.text(node, full, exact))
        except values.InvalidValue as err:
            self.invalid(node, full, err)
            return default
