"""The pinger command run in the test's own process: ``main(argv)`` as a subprocess runs it, in a tenth of the time.

A ``python -m pinger`` subprocess costs ~0.4 s on the CI machine (the interpreter, then Pinger's imports);
``main(argv)`` in the test's process ~0.05 s. ``run_in_process`` gives the same ``CompletedProcess`` a
subprocess run gives (exit code, standard output and error as text, with universal newlines), and keeps the
call apart from the test process: standard streams, environment, working directory (the checkout unless
told otherwise, as for the subprocess), the root logger, and the signal handlers and wake-up descriptor a
daemon command installs are all put back afterwards.

What needs a process of its own stays a subprocess (the ``run_pinger_process`` fixture, ``Daemon``): a signal
sent to a daemon, a standard output that is a file or a closed pipe, ``python -m pinger``'s own exit, start-up
imports, and a call that could hang (a process can be killed at a limit; a call in the test's process cannot).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Iterator

from tests.support import ROOT, pinger_command

_HANDLED_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def run_in_process(
    *args: str, env: dict[str, str] | None = None, cwd: os.PathLike[str] | str = ROOT
) -> subprocess.CompletedProcess[str]:
    """``pinger ARGS`` through ``pinger.cli.main`` in this process, with ``env`` added to the environment, in
    the directory ``cwd`` (default: the checkout)."""
    from pinger.cli import main

    out, err = _stream(), _stream()
    with _environment(env or {}), _working_directory(cwd), _signals_kept(), _logging_kept():
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as exit_:  # argparse's --help and --version
                code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
                if isinstance(exit_.code, str):
                    print(exit_.code, file=sys.stderr)
            except BaseException:  # what would end the process with a traceback (--debug, a bug)
                traceback.print_exc()
                code = 1
    return subprocess.CompletedProcess(pinger_command(*args), code, _text(out), _text(err))


def _stream() -> io.TextIOWrapper:
    """A standard stream with bytes beneath (``sys.stdout.buffer`` is written to), as a pipe's is."""
    return io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict", newline="\n", write_through=True)


def _text(stream: io.TextIOWrapper) -> str:
    """What was written, read back as ``subprocess.run(text=True)`` reads a pipe: universal newlines."""
    stream.flush()
    raw = stream.buffer.getvalue()  # type: ignore[attr-defined]
    return io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8", errors="strict").read()


@contextlib.contextmanager
def _environment(changes: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in changes}
    os.environ.update(changes)
    if "TZ" in changes:
        time.tzset()
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        if "TZ" in changes:
            time.tzset()


@contextlib.contextmanager
def _working_directory(path: os.PathLike[str] | str) -> Iterator[None]:
    before = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


@contextlib.contextmanager
def _signals_kept() -> Iterator[None]:
    """The handlers of SIGTERM, SIGINT and SIGHUP and the signal wake-up descriptor, as they were."""
    handlers = {number: signal.getsignal(number) for number in _HANDLED_SIGNALS}
    wakeup = signal.set_wakeup_fd(-1)
    signal.set_wakeup_fd(wakeup)
    try:
        yield
    finally:
        signal.set_wakeup_fd(wakeup)
        for number, handler in handlers.items():
            signal.signal(number, handler)


@contextlib.contextmanager
def _logging_kept() -> Iterator[None]:
    """The root logger bare, as in a fresh process (main's logging.basicConfig then takes effect, writing to the
    redirected standard error); afterwards its handlers and level as they were."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    root.handlers = []
    try:
        yield
    finally:
        for added in root.handlers:
            added.close()
        root.handlers = handlers
        root.setLevel(level)
