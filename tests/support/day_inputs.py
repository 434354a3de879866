"""A pytest plugin that records what the suite's tests hand the nearest-sample rule (tests/test_influx_runs.py).

``python -m pytest -p tests.support.day_inputs TESTS`` with PINGER_RECORD_DAY_INPUTS=FILE pickles to FILE every
call that returns of the three ways samples become figures:

- ``daily.compute_host_figures`` (a host-day's row and hours: what the aggregator and test_daily compute),
- ``rule.per_bucket`` and ``rule.state_at`` (the rule's two primitives, under tally, on_and_observed, ...:
  what test_rule exercises), except when compute_host_figures calls them (its call is recorded),

each with the test that made it. Calls that already pass runs (``lasts``) are left out. Without the
variable the plugin does nothing.
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
        from pinger.aggregator import daily, job, rule

        self.path = path
        self.calls: list[tuple[str, str, tuple]] = []
        self.seen: set[bytes] = set()
        self.test = ""
        self.inside_day = False
        for kind, name, modules in (
            ("day", "compute_host_figures", (daily, job)),
            ("buckets", "per_bucket", (rule, daily)),
            ("state", "state_at", (rule, daily)),
        ):
            wrapped = self._wrap(kind, getattr(rule if kind != "day" else daily, name))
            for module in modules:
                if hasattr(module, name):
                    setattr(module, name, wrapped)

    # Positional arguments before ``lasts``, per kind.
    _BEFORE_LASTS = {"day": 8, "buckets": 4, "state": 4}

    def _wrap(self, kind: str, function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def recording(*args: Any, **kwargs: Any) -> Any:
            nested = self.inside_day
            if kind == "day":
                self.inside_day = True
            try:
                result = function(*args, **kwargs)
            finally:
                self.inside_day = nested
            count = self._BEFORE_LASTS[kind]
            lasts = args[count] if len(args) > count else kwargs.get("lasts")
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
