"""The collector stops within moments of SIGTERM, wherever in its loop the signal lands.

Its handlers once called ``threading.Event.set``, the nightly daemon's deadlock (tests/test_nightly_stop.py):
the collector hung at the 25th point after a sweep. The collector runs with a fake ping and a store in memory
(tests/support/injected.py), so each of the many runs is quick and sends nothing.
"""

from __future__ import annotations

from pathlib import Path

from tests.support import loopback_config
from tests.support.stop_points import assert_stops_at_once, stop_at_every_point


def drive(config_path: str) -> None:
    """In a child process: the collector, signalled at each point after a sweep's log line."""
    from pinger.collector.daemon import Collector
    from pinger.collector.lock import CollectorLock
    from pinger.config_load import load_config
    from tests.support.injected import FakePing, MemoryStore

    config = load_config(Path(config_path))

    def start():
        lock = CollectorLock(config.storage.path, config.collector_name, ["LOOP"])
        lock.acquire()
        collector = Collector(config, MemoryStore(), lock, ping=FakePing({"127.0.0.1": 0.1}))
        collector.install_signal_handlers()
        return lambda: collector.run(immediately=True)

    stop_at_every_point(start, "pinger.collector", "sweep ")


def test_sigterm_anywhere_in_the_collector_loop_stops_it_at_once(write_config, tmp_path):
    config = loopback_config(write_config, tmp_path / "s.sqlite", hosts="127.0.0.1")
    assert_stops_at_once(f"from tests.test_collector_stop import drive; drive({str(config)!r})")
