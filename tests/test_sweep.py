"""Real pings: loopback from here, and a sealed namespace lab for hosts that are on, off, or switched."""

from __future__ import annotations

import json
import os
import sys

import pytest

from pinger.cli import _json_line
from pinger.collector.engine import ping_addresses
from pinger.config import PingSettings
from pinger.models import HostResult
from tests.support import ROOT, pinger_command


def sweep_json(lab, config_path) -> list[dict]:
    result = lab.run(pinger_command("sweep", "-c", str(config_path), "--json"), cwd=ROOT)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def lab_config(write_config, hosts: list[str], timeout: str = "300ms", retries: int = 0) -> os.PathLike:
    return write_config(
        "\n".join(
            [
                "timezone: UTC",
                "interval: 2s",
                f"ping: {{timeout: {timeout}, retries: {retries}}}",
                "allow: [10.199.0.0/16]",
                "pools:",
                "  - name: LAB",
                "    watts: 100",
                "    hosts:",
                *(f"      - {host}" for host in hosts),
            ]
        )
    )


@pytest.mark.skipif(os.geteuid() != 0, reason="raw ICMP sockets need root")
def test_loopback_hosts_answer_in_process():
    addresses = ["127.0.0.1", "127.0.0.2", "127.1.2.3"]
    outcomes = ping_addresses(addresses, PingSettings(timeout=1.0, retries=0))
    assert [outcome.up for outcome in outcomes] == [True, True, True]
    assert all(0 <= outcome.rtt_ms < 1000 for outcome in outcomes)


@pytest.mark.skipif(os.geteuid() != 0, reason="raw ICMP sockets need root")
def test_the_same_address_twice_gets_two_answers():
    outcomes = ping_addresses(["127.0.0.1", "127.0.0.1"], PingSettings(timeout=1.0, retries=0))
    assert [outcome.up for outcome in outcomes] == [True, True]


def test_sweep_cli_loopback_json(run_pinger):
    result = run_pinger("sweep", "-c", str(ROOT / "config" / "demo.yaml"), "--json")
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) == 11
    assert {record["pool"] for record in records} == {"DEMO-1", "DEMO-2"}
    assert all(record["up"] == 1 and isinstance(record["rtt_ms"], float) for record in records)


@pytest.mark.parametrize(
    "host",
    [
        HostResult("DEMO-1", "10.0.0.1", True, 0.123, None),
        HostResult("DEMO-1", "10.0.0.2", True, 12.0, None),
        HostResult('Pool "Ü"\\1', "pc-7.example", False, None, "name does not resolve (Name or service not known)"),
        HostResult("P", "10.0.0.3", False, None, "send failed: Network is unreachable\n"),
    ],
)
def test_sweep_json_lines_are_exactly_what_json_dumps_writes(host):
    from json.encoder import encode_basestring_ascii

    record = {
        "pool": host.pool,
        "host": host.host,
        "up": int(host.up) if host.observed else None,
        "rtt_ms": host.rtt_ms,
    }
    if host.error:
        record["error"] = host.error
    assert _json_line(host, encode_basestring_ascii) == json.dumps(record) + "\n"


def _unprivileged_icmp_denied() -> bool:
    try:
        low, high = map(int, open("/proc/sys/net/ipv4/ping_group_range").read().split())
    except OSError:
        return False
    return not (low <= os.getegid() <= high)


@pytest.mark.skipif(not _unprivileged_icmp_denied(), reason="this machine permits unprivileged ICMP sockets")
def test_unprivileged_mode_fails_with_one_clear_sentence(write_config, run_pinger):
    path = write_config("""
        timezone: UTC
        ping: {privileged: false}
        pools:
          - {name: A, watts: 1, hosts: [127.0.0.1]}
    """)
    result = run_pinger("sweep", "-c", str(path))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "unprivileged ICMP sockets" in lines[0] and "ping_group_range" in lines[0]
    assert "CAP_NET_RAW" in lines[0] and "root" in lines[0]


def test_lab_sees_on_and_off_hosts(lab, write_config):
    hosts = [lab.address(i) for i in range(40)]
    on = set(hosts[::3])
    lab.switch_on(on)
    records = sweep_json(lab, lab_config(write_config, hosts))
    assert [record["host"] for record in records] == hosts
    assert {record["host"] for record in records if record["up"]} == on
    assert all(record["rtt_ms"] is None for record in records if not record["up"])


def test_lab_sees_a_host_switched_off_and_on_between_sweeps(lab, write_config):
    hosts = [lab.address(i) for i in range(4)]
    config = lab_config(write_config, hosts)
    lab.switch_on(hosts)
    assert [record["up"] for record in sweep_json(lab, config)] == [1, 1, 1, 1]
    lab.switch_off([hosts[1]])
    assert [record["up"] for record in sweep_json(lab, config)] == [1, 0, 1, 1]
    lab.switch_on([hosts[1]])
    lab.switch_off([hosts[3]])
    assert [record["up"] for record in sweep_json(lab, config)] == [1, 1, 1, 0]


def test_lab_unresolvable_name_is_not_observed_with_reason(lab, write_config):
    # Inside the lab no DNS server is reachable; /etc/hosts still answers for localhost.
    lab.switch_on([lab.address(0)])
    path = write_config("""
        timezone: UTC
        ping: {timeout: 300ms, retries: 0}
        pools:
          - name: LAB
            watts: 100
            hosts: [10.199.0.1, pc-nowhere.invalid, localhost]
    """)
    records = sweep_json(lab, path)
    assert [(record["host"], record["up"]) for record in records] == [
        ("10.199.0.1", 1),
        ("pc-nowhere.invalid", None),  # not observed: not off
        ("localhost", 1),
    ]
    assert "does not resolve" in records[1]["error"]


def test_lab_hosts_off_cost_the_timeout_and_retries(lab, write_config):
    # Two silent hosts, timeout 400 ms, one retry: the sweep lasts at least 2 × 400 ms.
    import time

    path = lab_config(write_config, [lab.address(0), lab.address(1)], timeout="400ms", retries=1)
    started = time.monotonic()
    records = sweep_json(lab, path)
    assert time.monotonic() - started >= 0.8
    assert [record["up"] for record in records] == [0, 0]


def test_sweep_pacing_follows_the_rate(lab, write_config):
    # 30 hosts at 20 packets per second cannot be sent in less than 29 / 20 = 1.45 s.
    import time

    hosts = [lab.address(i) for i in range(30)]
    lab.switch_on(hosts)
    path = write_config(
        "\n".join(
            [
                "timezone: UTC",
                "ping: {timeout: 300ms, retries: 0, rate: 20}",
                "pools:",
                "  - name: LAB",
                "    watts: 1",
                f"    hosts: [{lab.address(0)}-{lab.address(29)}]",
            ]
        )
    )
    started = time.monotonic()
    records = sweep_json(lab, path)
    assert time.monotonic() - started >= 1.45
    assert all(record["up"] == 1 for record in records)


RESOLVE_TWICE = """
import logging, sys
from pinger.collector.targets import Resolver
logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
resolver = Resolver(cache_seconds=0)  # no cache: every call asks again
for _ in range(3):
    print(resolver.resolve(["pc-nowhere.invalid", "localhost"]))
"""


def test_lab_a_failing_name_is_logged_once_not_every_sweep(lab):
    result = lab.run([sys.executable, "-c", RESOLVE_TWICE], cwd=ROOT)
    assert result.returncode == 0, result.stderr
    answers = result.stdout.splitlines()
    assert len(answers) == 3 and all("'localhost': ('127.0.0.1', None)" in answer for answer in answers)
    assert all("does not resolve" in answer for answer in answers)
    assert result.stderr.count("pc-nowhere.invalid: name does not resolve") == 1
