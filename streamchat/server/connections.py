"""Connection-level limits no ASGI app can see: a connection that never finishes its request head,
one that sits idle, a head that never ends, and more connections than the server should hold.

uvicorn's own keep-alive timer starts only after a first response, and a single byte cancels it, so
an idle or slowloris connection would stay open for ever. ``guarded_protocol`` wraps uvicorn's HTTP
protocol (the class ``uvicorn.Config(http=...)`` takes) and passes every byte through, watching only:

- a request head (up to its blank line) must be complete within ``head_timeout`` of the connection
  opening, or of the first byte after an idle spell; it may not pass ``MAX_HEAD`` bytes (431);
- between requests a connection may stay idle for ``idle_timeout``;
- at most ``limit`` connections are open (uvicorn's own count, WebSockets included): one more is
  closed at once, before it can cost anything but its accept.

The ASGI side tells the guard what only it knows (``scope["state"][GUARD]``): that a request is being
served, that its response is done, that it became a WebSocket (then the WebSocket's pings take over).
"""

from __future__ import annotations

import asyncio
import resource
from dataclasses import dataclass
from typing import Any

GUARD = "streamchat.connection"
MAX_HEAD = 64 * 1024
HEAD_END = b"\r\n\r\n"
TOO_LARGE = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
FD_HEADROOM = 256  # descriptors beyond the connections: listening sockets, logs, the renderer, Python's own


@dataclass(frozen=True)
class Limits:
    connections: int
    head_timeout: float
    idle_timeout: float


class ConnectionGuard(asyncio.Protocol):
    inner_class: type[asyncio.Protocol]
    limits: Limits

    def __init__(self, **kwargs: Any) -> None:
        self.connections = kwargs["server_state"].connections
        kwargs["app_state"] = {**kwargs["app_state"], GUARD: self}
        self.inner: Any = self.inner_class(**kwargs)
        self.transport: asyncio.Transport | None = None
        self.state = "head"  # head → busy → idle → head …; or upgraded
        self.head_bytes = 0
        self.tail = b""  # the last bytes of the head so far: its blank line may be split across reads
        self.timer: asyncio.TimerHandle | None = None
        self.refused = False

    # -- asyncio.Protocol ---------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        if len(self.connections) >= self.limits.connections:
            self.refused = True
            transport.close()
            return
        self.inner.connection_made(transport)
        self._arm(self.limits.head_timeout)

    def data_received(self, data: bytes) -> None:
        if self.refused:
            return
        if self.state == "idle":
            self.state, self.head_bytes, self.tail = "head", 0, b""
            self._arm(self.limits.head_timeout)
        if self.state == "head":
            if HEAD_END in self.tail + data[:4] or HEAD_END in data:
                self.busy()
            else:
                self.head_bytes += len(data)
                self.tail = (self.tail + data)[-3:]
                if self.head_bytes > MAX_HEAD:
                    self._refuse(TOO_LARGE)
                    return
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return None if self.refused else self.inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if not self.refused:
            self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()

    # -- what the ASGI side reports -------------------------------------------------------------

    def busy(self) -> None:
        """A request head is complete: no timer while it is served (its body has its own)."""
        if self.state != "upgraded":
            self.state = "busy"
            self._disarm()

    def done(self, body_read: bool) -> None:
        """The response is complete. A request body left unread is not drained: the connection closes."""
        if self.state != "busy":
            return
        if not body_read:
            self._close()
            return
        self.state = "idle"
        self._arm(self.limits.idle_timeout)

    def upgraded(self) -> None:
        self.state = "upgraded"
        self._disarm()

    # -- timers ---------------------------------------------------------------------------------

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self.timer = asyncio.get_running_loop().call_later(seconds, self._close)

    def _disarm(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _close(self) -> None:
        self._disarm()
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    def _refuse(self, answer: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(answer)
        self._close()


def guarded_protocol(limits: Limits) -> type[ConnectionGuard]:
    """uvicorn's HTTP protocol class (httptools when installed, else h11) behind a guard with these limits."""
    from uvicorn.protocols.http.auto import AutoHTTPProtocol

    return type("GuardedHTTPProtocol", (ConnectionGuard,), {"inner_class": AutoHTTPProtocol, "limits": limits})


def raise_open_file_limit(connections: int) -> int:
    """Raise this process's soft limit on open files to what ``connections`` need, as far as the hard
    limit allows; returns the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = connections + FD_HEADROOM
    if soft != resource.RLIM_INFINITY and soft < wanted:
        new = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        if new > soft:
            try:
                resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
                soft = new
            except (ValueError, OSError):
                pass  # a container may refuse even within the hard limit: run with what we have
    return soft
