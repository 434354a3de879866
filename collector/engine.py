"""The ICMP sweep engine: every echo request of a sweep through one socket per IP version, paced, matched, retried.

Send at ``rate`` packets per second while draining replies, match each reply by
(source address, identifier, sequence), stop as soon as every host answered or the
timeout after the last request passed, then retry the silent hosts.

This module uses the standard library only. icmplib's ``ICMPRequest``/``send`` path costs
~55 µs a packet (a getaddrinfo, two setsockopt calls and a pure-Python checksum each), a
quarter of a second per 4,000 hosts; with a fixed payload the checksum here is a precomputed
sum plus identifier and sequence. Opening the socket through icmplib's ``ICMPv4Socket`` cost
another ~60 ms per process, because ``import icmplib`` imports asyncio, which counts in every
``pinger sweep``. The packets are checked against icmplib's builder in tests/test_engine.py.
"""

from __future__ import annotations

import errno
import os
import select
import socket
import struct
import time
from collections.abc import Sequence
from typing import NamedTuple

from pinger.config import PingSettings
from pinger.errors import FamilyUnavailable, PingerError, PingPermissionError

_ECHO_REPLY = 0
_ECHO_REPLY_V6 = 129
_ECHO_REQUEST_V6 = 128
_SEQUENCES = 65536
_BURST = 128  # requests sent between two drains of the receive queue
_RECEIVE_BUFFER = 8 * 1024 * 1024
_ECHO_REQUEST = 8
_PAYLOAD = b"pinger-sweep-pad"  # fixed (and of even length): the checksum can be precomputed
_PAYLOAD_SUM = _ECHO_REQUEST << 8
for _offset in range(0, len(_PAYLOAD), 2):
    _PAYLOAD_SUM += (_PAYLOAD[_offset] << 8) + _PAYLOAD[_offset + 1]
_RETRYABLE_SEND_ERRORS = {errno.ENOBUFS, errno.EAGAIN, errno.EWOULDBLOCK}
_PERMISSION_ERRNOS = {errno.EPERM, errno.EACCES}
_NO_SUCH_FAMILY_ERRNOS = {errno.EAFNOSUPPORT, errno.EPROTONOSUPPORT}

PERMISSION_HINT = (
    "run pinger as root, grant it raw sockets (setcap cap_net_raw+ep on the Python binary or "
    "AmbientCapabilities=CAP_NET_RAW in systemd), or allow your group datagram ICMP with "
    "sysctl -w net.ipv4.ping_group_range='0 2147483647'"
)


class EchoOutcome(NamedTuple):
    """What one address did in a sweep: its round-trip time when it answered, or why not."""

    rtt_ms: float | None
    error: str | None = None

    @property
    def up(self) -> bool:
        return self.rtt_ms is not None


class IcmpSocket:
    """An open ICMP socket: its IP version, and its mode, raw (we pick identifiers) or datagram.

    A raw ICMPv4 socket hands us the IP header too; raw ICMPv6 and datagram sockets do not.
    For ICMPv6 the kernel fills in the checksum; for datagram sockets also the identifier.
    """

    __slots__ = ("sock", "raw", "v6")

    def __init__(self, sock: socket.socket, raw: bool, v6: bool = False):
        self.sock = sock
        self.raw = raw
        self.v6 = v6

    def close(self) -> None:
        self.sock.close()


def open_icmp_socket(privileged: bool | None, v6: bool = False) -> IcmpSocket:
    """An ICMP socket in the requested mode (None: raw if allowed, else datagram)."""
    family, protocol = (socket.AF_INET6, socket.IPPROTO_ICMPV6) if v6 else (socket.AF_INET, socket.IPPROTO_ICMP)
    modes = [True, False] if privileged is None else [privileged]
    for raw in modes:
        try:
            sock = socket.socket(family, socket.SOCK_RAW if raw else socket.SOCK_DGRAM, protocol)
        except OSError as err:
            if err.errno in _PERMISSION_ERRNOS:
                continue
            if err.errno in _NO_SUCH_FAMILY_ERRNOS:
                raise FamilyUnavailable(f"IPv{6 if v6 else 4} is not available on this machine") from None
            raise PingerError(f"Cannot open an ICMP socket: {err.strerror or err}.") from None
        return IcmpSocket(sock, raw, v6)
    if privileged is None:
        detail = "neither raw nor datagram ICMP sockets are permitted for this process"
    elif privileged:
        detail = "raw ICMP sockets (ping.privileged: true) need root or CAP_NET_RAW"
    else:
        detail = (
            "unprivileged ICMP sockets (ping.privileged: false) are not permitted here: "
            "net.ipv4.ping_group_range excludes this process's group"
        )
    raise PingPermissionError(f"Cannot ping: {detail}; {PERMISSION_HINT}.")


def _enlarge_receive_buffer(sock: socket.socket) -> None:
    so_rcvbufforce = getattr(socket, "SO_RCVBUFFORCE", 33)
    try:
        sock.setsockopt(socket.SOL_SOCKET, so_rcvbufforce, _RECEIVE_BUFFER)
    except OSError:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _RECEIVE_BUFFER)
        except OSError:
            pass


def echo_request(identifier: int, sequence: int) -> bytes:
    """An ICMP echo request with our fixed payload and a valid checksum."""
    total = _PAYLOAD_SUM + identifier + sequence
    total = (total & 0xFFFF) + (total >> 16)
    total = (total & 0xFFFF) + (total >> 16)
    return struct.pack("!BBHHH", _ECHO_REQUEST, 0, ~total & 0xFFFF, identifier, sequence) + _PAYLOAD


def echo_request_v6(identifier: int, sequence: int) -> bytes:
    """An ICMPv6 echo request; its checksum covers the IPv6 pseudo-header, so the kernel fills it in."""
    return struct.pack("!BBHHH", _ECHO_REQUEST_V6, 0, 0, identifier, sequence) + _PAYLOAD


_SOL_RAW = 255
_ICMP_FILTER = 1
_ICMP6_FILTER = 1


def _only_echo_replies(icmp: IcmpSocket) -> None:
    """Ask the kernel to hand a raw socket echo replies only (Linux ICMP_FILTER/ICMP6_FILTER, as ping does).

    A raw ICMP socket otherwise receives every ICMP message the host gets, including each echo
    request we send to a local address; filtering in the kernel saves a system call per packet.
    """
    try:
        if icmp.v6:  # 256 bits, one per message type; a set bit blocks that type
            blocked = [0xFFFFFFFF] * 8
            blocked[_ECHO_REPLY_V6 >> 5] &= ~(1 << (_ECHO_REPLY_V6 & 31))
            icmp.sock.setsockopt(socket.IPPROTO_ICMPV6, _ICMP6_FILTER, struct.pack("8I", *blocked))
        else:
            icmp.sock.setsockopt(_SOL_RAW, _ICMP_FILTER, struct.pack("I", 0xFFFFFFFF & ~(1 << _ECHO_REPLY)))
    except OSError:
        pass  # not Linux: _parse_echo_reply still drops what is not an echo reply


def _parse_echo_reply(packet: bytes, offset: int, reply_type: int) -> tuple[int, int] | None:
    """(identifier, sequence) of an echo reply whose ICMP header starts at ``offset``, else None."""
    if len(packet) < offset + 8 or packet[offset] != reply_type:
        return None
    return struct.unpack_from("!HH", packet, offset + 4)


def is_ipv6(address: str) -> bool:
    return ":" in address


def ping_addresses(addresses: Sequence[str], settings: PingSettings) -> list[EchoOutcome]:
    """Ping every IPv4 and IPv6 address once (plus ``settings.retries`` retries for the silent ones).

    Returns one outcome per address, in order. Raises PingPermissionError when no ICMP
    socket can be opened. The same address may appear more than once; each is pinged.
    """
    outcomes: list[EchoOutcome | None] = [None] * len(addresses)
    errors: dict[int, str] = {}
    pending = list(range(len(addresses)))
    for _attempt in range(settings.retries + 1):
        if not pending:
            break
        _ping_round(addresses, pending, settings, outcomes, errors)
        pending = [index for index in pending if outcomes[index] is None]
    return [
        outcome if outcome is not None else EchoOutcome(None, errors.get(index))
        for index, outcome in enumerate(outcomes)
    ]


def _open_channels(
    addresses: Sequence[str], pending: list[int], settings: PingSettings, errors: dict[int, str]
) -> tuple[list[int], dict[bool, IcmpSocket]]:
    """One socket per IP version the round needs, and the pending hosts they can reach."""
    channels: dict[bool, IcmpSocket] = {}
    unavailable: dict[bool, str] = {}
    for v6 in sorted({is_ipv6(addresses[index]) for index in pending}):
        try:
            icmp = open_icmp_socket(settings.privileged, v6)
        except FamilyUnavailable as err:
            unavailable[v6] = str(err)
            continue
        except BaseException:
            for opened in channels.values():
                opened.close()
            raise
        channels[v6] = icmp
        _enlarge_receive_buffer(icmp.sock)
        if icmp.raw:
            _only_echo_replies(icmp)
        icmp.sock.setblocking(False)
    if not unavailable:
        return pending, channels
    reachable = []
    for index in pending:
        reason = unavailable.get(is_ipv6(addresses[index]))
        if reason is None:
            reachable.append(index)
        else:
            errors[index] = reason
    return reachable, channels


def _ping_round(
    addresses: Sequence[str],
    pending: list[int],
    settings: PingSettings,
    outcomes: list[EchoOutcome | None],
    errors: dict[int, str],
) -> None:
    pending, channels = _open_channels(addresses, pending, settings, errors)
    try:
        if pending:
            _Round(addresses, pending, channels, settings, outcomes, errors).run()
    finally:
        for icmp in channels.values():
            icmp.close()


class _Round:
    """One round: an echo request to each pending host, paced to ``rate`` in bursts, replies drained between
    bursts; it ends when every host answered or ``timeout`` after the last request. Replies are matched by
    (source, identifier, sequence); IPv6 sources by their packed form, since one address has more than one
    spelling. A fresh identifier range per round: replies to earlier rounds or sweeps never match."""

    def __init__(
        self,
        addresses: Sequence[str],
        pending: list[int],
        channels: dict[bool, IcmpSocket],
        settings: PingSettings,
        outcomes: list[EchoOutcome | None],
        errors: dict[int, str],
    ):
        self.addresses, self.pending, self.channels = addresses, pending, channels
        self.outcomes, self.errors = outcomes, errors
        self.timeout = settings.timeout
        self.spacing = 1.0 / settings.rate
        self.sockets = [icmp.sock for icmp in channels.values()]
        blocks = (len(pending) + _SEQUENCES - 1) // _SEQUENCES
        self.id_base = int.from_bytes(os.urandom(2), "big") % (65536 - blocks + 1)
        self.expected: dict[tuple[str | bytes, int, int], int] = {}
        self.sent_at: dict[int, float] = {}
        self.next_send = time.monotonic()
        self.position = 0  # the next pending host to send to

    def run(self) -> None:
        deadline: float | None = None
        while True:
            self._send_burst(time.monotonic())
            if self.position == len(self.pending) and deadline is None:
                deadline = time.monotonic() + self.timeout
            # Drain between bursts so replies never pile up beyond the receive buffer.
            _drain(self.channels, self.expected, self.sent_at, self.outcomes)
            now = time.monotonic()
            if deadline is not None and (not self.expected or now >= deadline):
                return
            wait = (deadline if deadline is not None else self.next_send) - now
            if wait > 0:
                select.select(self.sockets, [], [], wait)

    def _send_burst(self, now: float) -> None:
        """Send what is due by ``now``, at most _BURST requests; pace to the rate without bursting to catch up
        more than 10 ms of backlog."""
        burst = 0
        pending, spacing = self.pending, self.spacing
        while self.position < len(pending) and self.next_send <= now and burst < _BURST:
            if not self._send(pending[self.position], self.position):  # send queue full: drained, sent again
                now = time.monotonic()
                continue
            self.position += 1
            burst += 1
            self.next_send = max(self.next_send + spacing, now - 0.01)
            if self.next_send > now:
                now = time.monotonic()

    def _send(self, index: int, position: int) -> bool:
        """One echo request to ``addresses[index]``; False when the send queue was full (drained meanwhile: send
        again). A send that fails otherwise leaves the host's error and counts as done."""
        address = self.addresses[index]
        identifier = self.id_base + position // _SEQUENCES
        sequence = position % _SEQUENCES
        v6 = ":" in address
        icmp = self.channels[v6]
        try:
            icmp.sock.sendto((echo_request_v6 if v6 else echo_request)(identifier, sequence), (address, 0))
        except OSError as err:
            if err.errno in _RETRYABLE_SEND_ERRORS:
                select.select(self.sockets, [], [], 0.001)
                _drain(self.channels, self.expected, self.sent_at, self.outcomes)
                return False
            self.errors[index] = f"send failed: {err.strerror or err}"
            return True
        if self.errors:
            self.errors.pop(index, None)  # an earlier round's send error no longer applies
        # Datagram sockets: the kernel picks the identifier and filters replies itself.
        source = socket.inet_pton(socket.AF_INET6, address) if v6 else address
        self.expected[(source, identifier if icmp.raw else 0, sequence)] = index
        self.sent_at[index] = time.monotonic()
        return True


def _drain(
    channels: dict[bool, IcmpSocket],
    expected: dict[tuple[str | bytes, int, int], int],
    sent_at: dict[int, float],
    outcomes: list[EchoOutcome | None],
) -> None:
    """Read every reply already queued and record the ones we are waiting for."""
    for icmp in channels.values():
        sock, raw, v6 = icmp.sock, icmp.raw, icmp.v6
        reply_type = _ECHO_REPLY_V6 if v6 else _ECHO_REPLY
        while True:
            try:
                packet, source_address = sock.recvfrom(2048)
            except (BlockingIOError, InterruptedError):
                break
            received = time.monotonic()
            # Only a raw ICMPv4 socket hands us the IP header (its length is in the first byte).
            parsed = _parse_echo_reply(packet, (packet[0] & 0x0F) * 4 if raw and not v6 else 0, reply_type)
            if parsed is None:
                continue
            identifier, sequence = parsed
            source = socket.inet_pton(socket.AF_INET6, source_address[0]) if v6 else source_address[0]
            index = expected.pop((source, identifier if raw else 0, sequence), None)
            if index is None:  # another process's ping, a duplicate, or a reply from elsewhere
                continue
            outcomes[index] = EchoOutcome(round((received - sent_at[index]) * 1000.0, 3))
