"""One blocking client connection: TCP, through a proxy when the environment names one, then TLS.

Every socket failure becomes a ``StreamchatError`` here, once: before any response byte a failure is a
``ConnectFailedError`` (the retry policy may try again), after it a ``ConnectionLostError`` (never
retried); silence longer than the timeout is a ``StreamTimeoutError``.
"""

from __future__ import annotations

import os
import socket
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import AuthError, ConnectFailedError, ConnectionLostError, StreamTimeoutError
from ..protocol.http1 import ResponseReader
from .proxy import SOCKS5_ERRORS, Proxy, connect_request, proxy_for, socks5_auth, socks5_connect, socks5_greeting, socks5_reply_length
from .tls import client_context, describe_tls_error

if TYPE_CHECKING:
    import ssl  # (imported only where a connection needs TLS: plain http:// never loads it)


@dataclass(frozen=True)
class Endpoint:
    scheme: str
    host: str
    port: int

    @property
    def authority(self) -> str:
        """The Host header: the port only when it is not the scheme's default."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme in ("https", "wss") else 80
        return host if self.port == default else f"{host}:{self.port}"

    @property
    def shown(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def tls(self) -> bool:
        return self.scheme in ("https", "wss")


class Connection:
    """A connected socket (maybe TLS, maybe tunnelled) with reads and writes that raise our errors."""

    def __init__(self, sock: socket.socket, where: Endpoint, read_timeout: float, proxy: Proxy | None) -> None:
        self.sock = sock
        self.where = where
        self.read_timeout = read_timeout
        self.proxy = proxy
        self.via_proxy = proxy is not None and proxy.scheme in ("http", "https") and not where.tls  # absolute-form requests
        self.proxy_authorization = proxy.authorization() if proxy is not None else None
        sock.settimeout(read_timeout)

    def send(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except TimeoutError as exc:
            raise StreamTimeoutError(f"timed out sending the request to {self.where.shown}") from exc
        except OSError as exc:
            # The server may have answered (an early 401 or 413) and closed: that answer is read next.
            if not isinstance(exc, (BrokenPipeError, ConnectionResetError)):
                raise ConnectFailedError(f"could not send the request to {self.where.shown}: {_reason(exc)}") from exc

    def recv(self, size: int, *, mid_reply: bool, answered: bool = True) -> bytes:
        """Up to ``size`` bytes, b"" at EOF. ``mid_reply``: the reply has started (messages say so);
        ``answered``: some response byte has arrived (a failure before that may be retried)."""
        try:
            return self.sock.recv(size)
        except TimeoutError as exc:
            what = "mid-reply" if mid_reply else "waiting for the response"
            raise StreamTimeoutError(f"timed out {what}: no data from {self.where.shown} within --read-timeout") from exc
        except OSError as exc:
            ssl = sys.modules.get("ssl")
            if ssl is not None and isinstance(exc, ssl.SSLEOFError):
                return b""  # a TLS peer that closed without close_notify: an EOF like any other
            if not answered:
                raise ConnectFailedError(f"connection to {self.where.shown} failed: {_reason(exc)}") from exc
            raise ConnectionLostError(f"connection lost mid-reply: {_reason(exc)}") from exc

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower() if exc.strerror[:1].isupper() and exc.strerror[1:2].islower() else exc.strerror
    return str(exc) or type(exc).__name__


def _tcp(host: str, port: int, timeout: float, shown: str) -> socket.socket:
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except TimeoutError as exc:
        raise StreamTimeoutError(f"timed out connecting to {shown} (--connect-timeout)") from exc
    except socket.gaierror as exc:
        raise ConnectFailedError(f"could not resolve {host}: {_reason(exc)}") from exc
    except OSError as exc:
        raise ConnectFailedError(f"could not connect to {shown}: {_reason(exc)}") from exc
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _recv_exactly(sock: socket.socket, size: int, shown: str) -> bytes:
    data = b""
    while len(data) < size:
        try:
            piece = sock.recv(size - len(data))
        except OSError as exc:
            raise ConnectFailedError(f"proxy {shown} failed: {_reason(exc)}") from exc
        if not piece:
            raise ConnectFailedError(f"proxy {shown} closed the connection during the handshake")
        data += piece
    return data


def _http_tunnel(sock: socket.socket, where: Endpoint, proxy: Proxy) -> None:
    """``CONNECT host:port`` through an HTTP proxy; returns once the tunnel is open."""
    try:
        sock.sendall(connect_request(where.host, where.port, proxy))
    except OSError as exc:
        raise ConnectFailedError(f"proxy {proxy.shown} failed: {_reason(exc)}") from exc
    reader = ResponseReader("CONNECT")
    while reader.head is None:
        try:
            data = sock.recv(4096)
        except OSError as exc:
            raise ConnectFailedError(f"proxy {proxy.shown} failed: {_reason(exc)}") from exc
        if not data:
            raise ConnectFailedError(f"proxy {proxy.shown} closed the connection instead of opening a tunnel to {where.shown}")
        reader.feed(data)
    head = reader.head
    if head.status == 407:
        raise AuthError(
            f"proxy {proxy.shown} refused: HTTP 407 {head.reason}".rstrip(), status=407, hint="put the proxy's credentials in its URL"
        )
    if not 200 <= head.status < 300:
        raise ConnectFailedError(f"proxy {proxy.shown} could not open a tunnel to {where.shown}: HTTP {head.status} {head.reason}".rstrip())


def _socks5_tunnel(sock: socket.socket, where: Endpoint, proxy: Proxy) -> None:
    shown = proxy.shown
    try:
        sock.sendall(socks5_greeting(proxy))
        answer = _recv_exactly(sock, 2, shown)
        if answer[0] != 5 or answer[1] == 0xFF:
            raise ConnectFailedError(f"SOCKS5 proxy {shown} accepts none of our authentication methods", retryable=False)
        if answer[1] == 2:
            sock.sendall(socks5_auth(proxy))
            if _recv_exactly(sock, 2, shown)[1] != 0:
                raise AuthError(f"SOCKS5 proxy {shown} refused the user name and password", status=407)  # as an HTTP proxy says it
        sock.sendall(socks5_connect(where.host, where.port, remote_dns=proxy.scheme == "socks5h"))
        head = _recv_exactly(sock, 5, shown)
        _recv_exactly(sock, socks5_reply_length(head) - 5, shown)
    except OSError as exc:
        raise ConnectFailedError(f"proxy {shown} failed: {_reason(exc)}") from exc
    if head[1] != 0:
        reason = SOCKS5_ERRORS.get(head[1], f"error {head[1]}")
        raise ConnectFailedError(f"SOCKS5 proxy {shown} could not connect to {where.shown}: {reason}")


def _tls(sock: socket.socket, hostname: str, context: ssl.SSLContext, timeout: float, shown: str) -> ssl.SSLSocket:
    import ssl

    try:
        wrapped = context.wrap_socket(sock, server_hostname=hostname, do_handshake_on_connect=False)
        wrapped.settimeout(timeout)
        wrapped.do_handshake()
        return wrapped
    except TimeoutError as exc:
        sock.close()
        raise StreamTimeoutError(f"timed out in the TLS handshake with {shown} (--connect-timeout)") from exc
    except ssl.SSLError as exc:
        sock.close()
        raise ConnectFailedError(
            f"TLS error with {shown}: {describe_tls_error(exc)}",
            hint="use --cacert PATH, or --insecure to skip verification",
            retryable=False,
        ) from exc
    except OSError as exc:
        sock.close()
        raise ConnectFailedError(f"TLS handshake with {shown} failed: {_reason(exc)}") from exc


def open_connection(where: Endpoint, opts: Any) -> Connection:
    """Connect to ``where`` as the options and the environment say (``opts``: connect_timeout,
    read_timeout, insecure, cacert, environ)."""
    environ = opts.environ if getattr(opts, "environ", None) is not None else os.environ
    proxy = proxy_for("https" if where.tls else "http", where.host, where.port, environ)
    context = client_context(opts.insecure, opts.cacert, environ) if where.tls else None  # a bad --cacert: before connecting
    if proxy is None:
        sock = _tcp(where.host, where.port, opts.connect_timeout, where.shown)
    else:
        sock = _tcp(proxy.host, proxy.port, opts.connect_timeout, f"proxy {proxy.shown}")
        try:
            if proxy.scheme == "https":
                sock = _tls(
                    sock, proxy.host, client_context(opts.insecure, opts.cacert, environ), opts.connect_timeout, f"proxy {proxy.shown}"
                )
            if proxy.scheme.startswith("socks5"):
                _socks5_tunnel(sock, where, proxy)
            elif where.tls:
                _http_tunnel(sock, where, proxy)
        except BaseException:
            sock.close()
            raise
    if context is not None:
        sock = _tls(sock, where.host, context, opts.connect_timeout, where.shown)
    return Connection(sock, where, opts.read_timeout, proxy)


__all__ = ["Connection", "Endpoint", "open_connection"]
