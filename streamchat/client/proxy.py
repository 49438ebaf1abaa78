"""Proxies from the environment (``HTTP_PROXY``, ``HTTPS_PROXY``, ``ALL_PROXY``, ``NO_PROXY``), as curl reads them.

Which proxy a URL goes through, and the bytes of the two tunnel handshakes (HTTP ``CONNECT`` and SOCKS5),
without I/O: the blocking client (``client/http.py``) and bench's asyncio client drive them. Lower-case
variables win over upper-case ones; a proxy URL without a scheme is an HTTP proxy; ``socks5h://`` lets
the proxy resolve the name, ``socks5://`` resolves it here.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from ..errors import ConnectFailedError, UsageError

PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")


@dataclass(frozen=True)
class Proxy:
    scheme: str
    host: str
    port: int
    username: str | None = None
    password: str | None = None

    @property
    def shown(self) -> str:
        """For messages: never the credentials."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    def authorization(self) -> str | None:
        if self.username is None:
            return None
        import base64

        pair = f"{self.username}:{self.password or ''}".encode()
        return "Basic " + base64.b64encode(pair).decode("ascii")


def _env(environ: Mapping[str, str], name: str) -> str | None:
    return environ.get(name.lower()) or environ.get(name.upper()) or None


def parse_proxy(value: str) -> Proxy:
    text = value.strip()
    if "://" not in text:
        text = "http://" + text
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in PROXY_SCHEMES:
        raise UsageError(f"unsupported proxy {scheme}://... in the environment (streamchat speaks {', '.join(PROXY_SCHEMES)})")
    try:
        port = parts.port
    except ValueError:
        port = -1
    if not parts.hostname or port == -1:
        raise UsageError(f"bad proxy URL in the environment: {scheme}://{parts.hostname or ''}")
    default = {"http": 80, "https": 443}.get(scheme, 1080)
    username = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password) if parts.password is not None else None
    return Proxy(scheme, parts.hostname, port or default, username, password)


def bypassed(host: str, port: int, no_proxy: str) -> bool:
    """``NO_PROXY``: ``*``, host names (``example.com`` also covers its subdomains; a leading dot or
    ``*.`` is the same), ``host:port``, IP addresses and CIDR ranges."""
    import ipaddress

    host = host.lower().strip("[]")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    for entry in no_proxy.replace(" ", ",").split(","):
        entry = entry.strip().lower()
        if not entry:
            continue
        if entry == "*":
            return True
        name, _, entry_port = entry.rpartition(":") if entry.count(":") == 1 else (entry, "", "")
        if entry_port and entry_port.isdigit():
            if int(entry_port) != port:
                continue
            entry = name
        entry = entry.strip("[]")
        if address is not None:
            try:
                if address in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                pass
            continue
        entry = entry.removeprefix("*").lstrip(".")
        if entry and (host == entry or host.endswith("." + entry)):
            return True
    return False


def proxy_for(scheme: str, host: str, port: int, environ: Mapping[str, str]) -> Proxy | None:
    """The proxy a request to ``scheme://host:port`` goes through, or None for a direct connection."""
    no_proxy = _env(environ, "no_proxy")
    if no_proxy and bypassed(host, port, no_proxy):
        return None
    value = _env(environ, f"{scheme}_proxy") or _env(environ, "all_proxy")
    return parse_proxy(value) if value else None


def connect_request(host: str, port: int, proxy: Proxy) -> bytes:
    authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    lines = [f"CONNECT {authority} HTTP/1.1", f"Host: {authority}"]
    auth = proxy.authorization()
    if auth:
        lines.append(f"Proxy-Authorization: {auth}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


# -- SOCKS5 (RFC 1928, with RFC 1929 user/password) ------------------------------------------------


def socks5_greeting(proxy: Proxy) -> bytes:
    methods = b"\x00\x02" if proxy.username is not None else b"\x00"
    return b"\x05" + bytes([len(methods)]) + methods


def socks5_auth(proxy: Proxy) -> bytes:
    user = (proxy.username or "").encode()[:255]
    password = (proxy.password or "").encode()[:255]
    return b"\x01" + bytes([len(user)]) + user + bytes([len(password)]) + password


def socks5_connect(host: str, port: int, remote_dns: bool) -> bytes:
    import ipaddress

    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        address = None
    if address is None and not remote_dns:
        try:
            address = ipaddress.ip_address(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][4][0])
        except OSError as exc:
            raise ConnectFailedError(f"could not resolve {host}: {exc.strerror or exc}") from exc
    if address is None:
        name = host.encode("idna")[:255]
        target = b"\x03" + bytes([len(name)]) + name
    elif address.version == 4:
        target = b"\x01" + address.packed
    else:
        target = b"\x04" + address.packed
    return b"\x05\x01\x00" + target + struct.pack("!H", port)


SOCKS5_ERRORS = {
    1: "general failure",
    2: "connection not allowed by ruleset",
    3: "network unreachable",
    4: "host unreachable",
    5: "connection refused",
    6: "TTL expired",
    7: "command not supported",
    8: "address type not supported",
}


def socks5_reply_length(head: bytes) -> int:
    """The length of a SOCKS5 reply from its first 5 bytes (it depends on the address type)."""
    kind = head[3]
    if kind == 1:
        return 10
    if kind == 4:
        return 22
    if kind == 3:
        return 7 + head[4]
    raise ConnectFailedError(f"the SOCKS5 proxy answered with an unknown address type {kind}", retryable=False)


__all__ = ["Proxy", "bypassed", "connect_request", "parse_proxy", "proxy_for"]
