"""Shared fixtures: the sealed network lab, config files written for a test, running the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from lab import Lab, can_build_labs, remove_stale_labs

ROOT = Path(__file__).resolve().parent.parent


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
def write_config(tmp_path):
    """Write YAML (dedented) to a file in tmp_path and return its path."""

    def write(text: str, name: str = "pinger.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip("\n"))
        return path

    return write


def pinger_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "pinger", *args]


@pytest.fixture
def run_pinger():
    """Run the pinger CLI in a subprocess (in the root namespace: loopback targets only)."""

    def run(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
        full_env = {**os.environ, **(env or {})}
        return subprocess.run(pinger_command(*args), capture_output=True, text=True, timeout=timeout,
                              cwd=ROOT, env=full_env)

    return run
