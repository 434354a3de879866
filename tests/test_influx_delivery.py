"""The spool's delivery to InfluxDB (pinger.store.influx_delivery): what each server answer makes of a request
(a ``Sent``), when the next request goes, and one-shot commands that stop at once when the server is away.

Against the InfluxDB stand-in (tests/support/influx_standin.py), with the real influxdb-client.
"""

from __future__ import annotations

import time

import pytest

from tests.support import influx_storage
from tests.support.influx_standin import InfluxStandin

LINE = "ping,pool=LOOP,host=127.0.0.1 up=1i,rtt_ms=0.1 1780000000"


@pytest.fixture
def standin():
    with InfluxStandin(org="pinger", token="s3cret-token") as server:
        yield server


def store_for(write_config, tmp_path, url):
    from pinger.config_load import load_config
    from pinger.store.influx import InfluxStore

    config = write_config(f"""
        timezone: UTC
        {influx_storage(url, tmp_path / "spool.sqlite")}
        pools:
          - {{name: LOOP, watts: 50, hosts: [127.0.0.1]}}
    """)
    return InfluxStore(load_config(config, environ={"INFLUX_TOKEN": "s3cret-token"}), deliver=False)


@pytest.mark.parametrize(
    ("answer", "expected", "left"),
    [
        ((), ("delivered", None), 0),
        ((400,), ("set_aside", None), 0),
        ((422,), ("set_aside", None), 0),
        ((401,), ("refused", 300.0), 1),
        ((404,), ("refused", 300.0), 1),
        ((503,), ("refused", None), 1),
        ((429, 7), ("refused", 7.0), 1),  # only InfluxDB Cloud sends Retry-After
    ],
    ids=["204", "400", "422", "401", "404", "503", "429-retry-after"],
)
def test_each_answer_is_one_kind_of_sent(standin, write_config, tmp_path, answer, expected, left):
    from pinger.store.influx_delivery import Sent

    store = store_for(write_config, tmp_path, standin.url)
    try:
        store.spool.append("pinger", [LINE])
        if answer:
            standin.fail_next(1, *answer)
        sent = store.delivery._send(store.spool.oldest(100))
        assert sent == Sent(*expected) and sent.ok == (expected[0] in ("delivered", "set_aside"))
        assert store.backlog() == left
        assert store.spool.rejected_count() == (1 if expected[0] == "set_aside" else 0)
    finally:
        store.close(flush_seconds=0)


def test_a_server_that_is_away_is_unreachable_and_the_backoff_grows(standin, write_config, tmp_path):
    store = store_for(write_config, tmp_path, standin.url)
    standin.stop()
    try:
        store.spool.append("pinger", [LINE])
        delivery = store.delivery
        sent = delivery._send(store.spool.oldest(100))
        assert sent.outcome == "unreachable" and sent.wait_s is None and not sent.ok
        waits = []
        for _ in range(8):
            before = time.monotonic()
            delivery._after(sent)
            waits.append(round(delivery._resume_at - before))
        assert waits == [1, 2, 4, 8, 16, 32, 60, 60]
        delivery._after(sent._replace(outcome="delivered"))
        delivery._after(sent)
        assert round(delivery._resume_at - time.monotonic()) == 1  # a delivery resets the backoff
    finally:
        store.close(flush_seconds=0)


def test_a_too_large_batch_is_sent_in_chunks_or_set_aside(write_config, tmp_path):
    from pinger.store.influx_delivery import DELIVERED, SET_ASIDE

    lines = [f"ping,pool=LOOP,host=127.0.0.{n} up=1i {1780000000 + n}" for n in range(3000)]
    with InfluxStandin(token="s3cret-token", max_body_bytes=200_000) as roomy:
        store = store_for(write_config, tmp_path, roomy.url)
        try:
            store.spool.append("pinger", lines)
            roomy.fail_next(1, 413)
            assert store.delivery._send(store.spool.oldest(10_000)) == DELIVERED  # then in chunks of 1000
            assert len(roomy.points(bucket="pinger")) == 3000 and store.backlog() == 0
        finally:
            store.close(flush_seconds=0)
    with InfluxStandin(token="s3cret-token", max_body_bytes=1_000) as tiny:
        store = store_for(write_config, tmp_path / "2", tiny.url)
        try:
            store.spool.append("pinger", lines)
            assert store.delivery._send(store.spool.oldest(10_000)) == SET_ASIDE
            assert store.spool.rejected_count() == 1
        finally:
            store.close(flush_seconds=0)


# -- pinger import into an InfluxDB that is away ----------------------------------------------------------------


def import_into(run_pinger, write_config, tmp_path, url):
    config = write_config(f"""
        timezone: UTC
        {influx_storage(url, tmp_path / "spool.sqlite")}
        pools:
          - {{name: LOOP, watts: 50, hosts: [127.0.0.1]}}
    """)
    samples = tmp_path / "s.lp"
    samples.write_text("".join(f"ping,pool=LOOP,host=127.0.0.1 up=1i {1780000000 + 60 * n}\n" for n in range(100)))
    started = time.monotonic()
    done = run_pinger(
        "import", "-c", str(config), str(samples), "--precision", "s", env={"INFLUX_TOKEN": "s3cret-token"}
    )
    return done, time.monotonic() - started


def test_import_into_an_influxdb_that_refuses_connections_fails_at_once_in_one_sentence(
    standin, run_pinger, write_config, tmp_path
):
    # It used to retry silently with a growing backoff until its 300-second deadline (244 s, then exit 1).
    standin.stop()
    done, took = import_into(run_pinger, write_config, tmp_path, standin.url)
    assert done.returncode == 1
    (message,) = done.stderr.strip().splitlines()
    assert f"InfluxDB at {standin.url} is not reachable (connection refused)" in message
    assert "stay in the spool" in message and "Traceback" not in done.stderr
    assert took < 60  # the client's timeout is 15 s; generous for a busy machine, far below the old 244 s


@pytest.mark.slow
def test_import_into_an_influxdb_that_never_answers_fails_after_the_clients_timeout(
    standin, run_pinger, write_config, tmp_path
):
    from pinger.store.influx_client import TIMEOUT_MS

    standin.set_delay(3600)  # accepts the connection, never answers
    try:
        done, took = import_into(run_pinger, write_config, tmp_path, standin.url)
    finally:
        standin.set_delay(0)
    assert done.returncode == 1
    (message,) = done.stderr.strip().splitlines()
    assert f"is not reachable (no answer within {TIMEOUT_MS // 1000} s)" in message
    assert TIMEOUT_MS / 1000 <= took < TIMEOUT_MS / 1000 + 45
