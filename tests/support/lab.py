"""A sealed network lab for tests and benchmarks: hosts that are really on or off, nothing routed out.

Two network namespaces are created:

* ``inner``: where pinger runs (``lab.run``/``lab.popen`` execute commands inside it). Hosts that
  are *on* are addresses on its loopback device, so the kernel answers their echo requests.
* ``sink``: a neighbour joined to ``inner`` by a veth pair. The lab subnets (10.199.0.0/16 and
  fd00:199::/64) are routed to it and it does not forward, so echo requests to hosts that are
  *off* go unanswered there and cost a real timeout.

``hosts_file`` gives the inner namespace its own /etc/hosts (``ip netns exec`` mounts
/etc/netns/NAME/hosts over it), so tests can have DNS names without a DNS server.

Neither namespace has a default route: nothing can leave the lab. Namespaces are removed by
``close()`` (the context manager and the pytest fixture call it), and ``remove_stale_labs``
clears labs left behind by a process that was killed.
"""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Sequence

PREFIX = "pinger-lab-"
SUBNET = ipaddress.IPv4Network("10.199.0.0/16")
SUBNET6 = ipaddress.IPv6Network("fd00:199::/64")
_LINK_INNER = ipaddress.IPv4Interface("10.198.255.1/30")
_LINK_SINK = ipaddress.IPv4Interface("10.198.255.2/30")
_LINK6_INNER = ipaddress.IPv6Interface("fd00:198::1/126")
_LINK6_SINK = ipaddress.IPv6Interface("fd00:198::2/126")
_NETNS_ETC = "/etc/netns"
_counter = 0


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True)


def can_build_labs() -> str | None:
    """None when labs can be built here, else the reason they cannot."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    if subprocess.run(["which", "ip"], capture_output=True).returncode != 0:
        return "the ip command (iproute2) is not installed"
    return None


def remove_stale_labs() -> None:
    """Delete lab namespaces whose creating process no longer exists."""
    listing = _ip("netns", "list", check=False).stdout
    for match in re.finditer(rf"^({re.escape(PREFIX)}(\d+)-\d+-(?:in|sink))", listing, re.M):
        name, pid = match.group(1), int(match.group(2))
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            _ip("netns", "del", name, check=False)
            shutil.rmtree(os.path.join(_NETNS_ETC, name), ignore_errors=True)


class Lab:
    def __init__(self) -> None:
        global _counter
        _counter += 1
        base = f"{PREFIX}{os.getpid()}-{_counter}"
        self.inner = f"{base}-in"
        self.sink = f"{base}-sink"
        self._processes: list[subprocess.Popen] = []
        self._on: set[str] = set()
        try:
            self._build()
        except BaseException:
            self.close()
            raise

    def _build(self) -> None:
        _ip("netns", "add", self.inner)
        _ip("netns", "add", self.sink)
        suffix = self.inner[len(PREFIX) :][-6:]
        veth_inner, veth_sink = f"li{suffix}"[:15], f"ls{suffix}"[:15]
        _ip(
            "link",
            "add",
            veth_inner,
            "netns",
            self.inner,
            "type",
            "veth",
            "peer",
            "name",
            veth_sink,
            "netns",
            self.sink,
        )
        for namespace, device, address, address6 in (
            (self.inner, veth_inner, _LINK_INNER, _LINK6_INNER),
            (self.sink, veth_sink, _LINK_SINK, _LINK6_SINK),
        ):
            _ip("-n", namespace, "link", "set", "lo", "up")
            _ip("-n", namespace, "link", "set", device, "up")
            _ip("-n", namespace, "addr", "add", str(address), "dev", device)
            _ip("-n", namespace, "addr", "add", str(address6), "dev", device, "nodad")
            _ip("netns", "exec", namespace, "sysctl", "-qw", "net.ipv4.ip_forward=0", "net.ipv6.conf.all.forwarding=0")
        _ip("-n", self.inner, "route", "add", str(SUBNET), "via", str(_LINK_SINK.ip))
        _ip("-n", self.inner, "route", "add", str(SUBNET6), "via", str(_LINK6_SINK.ip))

    @staticmethod
    def address(index: int) -> str:
        """The lab address number ``index`` (0-based), e.g. 0 -> 10.199.0.1."""
        return str(SUBNET.network_address + 1 + index)

    @staticmethod
    def address6(index: int) -> str:
        """The lab IPv6 address number ``index`` (0-based), e.g. 0 -> fd00:199::1."""
        return str(SUBNET6.network_address + 1 + index)

    def hosts_file(self, entries: Iterable[tuple[str, str]]) -> None:
        """Give commands run in the lab this /etc/hosts: (name, address) pairs, plus localhost."""
        directory = os.path.join(_NETNS_ETC, self.inner)
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, "hosts"), "w") as hosts:
            hosts.write("127.0.0.1 localhost\n" + "".join(f"{address} {name}\n" for name, address in entries))

    def switch_on(self, addresses: Iterable[str]) -> None:
        self._batch("add", [a for a in addresses if a not in self._on])

    def switch_off(self, addresses: Iterable[str]) -> None:
        self._batch("del", [a for a in addresses if a in self._on])

    def _batch(self, verb: str, addresses: Sequence[str]) -> None:
        if not addresses:
            return
        with tempfile.NamedTemporaryFile("w", suffix=".ip") as batch:
            batch.write("".join(f"addr {verb} {a}/{128 if ':' in a else 32} dev lo\n" for a in addresses))
            batch.flush()
            _ip("-n", self.inner, "-batch", batch.name)
        if verb == "add":
            self._on.update(addresses)
        else:
            self._on.difference_update(addresses)

    def command(self, argv: Sequence[str]) -> list[str]:
        return ["ip", "netns", "exec", self.inner, *argv]

    def run(self, argv: Sequence[str], **kwargs) -> subprocess.CompletedProcess:
        kwargs.setdefault("capture_output", True)
        kwargs.setdefault("text", True)
        kwargs.setdefault("timeout", 120)
        return subprocess.run(self.command(argv), **kwargs)

    def popen(self, argv: Sequence[str], **kwargs) -> subprocess.Popen:
        process = subprocess.Popen(self.command(argv), **kwargs)
        self._processes.append(process)
        return process

    def close(self) -> None:
        for process in self._processes:
            if process.poll() is None:
                process.kill()
                process.wait()
        for namespace in (self.inner, self.sink):
            _ip("netns", "del", namespace, check=False)
        shutil.rmtree(os.path.join(_NETNS_ETC, self.inner), ignore_errors=True)
        try:
            os.rmdir(_NETNS_ETC)  # only when no other namespace keeps files there
        except OSError:
            pass

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
