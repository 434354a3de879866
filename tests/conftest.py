"""Shared fixtures: the sealed network lab, config files written for a test, running the CLI."""

from __future__ import annotations

import os
import subprocess
import tempfile
import textwrap
from pathlib import Path

import pytest

from tests.support import ROOT, pinger_command
from tests.support.in_process import run_in_process
from tests.support.lab import Lab, can_build_labs, remove_stale_labs
from tests.support.processes import HANG_S, Daemon


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark by what a test uses: the `lab` fixture makes it a lab test, the `daemon` fixture a slow one
    (a daemon sweeps on its interval, in real time). Modules and tests mark the rest themselves."""
    for item in items:
        used = getattr(item, "fixturenames", ())
        if "lab" in used:
            item.add_marker(pytest.mark.lab)
        if "daemon" in used:
            item.add_marker(pytest.mark.slow)


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
    """Run the pinger CLI in the test's own process: ``main(argv)``, its result as a subprocess's
    (tests/support/in_process.py); ``env`` is added to the environment for the call."""
    return run_in_process


@pytest.fixture
def run_pinger_process():
    """Run the pinger CLI in a subprocess (in the root namespace: loopback targets only), for what needs a
    process: a standard output that is a file, ``python -m pinger``'s own exit, a call that could hang."""

    def run(*args: str, env: dict[str, str] | None = None, timeout: float = HANG_S) -> subprocess.CompletedProcess:
        full_env = {**os.environ, **(env or {})}
        return subprocess.run(
            pinger_command(*args), capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=full_env
        )

    return run


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
