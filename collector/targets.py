"""The config's hosts as addresses to ping, DNS names resolved concurrently with a short-lived cache."""

from __future__ import annotations

import ipaddress
import logging
import socket
import time
from typing import Any, NamedTuple

from pinger.config import Config

log = logging.getLogger("pinger.collector")

CACHE_SECONDS = 300.0
_RESOLVER_THREADS = 16


class Target(NamedTuple):
    """One host to ping this sweep: its address, or the reason it has none."""

    pool: str
    host: str
    address: str | None
    error: str | None = None


class Resolver:
    """Resolves DNS names to one address each (IPv4 first), caching answers and failures briefly.

    A name that stops resolving is logged once, and again only after it resolved in between; so is
    a name that resolves to the address of a host listed before it (``shared``).
    """

    def __init__(self, cache_seconds: float = CACHE_SECONDS):
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, str | None, str | None]] = {}
        self._failing: set[str] = set()
        self.shared: dict[str, str] = {}  # name -> the address it shares with an earlier host, as last logged

    def resolve(self, names: list[str]) -> dict[str, tuple[str | None, str | None]]:
        """name -> (address, error)."""
        now = time.monotonic()
        stale = [name for name in names if name not in self._cache or self._cache[name][0] <= now]
        if stale:
            from concurrent.futures import ThreadPoolExecutor  # only configs with DNS names pay for it

            with ThreadPoolExecutor(max_workers=min(_RESOLVER_THREADS, len(stale))) as pool:
                for name, (address, error) in zip(stale, pool.map(_lookup, stale), strict=True):
                    self._cache[name] = (now + self.cache_seconds, address, error)
                    if error and name not in self._failing:
                        self._failing.add(name)
                        log.warning("host %s: %s (not observed until it resolves)", name, error)
                    elif not error and name in self._failing:
                        self._failing.discard(name)
                        log.info("host %s resolves again, to %s", name, address)
        return {name: self._cache[name][1:] for name in names}


def _lookup(name: str) -> tuple[str | None, str | None]:
    """The name's first IPv4 address; its first IPv6 address when it has none (link-local ones need an
    interface and are skipped)."""
    try:
        infos = socket.getaddrinfo(name, None, socket.AF_UNSPEC, socket.SOCK_RAW)
    except (socket.gaierror, UnicodeError) as err:
        return None, f"name does not resolve ({getattr(err, 'strerror', None) or err})"
    for family in (socket.AF_INET, socket.AF_INET6):
        for info_family, _type, _proto, _canonical, address in infos:
            if info_family == family and not (family == socket.AF_INET6 and _link_local(address)):
                return str(address[0]), None
    return None, "name resolves to no usable IPv4 or IPv6 address (link-local addresses are skipped)"


def _link_local(address: tuple[Any, ...]) -> bool:
    return bool(address[3]) or ipaddress.IPv6Address(address[0]).is_link_local  # address[3]: scope id


def build_targets(config: Config, resolver: Resolver) -> list[Target]:
    """Every configured host as a Target, in config order.

    Two hosts that reach one address (``pc-a`` resolving to 10.0.0.7, and 10.0.0.7 listed too) are one
    PC: it is pinged once, for the host listed first; the later one gets no address and the reason, so
    it is not observed and the PC is not counted twice. The loader already refuses an address listed
    twice; a name's address is only known at the sweep. Each such host is logged once.
    """
    names = [host.name for pool in config.pools for host in pool.hosts if not host.is_address]
    resolved = resolver.resolve(names) if names else {}
    targets: list[Target] = []
    for pool in config.pools:
        for host in pool.hosts:
            if host.is_address:
                targets.append(Target(pool.name, host.name, host.name))
                continue
            address, error = resolved[host.name]
            if address is not None and config.allow is not None and not _allowed(address, config):
                address, error = None, f"resolves to {address}, outside the allowed networks (allow:)"
            targets.append(Target(pool.name, host.name, address, error))
    if names:  # addresses alone cannot coincide: the loader refused that
        _ping_each_address_once(targets, resolver)
    return targets


def _ping_each_address_once(targets: list[Target], resolver: Resolver) -> None:
    """Leave an address to the first target that has it; the later ones are not observed, with the reason."""
    first_with: dict[str, str] = {}
    for index, target in enumerate(targets):
        if target.address is None:
            continue
        owner = first_with.setdefault(target.address, target.host)
        if owner == target.host:
            if resolver.shared.pop(target.host, None) is not None:
                log.info("host %s has an address of its own again, %s", target.host, target.address)
            continue
        if resolver.shared.get(target.host) != target.address:
            resolver.shared[target.host] = target.address
            log.warning(
                "host %s reaches %s, as %s listed before it does: one PC, pinged and counted once, as %s "
                "(list it once in the config)",
                target.host,
                target.address,
                owner,
                owner,
            )
        targets[index] = target._replace(
            address=None, error=f"reaches {target.address}, as {owner} does: counted once, as {owner}"
        )


def _allowed(address: str, config: Config) -> bool:
    ip = ipaddress.ip_address(address)
    return any(ip in network for network in config.allow or ())
