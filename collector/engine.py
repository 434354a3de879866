"""The ICMP sweep engine: every echo request of a sweep through one socket, paced, matched, retried.

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
from typing import NamedTuple, Sequence

from pinger.config import PingSettings
from pinger.errors import PingerError, PingPermissionError

_ECHO_REPLY = 0
_SEQUENCES = 65536
_BURST = 128  # requests sent between two drains of the receive queue
_RECEIVE_BUFFER = 8 * 1024 * 1024
_ECHO_REQUEST = 8
_PAYLOAD = b"pinger-sweep-pad"  # fixed (and of even length): the checksum can be precomputed
_PAYLOAD_SUM = _ECHO_REQUEST << 8
for _offset in range(0, len(_PAYLOAD), 2):
    _PAYLOAD_SUM += (_PAYLOAD[_offset] << 8) + _PAYLOAD[_offset + 1]
_RETRYABLE_SEND_ERRORS = {errno.ENOBUFS, errno.EAGAIN, errno.EWOULDBLOCK}

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
    """An open ICMPv4 socket and its mode: raw (we see IP headers, pick identifiers) or datagram."""

    __slots__ = ("sock", "raw")

    def __init__(self, sock: socket.socket, raw: bool):
        self.sock = sock
        self.raw = raw

    def close(self) -> None:
        self.sock.close()


_PERMISSION_ERRNOS = {errno.EPERM, errno.EACCES}


def open_icmp_socket(privileged: bool | None) -> IcmpSocket:
    """An ICMPv4 socket in the requested mode (None: raw if allowed, else datagram)."""
    modes = [True, False] if privileged is None else [privileged]
    for raw in modes:
        try:
            sock = socket.socket(socket.AF_INET, socket.SOCK_RAW if raw else socket.SOCK_DGRAM,
                                 socket.IPPROTO_ICMP)
        except OSError as err:
            if err.errno in _PERMISSION_ERRNOS:
                continue
            raise PingerError(f"Cannot open an ICMP socket: {err.strerror or err}.") from None
        return IcmpSocket(sock, raw)
    if privileged is None:
        detail = "neither raw nor datagram ICMP sockets are permitted for this process"
    elif privileged:
        detail = "raw ICMP sockets (ping.privileged: true) need root or CAP_NET_RAW"
    else:
        detail = ("unprivileged ICMP sockets (ping.privileged: false) are not permitted here: "
                  "net.ipv4.ping_group_range excludes this process's group")
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


_SOL_RAW = 255
_ICMP_FILTER = 1


def _only_echo_replies(sock: socket.socket) -> None:
    """Ask the kernel to hand a raw socket echo replies only (Linux ICMP_FILTER, as ping does).

    A raw ICMP socket otherwise receives every ICMP message the host gets, including each echo
    request we send to a local address; filtering in the kernel saves a system call per packet.
    """
    try:
        sock.setsockopt(_SOL_RAW, _ICMP_FILTER, struct.pack("I", 0xFFFFFFFF & ~(1 << _ECHO_REPLY)))
    except OSError:
        pass  # not Linux: _parse_echo_reply still drops what is not an echo reply


def _parse_echo_reply(packet: bytes, raw: bool) -> tuple[int, int] | None:
    """(identifier, sequence) of an echo reply, or None for any other ICMP message."""
    offset = (packet[0] & 0x0F) * 4 if raw else 0
    if len(packet) < offset + 8 or packet[offset] != _ECHO_REPLY:
        return None
    return struct.unpack_from("!HH", packet, offset + 4)


def ping_addresses(addresses: Sequence[str], settings: PingSettings) -> list[EchoOutcome]:
    """Ping every IPv4 address once (plus ``settings.retries`` retries for the silent ones).

    Returns one outcome per address, in order. Raises PingPermissionError when no ICMP
    socket can be opened. The same address may appear more than once; each is pinged.
    """
    outcomes: list[EchoOutcome | None] = [None] * len(addresses)
    send_errors: dict[int, str] = {}
    pending = list(range(len(addresses)))
    for _attempt in range(settings.retries + 1):
        if not pending:
            break
        _ping_round(addresses, pending, settings, outcomes, send_errors)
        pending = [index for index in pending if outcomes[index] is None]
    return [
        outcome if outcome is not None else EchoOutcome(None, send_errors.get(index))
        for index, outcome in enumerate(outcomes)
    ]


def _ping_round(addresses: Sequence[str], pending: list[int], settings: PingSettings,
                outcomes: list[EchoOutcome | None], send_errors: dict[int, str]) -> None:
    icmp = open_icmp_socket(settings.privileged)
    try:
        raw = icmp.raw
        sock = icmp.sock
        _enlarge_receive_buffer(sock)
        if raw:
            _only_echo_replies(sock)
        sock.setblocking(False)
        blocks = (len(pending) + _SEQUENCES - 1) // _SEQUENCES
        # A fresh identifier range per round: replies to earlier rounds or sweeps never match.
        id_base = int.from_bytes(os.urandom(2), "big") % (65536 - blocks + 1)
        expected: dict[tuple[str, int, int], int] = {}
        sent_at: dict[int, float] = {}
        spacing = 1.0 / settings.rate
        next_send = time.monotonic()
        position = 0
        deadline: float | None = None

        while True:
            now = time.monotonic()
            burst = 0
            while position < len(pending) and next_send <= now and burst < _BURST:
                index = pending[position]
                identifier = id_base + position // _SEQUENCES
                sequence = position % _SEQUENCES
                try:
                    sock.sendto(echo_request(identifier, sequence), (addresses[index], 0))
                except OSError as err:
                    if err.errno in _RETRYABLE_SEND_ERRORS:  # send queue full: let it drain, then resend
                        select.select([sock], [], [], 0.001)
                        _drain(sock, raw, expected, sent_at, outcomes)
                        now = time.monotonic()
                        continue
                    send_errors[index] = f"send failed: {err.strerror or err}"
                else:
                    # Datagram sockets: the kernel picks the identifier and filters replies itself.
                    key_id = identifier if raw else 0
                    expected[(addresses[index], key_id, sequence)] = index
                    sent_at[index] = time.monotonic()
                position += 1
                burst += 1
                # Pace to the rate without bursting to catch up more than 10 ms of backlog.
                next_send = max(next_send + spacing, now - 0.01)
                if next_send > now:
                    now = time.monotonic()
            if position == len(pending) and deadline is None:
                deadline = time.monotonic() + settings.timeout
            # Drain between bursts so replies never pile up beyond the receive buffer.
            _drain(sock, raw, expected, sent_at, outcomes)
            now = time.monotonic()
            if deadline is not None and (not expected or now >= deadline):
                break
            wait = (deadline if deadline is not None else next_send) - now
            if wait > 0:
                select.select([sock], [], [], wait)
    finally:
        icmp.close()


def _drain(sock: socket.socket, raw: bool, expected: dict[tuple[str, int, int], int],
           sent_at: dict[int, float], outcomes: list[EchoOutcome | None]) -> None:
    """Read every reply already queued and record the ones we are waiting for."""
    while True:
        try:
            packet, (source, _port) = sock.recvfrom(2048)
        except (BlockingIOError, InterruptedError):
            return
        received = time.monotonic()
        parsed = _parse_echo_reply(packet, raw)
        if parsed is None:
            continue
        identifier, sequence = parsed
        index = expected.pop((source, identifier if raw else 0, sequence), None)
        if index is None:  # another process's ping, a duplicate, or a reply from elsewhere
            continue
        outcomes[index] = EchoOutcome(round((received - sent_at[index]) * 1000.0, 3))
