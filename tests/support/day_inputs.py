"""A pytest plugin that records what the suite's tests hand the nearest-sample rule (tests/test_influx_runs.py).

``python -m pytest -p tests.support.day_inputs TESTS`` with PINGER_RECORD_DAY_INPUTS=FILE pickles to FILE every
call that returns of the ways samples become figures:

- ``arrays.pool_day_figures`` (a pool-day's rows and hours from DaySamples: what the aggregator computes),
- ``daily.compute_host_figures`` (a host-day's row and hours: the reference test_daily and others compute),
- ``rule.per_bucket`` and ``rule.state_at`` (the rule's two primitives, under tally, on_and_observed, ...:
  what test_rule exercises), except when compute_host_figures calls them (its call is recorded),

each with the test that made it. Calls that already pass runs (``lasts``, or DaySamples runs longer than one
sample) are left out. Without the variable the plugin does nothing.
"""

from __future__ import annotations

import functools
import os
import pickle
from collections.abc import Callable
from typing import Any

import pytest

ENV = "PINGER_RECORD_DAY_INPUTS"


class Recorder:
    def __init__(self, path: str):
        from pinger.aggregator import arrays, daily, job, rule

        self.path = path
        self.calls: list[tuple[str, str, tuple]] = []
        self.seen: set[bytes] = set()
        self.test = ""
        self.inside_day = False
        for kind, name, modules in (
            ("pool", "pool_day_figures", (arrays, job)),
            ("day", "compute_host_figures", (daily, job)),
            ("buckets", "per_bucket", (rule, daily)),
            ("state", "state_at", (rule, daily)),
        ):
            wrapped = self._wrap(kind, getattr(modules[0], name))
            for module in modules:
                if hasattr(module, name):
                    setattr(module, name, wrapped)

    # Positional arguments before ``lasts``, per kind.
    _BEFORE_LASTS = {"pool": 6, "day": 8, "buckets": 4, "state": 4}

    def _wrap(self, kind: str, function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def recording(*args: Any, **kwargs: Any) -> Any:
            nested = self.inside_day
            if kind in ("pool", "day"):
                self.inside_day = True
            try:
                result = function(*args, **kwargs)
            finally:
                self.inside_day = nested
            count = self._BEFORE_LASTS[kind]
            lasts = args[count] if len(args) > count else kwargs.get("lasts")
            if kind == "pool":
                lasts = None if (args[4].runs.start == args[4].runs.stop).all() else "runs"
            if not nested and lasts is None and set(kwargs) <= {"lasts"}:
                self._keep(kind, args[:count])
            return result

        return recording

    def _keep(self, kind: str, args: tuple) -> None:
        """Keep a copy (sequences as lists), once per distinct call."""
        copied = tuple(list(a) if type(a) in (list, tuple, range) else a for a in args)
        key = pickle.dumps((kind, copied))
        if key not in self.seen:
            self.seen.add(key)
            self.calls.append((self.test, kind, copied))

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item):
        self.test = item.nodeid
        yield
        self.test = ""

    def pytest_sessionfinish(self) -> None:
        with open(self.path, "wb") as out:
            pickle.dump(self.calls, out)


def pytest_configure(config: pytest.Config) -> None:
    path = os.environ.get(ENV)
    if path:
        config.pluginmanager.register(Recorder(path), "day-inputs-recorder")
