"""Shared fixtures: the sealed network lab, config files written for a test, running the CLI."""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import textwrap
from pathlib import Path

import pytest

from tests.support import ROOT, pinger_command
from tests.support.lab import Lab, can_build_labs, remove_stale_labs


@pytest.fixture(scope="session", autouse=True)
def _no_stale_labs():
    if can_build_labs() is None:
        remove_stale_labs()
    yield


@pytest.fixture
def lab():
    reason = can_build_labs()
    if reason:
        pytest.skip(f"sealed network lab unavailable: {reason}")
    with Lab() as built:
        yield built


@pytest.fixture
def public_dir():
    """A directory user nobody can read (pytest's tmp_path lives under a root-only directory)."""
    with tempfile.TemporaryDirectory(prefix="pinger-public-") as name:
        os.chmod(name, 0o755)
        yield Path(name)


@pytest.fixture
def write_config(tmp_path):
    """Write YAML (dedented) to a file in tmp_path and return its path."""

    def write(text: str, name: str = "pinger.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip("\n"))
        return path

    return write


@pytest.fixture
def run_pinger():
    """Run the pinger CLI in a subprocess (in the root namespace: loopback targets only)."""

    def run(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
        full_env = {**os.environ, **(env or {})}
        return subprocess.run(
            pinger_command(*args), capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=full_env
        )

    return run


SWEEP_LOGGED = "hosts on,"  # the collector's one line per sweep: "sweep …: 3/3 hosts on, 0.004 s"


class Daemon:
    """A pinger daemon in a subprocess whose log (stderr) the test reads as it goes."""

    def __init__(self, argv: list[str], env: dict[str, str] | None = None, popen=subprocess.Popen):
        self.process = popen(argv, cwd=ROOT, stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})})
        self.lines: list[str] = []

    def wait_for(self, text: str, count: int = 1) -> None:
        """Read the log until ``count`` more lines contain ``text``; fail if the daemon ends first."""
        seen = 0
        for line in self.process.stderr:
            self.lines.append(line)
            if text in line:
                seen += 1
                if seen == count:
                    return
        raise AssertionError(f"the daemon ended before logging {text!r}:\n{self.log}")

    def wait_for_sweeps(self, count: int) -> None:
        self.wait_for(SWEEP_LOGGED, count)

    def stop(self, signal_number: int = signal.SIGTERM, timeout: float = 10) -> int:
        """Signal the daemon, read the rest of its log, and return its exit code."""
        self.process.send_signal(signal_number)
        _, rest = self.process.communicate(timeout=timeout)
        self.lines.extend(rest.splitlines(keepends=True))
        return self.process.returncode

    def finish(self, timeout: float = 60) -> int:
        """Wait for a daemon that ends by itself (--sweeps N); return its exit code."""
        _, rest = self.process.communicate(timeout=timeout)
        self.lines.extend(rest.splitlines(keepends=True))
        return self.process.returncode

    @property
    def log(self) -> str:
        return "".join(self.lines)

    @property
    def sweep_lines(self) -> list[str]:
        return [line for line in self.lines if SWEEP_LOGGED in line]

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def daemon():
    """Start pinger commands as daemons: ``daemon("collect", "-c", path, env=…)``; all are killed at the end."""
    started: list[Daemon] = []

    def start(*args: str, env: dict[str, str] | None = None, popen=subprocess.Popen) -> Daemon:
        started.append(Daemon(pinger_command(*args), env, popen))
        return started[-1]

    yield start
    for running in started:
        running.kill()
