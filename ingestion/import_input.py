"""How an import's bytes are read: a file, a pipe or either gzip-compressed, streamed in blocks of whole lines.

Nothing seeks, so ``/dev/stdin`` and ``<(zcat file.gz)`` work; gzip is recognised by its first bytes.
Line ends LF, CRLF and CR are read as Python's text files read them, and a byte order mark at the start
is dropped. A "line" longer than MAX_LINE_BYTES is not a ping point: it is skipped to its end and
reported, which keeps memory bounded for a file without line ends.
"""

from __future__ import annotations

import gzip
import os
import stat
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from pinger.errors import PingerError, UsageError

CHUNK_BYTES = 1 << 20
MAX_LINE_BYTES = 4 << 20
BAD = "\ud800"  # starts a line that could not be read (a lone surrogate: never in decoded text); the rest says why
_BOM = b"\xef\xbb\xbf"
_GZIP = b"\x1f\x8b"


class Input:
    """An opened input: a file, a pipe, or either gzip-compressed. ``size``: bytes of a regular file (0
    for a pipe: no percentage); ``position()``: how far into it the reading is."""

    def __init__(self, path: Path, raw: BinaryIO, handle: BinaryIO, size: int, compressed: bool):
        self.path, self.raw, self.handle, self.size, self.compressed = path, raw, handle, size, compressed
        self.read_bytes = 0

    def read(self, size: int) -> bytes:
        try:
            data = self.handle.read(size)
        except (OSError, EOFError, zlib.error) as err:
            if self.compressed:
                raise UsageError(f"{self.path}: not a readable gzip file ({err})") from None
            raise PingerError(f"cannot read {self.path}: {getattr(err, 'strerror', None) or err}") from None
        self.read_bytes += len(data)
        return data

    def position(self) -> int:
        if self.compressed and self.size:
            try:
                return self.raw.tell()
            except OSError:
                return 0
        return self.read_bytes

    def __enter__(self) -> Input:
        return self

    def __exit__(self, *exc: object) -> None:
        self.handle.close()
        self.raw.close()


def open_input(path: Path) -> Input:
    try:
        raw = path.open("rb")
        mode = os.fstat(raw.fileno()).st_mode
    except OSError as err:
        raise PingerError(f"cannot read {path}: {err.strerror or err}") from None
    size = os.fstat(raw.fileno()).st_size if stat.S_ISREG(mode) else 0
    try:
        head = raw.peek(2)[:2]
    except OSError as err:
        raw.close()
        raise PingerError(f"cannot read {path}: {err.strerror or err}") from None
    if head == _GZIP:
        return Input(path, raw, gzip.GzipFile(fileobj=raw, mode="rb"), size, True)  # type: ignore[arg-type]
    return Input(path, raw, raw, size, False)


def line_blocks(source: Input | BinaryIO) -> Iterator[tuple[bytes | None, int]]:
    """The input's lines a block at a time: (whole lines joined by LF, bytes read so far), or (None, …)
    for one line longer than MAX_LINE_BYTES. Line ends LF, CRLF and CR, as Python's text files read
    them; a byte order mark at the start is dropped."""
    position = source.position if isinstance(source, Input) else (lambda: 0)
    carry = b""  # the start of a line whose end is not read yet
    after_cr = False  # the last chunk ended in CR: a LF starting the next one belongs to it
    skipping = False  # in a line longer than MAX_LINE_BYTES: drop bytes up to its end
    done = 0
    for block, done in _chunks(source.read):
        done_at = position() or done
        if after_cr and block.startswith(b"\n"):
            block = block[1:]
        after_cr = False
        if skipping:
            end = _first_line_end(block)
            if end < 0:
                continue
            skipping = False
            block, after_cr = _past_line_end(block, end)
        data = carry + block if carry else block
        cut = max(data.rfind(b"\n"), data.rfind(b"\r"))
        if cut < 0:
            carry = data
            if len(carry) > MAX_LINE_BYTES:
                carry, skipping = b"", True
                yield None, done_at
            continue
        after_cr = data[cut] == 13 and cut + 1 == len(data)
        carry = data[cut + 1 :]
        whole = data[: cut - 1] if data[cut] == 10 and cut and data[cut - 1] == 13 else data[:cut]
        del data, block
        if b"\r" in whole:
            whole = whole.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        yield whole, done_at
    if carry and not skipping:
        yield carry.replace(b"\r\n", b"\n").replace(b"\r", b"\n"), position() or done


def _chunks(read: Callable[[int], bytes]) -> Iterator[tuple[bytes, int]]:
    """The input's chunks of up to CHUNK_BYTES, a byte order mark at the start dropped, each with the bytes read
    so far; none for an empty input."""
    block = read(CHUNK_BYTES)
    done = len(block)
    while block and len(block) < len(_BOM) and _BOM.startswith(block):  # a pipe may give a few bytes
        more = read(CHUNK_BYTES)
        if not more:
            break
        done += len(more)
        block += more
    if not block:
        return
    yield block.removeprefix(_BOM), done
    while block := read(CHUNK_BYTES):
        done += len(block)
        yield block, done


def _past_line_end(block: bytes, end: int) -> tuple[bytes, bool]:
    """What follows the line end at ``end`` (CR, LF or CRLF), and whether the block ended in a CR whose LF may
    start the next block."""
    if block[end] == 13 and end + 1 == len(block):
        return b"", True
    if block[end] == 13 and block[end + 1] == 10:
        end += 1
    return block[end + 1 :], False


def decoded_lines(handle: BinaryIO) -> Iterator[tuple[list[str], int]]:
    """The input's lines as text, a block at a time, with the bytes read so far; a line that is not UTF-8,
    or too long, comes as BAD + the reason."""
    for block, done in line_blocks(handle):
        if block is None:
            yield [f"{BAD}longer than {MAX_LINE_BYTES:,} bytes: not a line of points"], done
        else:
            yield _lines_of(block), done


def _first_line_end(block: bytes) -> int:
    ends = [index for index in (block.find(b"\n"), block.find(b"\r")) if index >= 0]
    return min(ends) if ends else -1


def _lines_of(data: bytes) -> list[str]:
    """The lines of whole lines of bytes joined by LF (without the last line end)."""
    try:
        return data.decode("utf-8").split("\n")
    except UnicodeDecodeError:
        return [decoded(line) for line in data.split(b"\n")]


def decoded(line: bytes) -> str:
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError as err:
        return f"{BAD}not UTF-8 text (byte 0x{line[err.start]:02x} at column {err.start + 1})"
