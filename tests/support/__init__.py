"""What the tests and the benchmarks share: the checkout's root, and how to run the pinger command."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def pinger_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "pinger", *args]


def as_nobody(argv: list[str]) -> list[str]:
    """The command run as user nobody, without capabilities (setpriv, from util-linux)."""
    return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
            "--bounding-set=-all", *argv]
