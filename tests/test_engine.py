"""The sweep engine in the sealed lab: exact at thousands of hosts, retries, and replies that are not ours."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import sys

import pytest

from pinger.collector.engine import _PAYLOAD, PERMISSION_HINT, echo_request
from tests.support import ROOT, as_nobody, modules_loaded, pinger_command
from tests.support.processes import HANG_S


def ones_complement_sum(data: bytes) -> int:
    total = 0
    for offset in range(0, len(data), 2):
        total += (data[offset] << 8) + data[offset + 1]
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def test_echo_requests_carry_a_valid_checksum():
    for identifier, sequence in ((0, 0), (65535, 65535), (1234, 54321), (7, 65000)):
        packet = echo_request(identifier, sequence)
        assert packet[0] == 8 and packet[1] == 0
        assert struct.unpack("!HH", packet[4:8]) == (identifier, sequence)
        assert ones_complement_sum(packet) == 0xFFFF  # a valid Internet checksum sums to all ones


def test_echo_requests_match_icmplibs_packet_builder_byte_for_byte():
    # icmplib is not imported at run time (it costs ~60 ms of start-up); it stays the reference here.
    icmplib_sockets = pytest.importorskip("icmplib.sockets")
    builder = object.__new__(icmplib_sockets.ICMPv4Socket)  # no socket is opened: only the packet code runs
    builder._sock = None  # what its __del__ looks at
    for identifier, sequence in ((0, 0), (1, 1), (65535, 65535), (4660, 22136), (40000, 123)):
        assert echo_request(identifier, sequence) == builder._create_packet(identifier, sequence, _PAYLOAD)


def test_sweep_stays_clear_of_heavy_imports(write_config):
    # Start-up counts in every whole-process sweep (bench/sweep_bench.py): icmplib pulls in asyncio
    # and ssl (~60 ms), dataclasses pulls in inspect (~25 ms with building the classes); numpy and
    # matplotlib (the report's extra) would cost ~100 ms and more.
    config = write_config(
        "timezone: UTC\nallow: [127.0.0.0/8]\npools:\n  - name: LO\n    watts: 1\n    hosts: [127.0.0.1]\n"
    )
    heavy = ("icmplib", "asyncio", "ssl", "dataclasses", "inspect", "influxdb_client", "sqlite3", "numpy", "matplotlib")
    probe = "import sys; from pinger.cli import main; assert main(['sweep', '-c', sys.argv[1]]) == 0"
    assert modules_loaded(probe, str(config), packages=heavy)[0] == []


def write_lab_config(write_config, first: str, last: str, timeout="500ms", retries=0, name="lab.yaml"):
    return write_config(
        "\n".join(
            [
                "timezone: UTC",
                f"ping: {{timeout: {timeout}, retries: {retries}}}",
                "allow: [10.199.0.0/16]",
                "pools:",
                "  - name: LAB",
                "    watts: 1",
                f"    hosts: [{first}-{last}]",
            ]
        )
        + "\n",
        name,
    )


def sweep_up_set(lab, config) -> set[str]:
    result = lab.run(pinger_command("sweep", "-c", str(config), "--json"), cwd=ROOT)
    assert result.returncode == 0, result.stderr
    return {record["host"] for record in map(json.loads, result.stdout.splitlines()) if record["up"]}


def test_exact_at_three_thousand_hosts_on_off_and_toggled(lab, write_config):
    count = 3000
    hosts = [lab.address(i) for i in range(count)]
    on = set(hosts[::3]) | set(hosts[1::7])
    lab.switch_on(on)
    config = write_lab_config(write_config, hosts[0], hosts[-1])
    assert sweep_up_set(lab, config) == on
    toggled_off = set(sorted(on)[:150])
    toggled_on = set(hosts[2::11]) - on
    lab.switch_off(toggled_off)
    lab.switch_on(toggled_on)
    assert sweep_up_set(lab, config) == (on - toggled_off) | toggled_on


def test_exact_with_ipv4_and_ipv6_hosts_in_one_sweep(lab, write_config):
    hosts4 = [lab.address(i) for i in range(600)]
    hosts6 = [lab.address6(i) for i in range(600)]
    on = set(hosts4[::2]) | set(hosts6[1::3]) | {hosts6[-1]}
    lab.switch_on(on)
    config = write_config(
        "\n".join(
            [
                "timezone: UTC",
                "ping: {timeout: 500ms, retries: 0}",
                "allow: [10.199.0.0/16, 'fd00:199::/64']",
                "pools:",
                "  - name: LAB",
                "    watts: 1",
                f"    hosts: ['{hosts6[0]}-{hosts6[-1]}', {hosts4[0]}-{hosts4[-1]}]",
            ]
        )
        + "\n"
    )
    assert sweep_up_set(lab, config) == on
    lab.switch_off([hosts6[1], hosts4[0]])
    lab.switch_on([hosts6[0]])
    assert sweep_up_set(lab, config) == (on - {hosts6[1], hosts4[0]}) | {hosts6[0]}


def test_dns_names_prefer_ipv4_and_fall_back_to_ipv6(lab, write_config):
    lab.switch_on([lab.address(0), lab.address6(0), lab.address6(1)])
    lab.hosts_file(
        [
            ("pc-four.lab", lab.address(0)),
            ("pc-six.lab", lab.address6(0)),
            ("pc-both.lab", lab.address6(1)),
            ("pc-both.lab", lab.address(1)),
        ]
    )  # IPv6 on, IPv4 off
    config = write_config(
        "timezone: UTC\nping: {timeout: 300ms, retries: 0}\npools:\n  - name: LAB\n    watts: 1\n"
        "    hosts: [pc-four.lab, pc-six.lab, pc-both.lab]\n"
    )
    assert sweep_up_set(lab, config) == {"pc-four.lab", "pc-six.lab"}  # pc-both is pinged on IPv4, where it is off


def test_hosts_of_an_ip_version_the_machine_lacks_are_off_with_the_reason(monkeypatch):
    import errno
    import socket

    from pinger.collector import engine
    from pinger.config import PingSettings

    real_socket = socket.socket

    def no_ipv6(family=-1, *args, **kwargs):
        if family == socket.AF_INET6:
            raise OSError(errno.EAFNOSUPPORT, "Address family not supported by protocol")
        return real_socket(family, *args, **kwargs)

    monkeypatch.setattr(engine.socket, "socket", no_ipv6)
    outcomes = engine.ping_addresses(["127.0.0.1", "fd00:199::1", "127.0.0.2"], PingSettings(timeout=0.5, retries=1))
    assert [outcome.up for outcome in outcomes] == [True, False, True]
    assert outcomes[1].error == "IPv6 is not available on this machine"


ECHO_SEEN = r"""
import socket, sys
target, limit = socket.inet_aton(sys.argv[1]), float(sys.argv[2])
listen = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(0x0800))  # every IPv4 packet here
listen.settimeout(limit)
print("listening", flush=True)
while True:
    packet = listen.recv(2048)
    if packet[16:20] == target and packet[(packet[0] & 0xF) * 4] == 8:  # to the target, an ICMP echo request
        print("echo", flush=True)
        break
"""


def test_a_retry_finds_a_host_that_came_up_mid_sweep(lab, write_config):
    # The host is off when the first echo leaves (it is seen on the way out, in the sink) and on right after,
    # within the first round's 3 s timeout: only a retry can see it. The same without retries is the control.
    host = lab.address(0)
    for retries, expected in ((0, set()), (1, {host})):
        lab.switch_off([host])
        config = write_lab_config(write_config, host, host, timeout="3s", retries=retries, name=f"r{retries}.yaml")
        sink = subprocess.Popen(
            ["ip", "netns", "exec", lab.sink, sys.executable, "-c", ECHO_SEEN, host, str(HANG_S)],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert sink.stdout.readline() == "listening\n"
            process = lab.popen(
                pinger_command("sweep", "-c", str(config), "--json"), cwd=ROOT, stdout=subprocess.PIPE, text=True
            )
            assert sink.stdout.readline() == "echo\n"
        finally:
            sink.kill()
            sink.communicate()
        lab.switch_on([host])
        out, _ = process.communicate(timeout=HANG_S)
        assert {r["host"] for r in map(json.loads, out.splitlines()) if r["up"]} == expected, retries


FORGER = r"""
import socket, struct, sys, time
sources, target, seconds = sys.argv[1].split(","), sys.argv[2], float(sys.argv[3])

def checksum(data):
    total = sum((data[i] << 8) + data[i + 1] for i in range(0, len(data), 2))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF

send = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)  # we write the IP header
listen = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
listen.setblocking(False)
sent = seen = 0
deadline = time.monotonic() + seconds
while time.monotonic() < deadline:
    for source in sources:
        for identifier in (1, 2, 3):
            for sequence in range(0, 64):
                icmp = struct.pack("!BBHHH", 0, 0, 0, identifier, sequence) + b"forged-payload!!"
                icmp = icmp[:2] + struct.pack("!H", checksum(icmp)) + icmp[4:]
                header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), 0, 0, 64, 1, 0,
                                     socket.inet_aton(source), socket.inet_aton(target))
                send.sendto(header + icmp, (target, 0))
                sent += 1
    if sent == len(sources) * 3 * 64:
        print("forging", flush=True)
    while True:
        try:
            packet, (source, _) = listen.recvfrom(2048)
        except BlockingIOError:
            break
        seen += source in sources
    time.sleep(0.01)
print(sent, seen)
"""


def test_foreign_and_forged_replies_are_ignored(lab, write_config):
    # While the sweep runs, another process floods echo replies that claim to come from the hosts
    # that are off (identifiers 1-3, sequences 0-63), and a second sweep pings the same hosts.
    hosts = [lab.address(i) for i in range(64)]
    on = set(hosts[::2])
    off = [h for h in hosts if h not in on]
    lab.switch_on(on)
    config = write_lab_config(write_config, hosts[0], hosts[-1], timeout="1500ms")
    forger = lab.popen(
        [sys.executable, "-c", FORGER, ",".join(off), hosts[0], "2.5"], stdout=subprocess.PIPE, text=True
    )
    other = lab.popen(pinger_command("sweep", "-c", str(config), "--json"), cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert forger.stdout.readline() == "forging\n"
    assert sweep_up_set(lab, config) == on
    other_out, _ = other.communicate(timeout=HANG_S)
    assert {r["host"] for r in map(json.loads, other_out.splitlines()) if r["up"]} == on
    sent, seen = map(int, forger.communicate(timeout=HANG_S)[0].split())
    assert sent > 0 and seen > 0  # the forged replies really reached ICMP sockets in the lab


def test_auto_mode_falls_back_to_datagram_icmp_for_an_unprivileged_user(lab, public_dir):  # IPv4 and IPv6
    # ping_group_range is per network namespace: open it in the lab only, then sweep as nobody
    # (no CAP_NET_RAW), so privileged: auto must find raw sockets denied and use datagram ICMP.
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) is not installed")
    if lab.run(as_nobody([sys.executable, "-c", "import pinger.cli"]), cwd="/").returncode != 0:
        pytest.skip("user nobody cannot run this checkout's Python (a private directory on the way)")
    hosts = [lab.address(i) for i in range(300)]
    hosts6 = [lab.address6(i) for i in range(100)]
    on = set(hosts[::2]) | {hosts[-1]} | set(hosts6[::5])
    lab.switch_on(on)
    config = public_dir / "lab.yaml"
    config.write_text(
        f"timezone: UTC\nping: {{timeout: 500ms, retries: 0}}\n"
        f"pools:\n  - name: LAB\n    watts: 1\n"
        f"    hosts: [{hosts[0]}-{hosts[-1]}, '{hosts6[0]}-{hosts6[-1]}']\n"
    )
    config.chmod(0o644)
    sweep = as_nobody(pinger_command("sweep", "-c", str(config), "--json"))

    assert lab.run(["sysctl", "-qw", "net.ipv4.ping_group_range=0 2147483647"]).returncode == 0
    result = lab.run(sweep, cwd="/")
    assert result.returncode == 0, result.stderr
    assert {r["host"] for r in map(json.loads, result.stdout.splitlines()) if r["up"]} == on

    assert lab.run(["sysctl", "-qw", "net.ipv4.ping_group_range=1 0"]).returncode == 0  # closed again
    result = lab.run(sweep, cwd="/")
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        "pinger: Cannot ping: neither raw nor datagram ICMP sockets are permitted for this process; "
        + PERMISSION_HINT
        + "."
    ]
