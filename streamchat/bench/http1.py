"""A minimal asyncio HTTP/1.1 streaming client for bench: one ``asyncio.Protocol`` a connection.

Why not httpx here: at 64 streams httpx's per-request and per-chunk machinery (httpcore's async
stack, one task switch a read) kept the client's event loop busy enough to add tens of milliseconds
to TTFT. A protocol object's ``data_received`` runs straight from the event loop on socket readiness,
so each read is timestamped on arrival and decoded in the same call, with no awaits in between.
Only what a load test needs: keep-alive, chunked / Content-Length / close-delimited bodies, TLS.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from ..errors import ProtocolError
from ..protocol.chunked import ChunkedDecoder

MAX_HEAD = 64 * 1024

# Called with each piece of body payload and its arrival time; returns True once the reply is over
# (the rest of the body is then read and discarded, so the connection can be reused).
BodySink = Callable[[bytes, float], bool]


class HTTPStatusError(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(f"http_{status}")
        self.status = status


class Target:
    """Where requests go: scheme, host, port and the request-target of one URL."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ProtocolError(f"not an http(s) URL: {url}")
        self.tls = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if self.tls else 80)
        default = 443 if self.tls else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.authority = host if self.port == default else f"{host}:{self.port}"

    @staticmethod
    def path_of(url: str) -> str:
        parts = urlsplit(url)
        return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


class _Connection(asyncio.Protocol):
    """One keep-alive connection, one exchange at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.reusable = False
        self._waiter: asyncio.Future[None] | None = None
        self._sink: BodySink | None = None
        self._head = b""
        self._in_body = False
        self._chunked: ChunkedDecoder | None = None
        self._remaining: int | None = None
        self._finished_reply = False
        self._error_body = False
        self.status = 0
        self.last_read = 0.0

    # -- asyncio.Protocol ------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()  # the arrival time, before any parsing
        self.last_read = now
        if self._waiter is None or self._waiter.done():
            self._fail(ProtocolError("bytes from the server with no request outstanding"))
            return
        try:
            if not self._in_body:
                self._head += data
                while not self._in_body:  # more than one head: interim 1xx responses come first
                    end = self._head.find(b"\r\n\r\n")
                    if end < 0:
                        if len(self._head) > MAX_HEAD:
                            raise ProtocolError("response head too large")
                        return
                    head, self._head = self._head[:end], self._head[end + 4 :]
                    self._parse_head(head)
                data, self._head = self._head, b""
                if self._body_done() or not data:
                    return
            self._body(data, now)
        except Exception as exc:  # noqa: BLE001 - handed to the waiting request
            self._fail(exc)

    def eof_received(self) -> bool | None:
        return False  # close the transport; connection_lost decides what the EOF meant

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.reusable = False
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        if self._in_body and self._chunked is None and self._remaining is None:
            self._finish()  # a close-delimited body ends at EOF
        else:
            waiter.set_exception(exc or ConnectionResetError("the server closed the connection mid-reply"))

    # -- the exchange ------------------------------------------------------------------------------

    def _parse_head(self, head: bytes) -> None:
        lines = head.split(b"\r\n")
        status_line = lines[0].split(None, 2)
        if len(status_line) < 2 or not status_line[0].startswith(b"HTTP/1.") or not status_line[1].isdigit():
            raise ProtocolError(f"not an HTTP/1.x response: {lines[0][:40]!r}")
        self.status = int(status_line[1])
        if 100 <= self.status < 200:
            return  # an interim response: the real one follows
        headers: dict[bytes, bytes] = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        keep_alive = status_line[0] == b"HTTP/1.1" and headers.get(b"connection", b"").lower() != b"close"
        self.reusable = keep_alive
        self._in_body = True
        if b"chunked" in headers.get(b"transfer-encoding", b"").lower():
            self._chunked = ChunkedDecoder()
        elif b"content-length" in headers:
            self._remaining = int(headers[b"content-length"])
        else:
            self.reusable = False  # read to EOF
        if self.status >= 400:
            self._error_body = True

    def _body_done(self) -> bool:
        if self._remaining == 0:
            self._finish()
            return True
        return False

    def _body(self, data: bytes, now: float) -> None:
        if self._chunked is not None:
            payload = self._chunked.feed(data)
            complete = self._chunked.done
        elif self._remaining is not None:
            payload = data[: self._remaining]
            self._remaining -= len(payload)
            complete = self._remaining == 0
        else:
            payload, complete = data, False
        if payload and not self._error_body and not self._finished_reply and self._sink is not None:
            self._finished_reply = self._sink(payload, now)
        if complete:
            self._finish()

    def _finish(self) -> None:
        waiter = self._waiter
        if self._error_body:
            self._error_body = False
            if waiter is not None and not waiter.done():
                waiter.set_exception(HTTPStatusError(self.status))
            return
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _fail(self, exc: BaseException) -> None:
        self.reusable = False
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(exc)
        if self.transport is not None:
            self.transport.abort()

    async def exchange(self, request: bytes, sink: BodySink, read_timeout: float) -> float:
        """Send one request; feed the body to ``sink``. Returns the send time (perf_counter)."""
        assert self.transport is not None
        loop = asyncio.get_running_loop()
        self._waiter = loop.create_future()
        self._sink = sink
        self._head = b""
        self._in_body = False
        self._chunked = None
        self._remaining = None
        self._finished_reply = False
        self._error_body = False
        sent = time.perf_counter()
        self.last_read = sent
        self.transport.write(request)
        waiter = self._waiter
        while True:
            idle = time.perf_counter() - self.last_read
            done, _ = await asyncio.wait((waiter,), timeout=max(read_timeout - idle, 0.001))
            if done:
                break
            if time.perf_counter() - self.last_read >= read_timeout:
                self._fail(TimeoutError(f"no data for {read_timeout:g} s"))
                break
        try:
            waiter.result()
        finally:
            self._waiter = None
            self._sink = None
        return sent


class ConnectionPool:
    """Idle keep-alive connections to one target; a new one whenever none is idle."""

    def __init__(self, target: Target, connect_timeout: float) -> None:
        self.target = target
        self.connect_timeout = connect_timeout
        self._idle: list[_Connection] = []
        self._all: set[_Connection] = set()
        self._ssl = ssl.create_default_context() if target.tls else None

    async def acquire(self) -> _Connection:
        while self._idle:
            conn = self._idle.pop()
            if not conn.closed:
                return conn
        loop = asyncio.get_running_loop()
        _, conn = await asyncio.wait_for(
            loop.create_connection(
                _Connection, self.target.host, self.target.port, ssl=self._ssl, server_hostname=self.target.host if self._ssl else None
            ),
            self.connect_timeout,
        )
        self._all.add(conn)
        return conn

    def release(self, conn: _Connection) -> None:
        if conn.reusable and not conn.closed:
            self._idle.append(conn)
        else:
            self.discard(conn)

    def discard(self, conn: _Connection) -> None:
        self._all.discard(conn)
        if conn.transport is not None and not conn.closed:
            conn.transport.abort()

    def close(self) -> None:
        for conn in list(self._all):
            self.discard(conn)
        self._idle.clear()


def encode_request(method: str, target: Target, path: str, headers: dict[str, str], body: bytes | None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {target.authority}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")
