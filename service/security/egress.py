"""Where outbound webhooks may go: public http(s) addresses only, unless an explicit allow-list names the receiver.

A URL is checked when it is set and again when a request is sent: then the host is resolved, every address it
resolves to is checked, and the connection is made to a checked address (never resolved a second time), so a
name that answered with a public address when it was set cannot send the request to 127.0.0.1 later.
"""
from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

import httpcore
import httpx

from service.config import get_settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
SCHEMES = ("http", "https")
# Instance metadata services outside link-local (169.254.0.0/16 is refused as link-local already):
# Alibaba Cloud, AWS over IPv6, Oracle Cloud / Tencent Cloud legacy.
METADATA = frozenset(ipaddress.ip_address(a) for a in ("100.100.100.200", "fd00:ec2::254", "192.0.0.192"))
NAT64 = ipaddress.ip_network("64:ff9b::/96")


class TargetRefused(Exception):
    """A webhook URL or address this service will not send to; the message says why."""


@dataclass(frozen=True)
class AllowList:
    hosts: frozenset[str]
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]

    def admits(self, ip: IPAddress) -> bool:
        return any(a in net for a in _forms(ip) for net in self.networks if a.version == net.version)


@lru_cache(maxsize=8)
def _parse_allow(spec: str) -> AllowList:
    hosts, networks = set(), []
    for item in filter(None, (part.strip() for part in spec.split(","))):
        try:
            networks.append(ipaddress.ip_network(item.strip("[]"), strict=False))
        except ValueError:
            hosts.add(item.lower().rstrip("."))
    return AllowList(frozenset(hosts), tuple(networks))


def allow_list() -> AllowList:
    """The receivers on a private network that may be sent to anyway (HOTLINE_WEBHOOK_ALLOW_HOSTS)."""
    return _parse_allow(get_settings().webhook_allow_hosts)


def parse_ip(host: str) -> IPAddress | None:
    """An IP literal in any spelling the resolver accepts (0x7f.1, 2130706433, 017700000001 ...), else None."""
    host = host.strip("[]")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except (OSError, ValueError):
        return None


def _forms(ip: IPAddress) -> list[IPAddress]:
    """The address and every IPv4 address it carries (IPv4-mapped, 6to4, Teredo, NAT64)."""
    found: list[IPAddress] = [ip]
    if isinstance(ip, ipaddress.IPv6Address):
        found += [a for a in (ip.ipv4_mapped, ip.sixtofour) if a is not None]
        if ip.teredo is not None:
            found += list(ip.teredo)
        if ip in NAT64:
            found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return found


def refusal(ip: IPAddress) -> str | None:
    """Why no webhook may be sent to ip, or None when it is a public address."""
    for a in reversed(_forms(ip)):  # the carried IPv4 address first: it says where the packets would go
        kind = ("a cloud metadata" if a in METADATA else "a loopback" if a.is_loopback
                else "an unspecified" if a.is_unspecified else "a link-local" if a.is_link_local
                else "a multicast" if a.is_multicast else "a private" if a.is_private
                else "a reserved" if a.is_reserved else "a non-public" if not a.is_global else None)
        if kind:
            shown = str(ip) if a == ip else f"{ip} (carrying {a})"
            return f"{shown} is {kind} address"
    return None


def check_address(ip: IPAddress, allow: AllowList) -> None:
    if not allow.admits(ip) and (reason := refusal(ip)):
        raise TargetRefused(f"{reason}; only public addresses receive webhooks (see HOTLINE_WEBHOOK_ALLOW_HOSTS)")


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address host resolves to (its own, for an IP literal)."""
    if (ip := parse_ip(host)) is not None:
        return [ip]
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise httpcore.ConnectError(f"cannot resolve {host!r}: {exc}") from None
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos))


def check_url(url: str, *, resolve_host: bool = True) -> None:
    """Raise TargetRefused when url may not receive webhooks: not http(s), credentials in it, or a host that is
    (or, with resolve_host, resolves to) a loopback, private, link-local, metadata ... address. A name that does
    not resolve now passes; it is checked again when a request is sent."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise TargetRefused(f"not a valid URL: {exc}") from None
    if parts.scheme.lower() not in SCHEMES:
        raise TargetRefused(f"the scheme must be http or https, not {parts.scheme!r}")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise TargetRefused("credentials in the URL (user:password@) are not allowed; receivers check the signature")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise TargetRefused("the URL has no host")
    allow = allow_list()
    if host in allow.hosts:
        return
    ip = parse_ip(host)
    if ip is not None:
        check_address(ip, allow)
    elif resolve_host:
        try:
            addresses = resolve(host, port or (443 if parts.scheme.lower() == "https" else 80))
        except httpcore.ConnectError:
            return
        for address in addresses:
            check_address(address, allow)


class GuardedBackend(httpcore.NetworkBackend):
    """Connects only to checked addresses: resolves the host itself and hands the socket layer the address."""

    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options=None) -> httpcore.NetworkStream:
        allow = allow_list()
        if host.lower().rstrip(".") in allow.hosts:
            return self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        addresses = resolve(host, port)
        for address in addresses:  # every address must pass: a name that also points inside is refused whole
            check_address(address, allow)
        error: Exception | None = None
        for address in addresses:
            try:
                return self._inner.connect_tcp(str(address), port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        raise error or httpcore.ConnectError(f"{host!r} has no address")

    def connect_unix_socket(self, path: str, timeout: float | None = None, socket_options=None):
        raise TargetRefused("webhooks are not sent over unix sockets")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport over GuardedBackend; no proxy from the environment (it would connect for us)."""

    def __init__(self) -> None:
        super().__init__(trust_env=False)
        self._pool = httpcore.ConnectionPool(ssl_context=httpx.create_ssl_context(trust_env=False),
                                             network_backend=GuardedBackend())


def client(timeout: float) -> httpx.Client:
    """The HTTP client that sends webhooks: checked peers, no redirects, no proxies from the environment."""
    return httpx.Client(timeout=timeout, transport=GuardedTransport(), trust_env=False, follow_redirects=False)
