"""Write a command's text output to what the user named: a file, a device, a FIFO, a link, or standard output.

``write_text(path, text)`` is what ``-o PATH`` means everywhere:

* ``None`` or ``"-"``: standard output (the text's bytes, as they would be in a file).
* A regular file, or nothing yet: replaced atomically. The text goes to a new temporary file beside
  it (created exclusively, mode 0o666 less the umask, or the replaced file's mode), is flushed to
  disk, and is renamed over PATH; a failure leaves PATH as it was and removes the temporary file.
  Missing parent directories are created.
* A symbolic link: written through to its target, in place; the link stays. A dangling link gets its
  target created (as the shell's ``>`` does), but no missing directory for it.
* A device or FIFO (``/dev/null``, a terminal, a named pipe): opened and written in place.
* A directory, or a name ending in a slash: refused.

Every failure is an :class:`~pinger.errors.OutputError` whose message is one sentence naming the file,
such as ``cannot write /dev/full: no space left on device``. A broken pipe on standard output stays
``BrokenPipeError``: the command line ends quietly on it (``pinger export | head``).

Before a command reads anything, ``refuse_output_over_inputs`` makes sure its output is none of its
inputs: ``export -o data/pinger.sqlite`` would otherwise replace the store with a CSV.
"""

from __future__ import annotations

import os
import secrets
import stat
import sys
from collections.abc import Iterable

from .errors import OutputError, OutputIsInput

STANDARD_OUTPUT = "-"
"""The name that means standard output, as in most Unix tools (a file named - is ``./-``)."""

_NEW_FILE_MODE = 0o666  # less the umask, as the kernel applies it to every file it creates
_TEMPORARY_ATTEMPTS = 100


def write_text(path: str | os.PathLike[str] | None, text: str, *, encoding: str = "utf-8") -> None:
    """Write text, encoded and with its line ends unchanged, to what ``path`` names (see the module)."""
    write_bytes(path, text.encode(encoding))


def write_bytes(path: str | os.PathLike[str] | None, data: bytes) -> None:
    """Write data to standard output (``None`` or ``"-"``), or to the file, device, FIFO or link target
    that ``path`` names."""
    if path is None or (isinstance(path, str) and path == STANDARD_OUTPUT):
        _write_standard_output(data)
        return
    name = os.fspath(path)
    if not name:
        raise OutputError("cannot write to an empty file name")
    try:
        found: os.stat_result | None = os.lstat(name)
    except FileNotFoundError:
        found = None
    except OSError as err:  # a parent that is a file, no right to search a directory, a loop of links
        raise OutputError(f"cannot write {name}: {_reason(err)}") from None
    if found is None:
        if name.endswith(os.sep):
            raise OutputError(f"cannot write {name}: a file name cannot end with {os.sep}")
        _replace_atomically(name, data, None)
    elif stat.S_ISREG(found.st_mode):
        _replace_atomically(name, data, found)
    elif stat.S_ISDIR(found.st_mode):
        raise OutputError(f"cannot write {name}: it is a directory")
    else:
        _write_in_place(name, data, is_link=stat.S_ISLNK(found.st_mode))


def refuse_output_over_inputs(
    output: str | os.PathLike[str] | None,
    inputs: Iterable[tuple[str, str | os.PathLike[str]]],
    option: str = "-o",
) -> None:
    """Raise OutputIsInput when ``output`` (as ``write_bytes`` takes it) is the same file as one of ``inputs``.

    ``inputs`` are (what it is, path) pairs, such as ("the store", "data/pinger.sqlite"); a path need not
    exist. Two names are the same file when they reach one inode (device and inode number, following
    symbolic links: a link, a hard link, ``..`` or another spelling), or, where one of them does not exist
    yet, when their resolved paths are equal (a dangling link to the store's future ``-wal``). Standard
    output (``None`` or ``-``) is checked too: ``pinger export >> data/pinger.sqlite`` would append to the
    store. Nothing is opened for writing here.
    """
    pairs = [(role, os.fspath(path)) for role, path in inputs]
    if output is None or (isinstance(output, str) and output == STANDARD_OUTPUT):
        written = _standard_output_file()
        if written is None:
            return
        for role, path in pairs:
            if _same_inode(written, _stat(path)):
                raise OutputIsInput(
                    f"standard output is {role} {path} (the same file): pinger never writes its output over one "
                    "of its inputs; send it elsewhere"
                )
        return
    name = os.fspath(output)
    found = _stat(name)
    resolved = os.path.realpath(name)
    for role, path in pairs:
        if _same_inode(found, _stat(path)) or resolved == os.path.realpath(path):
            raise OutputIsInput(
                f"{option} {name} is {role} {path} (the same file): pinger never writes its output over one of "
                "its inputs; choose another file"
            )


def _stat(path: str) -> os.stat_result | None:
    try:
        return os.stat(path)
    except (OSError, ValueError):  # not there (or not reachable), or a name with a NUL byte
        return None


def _same_inode(a: os.stat_result | None, b: os.stat_result | None) -> bool:
    return a is not None and b is not None and (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _standard_output_file() -> os.stat_result | None:
    """What standard output is, when it is a regular file (a redirection such as ``> out.csv``); else None."""
    try:
        found = os.fstat(sys.stdout.fileno())
    except (AttributeError, ValueError, OSError):  # replaced by a stream without a descriptor, or closed
        return None
    return found if stat.S_ISREG(found.st_mode) else None


def _write_standard_output(data: bytes) -> None:
    """The bytes after whatever text is already waiting in ``sys.stdout``."""
    stream = sys.stdout
    try:
        stream.flush()
        stream.buffer.write(data)
        stream.buffer.flush()
    except BrokenPipeError:
        raise
    except OSError as err:
        raise OutputError(f"cannot write standard output: {_reason(err)}") from None


def _replace_atomically(name: str, data: bytes, replaced: os.stat_result | None) -> None:
    directory = os.path.dirname(name)
    if replaced is None and directory:
        try:
            os.makedirs(directory, exist_ok=True)
        except OSError as err:
            raise OutputError(
                f"cannot write {name}: cannot create the directory {err.filename or directory}: {_reason(err)}"
            ) from None
    temporary, handle = _create_temporary(name, directory or os.curdir)
    try:
        try:
            if replaced is not None:
                os.fchmod(handle, stat.S_IMODE(replaced.st_mode))
            _write_all(handle, data)
            os.fsync(handle)
        finally:
            os.close(handle)
        os.replace(temporary, name)
    except BaseException as err:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        if isinstance(err, OSError):
            raise OutputError(f"cannot write {name}: {_reason(err)}") from None
        raise
    _sync_directory(directory or os.curdir)


def _create_temporary(name: str, directory: str) -> tuple[str, int]:
    """A new file beside ``name``: created exclusively (O_EXCL never follows a link someone put there)."""
    prefix = os.path.join(directory, f".{os.path.basename(name)[:50]}.")  # 50 characters fit in NAME_MAX bytes
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(_TEMPORARY_ATTEMPTS):
        temporary = f"{prefix}{_random_suffix()}.tmp"
        try:
            return temporary, os.open(temporary, flags, _NEW_FILE_MODE)
        except FileExistsError:
            continue
        except OSError as err:
            place = "the current directory" if directory == os.curdir else directory
            raise OutputError(f"cannot write {name}: cannot create a file in {place}: {_reason(err)}") from None
    raise OutputError(f"cannot write {name}: no unused temporary name beside it after {_TEMPORARY_ATTEMPTS} tries")


def _random_suffix() -> str:
    return secrets.token_hex(4)


def _write_in_place(name: str, data: bytes, *, is_link: bool) -> None:
    """Open what ``name`` names (following a link) and write into it: no temporary file, no rename."""
    shown = name
    if is_link:
        try:
            shown = f"{name} (a link to {os.readlink(name)})"
        except OSError:
            pass  # gone or replaced since: the open below says what is there now
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        handle = os.open(name, flags, _NEW_FILE_MODE)
        try:
            _write_all(handle, data)
            if stat.S_ISREG(os.fstat(handle).st_mode):  # devices and FIFOs have nothing to flush
                os.fsync(handle)
        finally:
            os.close(handle)
    except OSError as err:  # a broken pipe here is a FIFO whose reader left: a failure, not the end of a pager
        raise OutputError(f"cannot write {shown}: {_reason(err)}") from None


def _write_all(handle: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(handle, view) :]


def _sync_directory(directory: str) -> None:
    """Make the rename durable. Best effort: some file systems cannot sync a directory, and the file is in place."""
    try:
        handle = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)


def _reason(err: OSError) -> str:
    """The system's words for the error, as the middle of a sentence: 'no space left on device'."""
    reason = err.strerror or str(err) or type(err).__name__
    return reason[:1].lower() + reason[1:] if reason[1:2].islower() else reason
