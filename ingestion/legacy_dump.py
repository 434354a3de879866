"""Read a Django fixture (``manage.py dumpdata``) one record at a time, without holding the file in memory.

A fixture is one JSON list of objects ``{"model": "app.name", "pk": N, "fields": {...}}``. The
standard library has no streaming JSON parser, so the list is read in chunks and each element
is decoded on its own with ``json.JSONDecoder.raw_decode`` over a sliding buffer: memory holds
one chunk and the element being read, whatever the file's size. An element cut by a chunk's end
fails to decode and is decoded again once the next chunk is in.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple, TextIO

from pinger.errors import LegacyDumpError, PingerError

CHUNK_CHARS = 1 << 20
MAX_RECORD_CHARS = 1 << 20  # an element longer than this is not a record of the first system
_WHITESPACE = re.compile(r"[ \t\n\r]*")


class FixtureRecord(NamedTuple):
    """One element of the fixture's list; ``number`` counts from 1 in file order."""

    number: int
    model: str  # lower case, as Django writes it: "pingerservice.interval"
    pk: int
    fields: dict[str, Any]


def read_fixture(path: Path, on_progress: Callable[[int], None] | None = None) -> Iterator[FixtureRecord]:
    """The fixture's records in file order. Raises LegacyDumpError (naming the line or the record)
    when the file is not JSON, not a list, or an element is not a fixture record.
    ``on_progress(characters_read)`` follows the reading."""
    try:
        handle = path.open(encoding="utf-8-sig")
    except OSError as err:
        raise PingerError(f"cannot read {path}: {err.strerror or err}") from None
    with handle:
        try:
            yield from _records(handle, path, on_progress)
        except UnicodeDecodeError as err:
            raise LegacyDumpError(
                f"{path}: not UTF-8 text (byte 0x{err.object[err.start]:02x}); is it the output of manage.py dumpdata?"
            ) from None


class _Reader:
    """The sliding buffer: the text not yet decoded, and how many lines lie before it."""

    def __init__(self, handle: TextIO, path: Path):
        self.handle = handle
        self.path = path
        self.buffer = ""
        self.pos = 0
        self.eof = False
        self.lines_before = 0  # line feeds in the text already dropped from the buffer
        self.read = 0

    def fill(self) -> bool:
        """Read the next chunk, dropping what was decoded; False at the end of the file."""
        if self.eof:
            return False
        chunk = self.handle.read(CHUNK_CHARS)
        self.read += len(chunk)
        self.lines_before += self.buffer.count("\n", 0, self.pos)
        self.buffer = self.buffer[self.pos :] + chunk
        self.pos = 0
        if not chunk:
            self.eof = True
        return bool(chunk)

    def next_char(self) -> str:
        """The next character after whitespace ("" at the end of the file), not consumed."""
        while True:
            self.pos = _WHITESPACE.match(self.buffer, self.pos).end()  # type: ignore[union-attr]  # always matches
            if self.pos < len(self.buffer):
                return self.buffer[self.pos]
            if not self.fill():
                return ""

    def line(self, position: int | None = None) -> int:
        return self.lines_before + self.buffer.count("\n", 0, self.pos if position is None else position) + 1

    def not_json(self, reason: str, position: int | None = None) -> LegacyDumpError:
        return LegacyDumpError(
            f"{self.path}: line {self.line(position)}: not JSON ({reason}); is it the output of manage.py dumpdata?"
        )

    def value(self) -> Any:
        """Decode the element starting at the buffer's position, reading more text while it is cut."""
        decoder = _DECODER
        while True:
            try:
                found, end = decoder.raw_decode(self.buffer, self.pos)
            except json.JSONDecodeError as err:
                if self.eof or len(self.buffer) - self.pos > MAX_RECORD_CHARS:
                    raise self.not_json(err.msg, err.pos) from None
                self.fill()
                continue
            except ValueError:  # Python refuses to convert an integer of more than 4,300 digits
                raise LegacyDumpError(
                    f"{self.path}: line {self.line()}: a number of more than {sys.get_int_max_str_digits():,} "
                    "digits, which no record of the first system has; is it the output of manage.py dumpdata?"
                ) from None
            if end == len(self.buffer) and not self.eof and self.fill():  # a number may go on in the next chunk
                continue
            self.pos = end
            return found


_DECODER = json.JSONDecoder()


def _records(handle: TextIO, path: Path, on_progress: Callable[[int], None] | None) -> Iterator[FixtureRecord]:
    reader = _Reader(handle, path)
    not_a_fixture = f"{path}: not a Django fixture: the file must be one JSON list of records (manage.py dumpdata)"
    first = reader.next_char()
    if first == "":
        raise LegacyDumpError(f"{path}: the file is empty; is it the output of manage.py dumpdata?")
    if first != "[":
        reader.value()  # raises when it is not JSON either
        raise LegacyDumpError(not_a_fixture)
    reader.pos += 1
    number = 0
    reported = 0
    if reader.next_char() == "]":
        reader.pos += 1
    else:
        while True:
            number += 1
            yield _record(reader.value(), number, path)
            if on_progress is not None and reader.read - reported >= CHUNK_CHARS:
                reported = reader.read
                on_progress(reader.read)
            following = reader.next_char()
            if following == ",":
                reader.pos += 1
                reader.next_char()
                continue
            if following == "]":
                reader.pos += 1
                break
            raise reader.not_json("expected , or ] after a record" if following else "the list is not closed")
    if reader.next_char():
        raise reader.not_json("text after the list")


def _record(found: Any, number: int, path: Path) -> FixtureRecord:
    if (
        not isinstance(found, dict)
        or not isinstance(found.get("model"), str)
        or not isinstance(found.get("fields"), dict)
    ):
        raise LegacyDumpError(
            f'{path}: record {number}: not a fixture record (an object with "model", "pk" and "fields")'
        )
    pk = found.get("pk")
    if not isinstance(pk, int) or isinstance(pk, bool):
        raise LegacyDumpError(
            f"{path}: record {number} ({found['model']}): its pk must be a whole number, not {json.dumps(pk)}"
        )
    if not fits_a_key(pk):
        raise LegacyDumpError(
            f"{path}: record {number} ({found['model']}): its pk {_shown(pk)} is larger than a database key "
            "(64 bits) can be"
        )
    return FixtureRecord(number, found["model"].lower(), pk, found["fields"])


def fits_a_key(value: int) -> bool:
    """Whether a whole number fits a 64-bit database key, as Django's (and SQLite's) do."""
    return -(2**63) <= value < 2**63


def _shown(value: int) -> str:
    text = str(value)
    return text if len(text) <= 40 else f"{text[:20]}… ({len(text):,} digits)"
