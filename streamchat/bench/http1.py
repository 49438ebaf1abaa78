"""bench's asyncio HTTP/1.1 client: one ``asyncio.Protocol`` a keep-alive connection, over the shared reader.

Why not httpx here: at 64 streams httpx's per-request and per-chunk machinery (httpcore's async stack,
one task switch a read) kept the client's event loop busy enough to add tens of milliseconds to TTFT.
A protocol object's ``data_received`` runs straight from the event loop on socket readiness, so each
read is timestamped on arrival and decoded in the same call, with no awaits in between. The bytes are
read by ``protocol/http1.py``'s ``ResponseReader``, the same reader ``chat`` uses, so both reach the
same verdict on the same response. Proxies from the environment are honoured as ``chat`` honours them.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Mapping
from typing import Protocol

from ..client.connection import Endpoint
from ..client.proxy import Proxy, connect_request, proxy_for, socks5_auth, socks5_connect, socks5_greeting, socks5_reply_length
from ..client.retry import parse_retry_after
from ..client.tls import client_context
from ..errors import ConnectFailedError, HTTPStatusError, ProtocolError, StreamTimeoutError
from ..protocol.http1 import ResponseHead, ResponseReader
from . import stamped


class ReplySink(Protocol):
    """Where one exchange's response goes: its head, then each read's payload with its arrival time."""

    def start(self, head: ResponseHead) -> None: ...

    def body(self, payload: bytes, now: float) -> bool:
        """Returns True once the reply is over (the rest of the body is read and dropped)."""
        ...

    def end(self, now: float) -> None:
        """The body ended cleanly (its framing said so, or a close-delimited body's EOF)."""
        ...


ERROR_BODY_LIMIT = 64 * 1024


class _Connection(asyncio.Protocol):
    """One keep-alive connection, one exchange at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.reusable = False
        self.absolute_form = False  # requests go to a forward proxy: the target is the whole URL
        self.proxy_authorization: str | None = None
        self.handshake_stream: object = None
        self.exchanges = 0  # requests sent on this connection: a used one may have been closed while idle
        self._waiter: asyncio.Future[None] | None = None
        self._sink: ReplySink | None = None
        self._reader: ResponseReader | None = None
        self._over = False  # the sink has what it wanted; the rest of the body is dropped
        self._error_body: list[bytes] | None = None
        self.last_read = 0.0

    # -- asyncio.Protocol ------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.received(data, time.perf_counter())  # the arrival time, before any parsing

    def received(self, data: bytes, now: float) -> None:
        """Bytes that arrived at ``now`` (the kernel's stamp on a stamped socket, see stamped.py)."""
        # Never earlier than the read before: a kernel stamp is moved onto perf_counter's clock with a
        # few microseconds of jitter, which must not make a gap negative.
        now = self.last_read = max(self.last_read, now)
        reader = self._reader
        if reader is None or self._waiter is None or self._waiter.done():
            self._fail(ProtocolError("bytes from the server with no request outstanding"))
            return
        try:
            started = reader.head is not None
            try:
                payload = reader.feed(data)
            except ProtocolError as exc:
                if not started and reader.head is not None:
                    self._start(reader.head)
                if exc.body_before and reader.head is not None:
                    self._body(exc.body_before, now)  # as chat: what came before the bad framing is the reply's
                raise
            if not started and reader.head is not None:
                self._start(reader.head)
            if payload:
                self._body(payload, now)
            if reader.complete:
                self._finish(now)
        except Exception as exc:  # noqa: BLE001 - handed to the waiting request
            self._fail(exc)

    def eof_received(self) -> bool | None:
        return False  # close the transport; connection_lost decides what the EOF meant

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.reusable = False
        waiter, reader = self._waiter, self._reader
        if waiter is None or waiter.done() or reader is None:
            return
        if self._over:
            waiter.set_result(None)  # the reply had ended: what became of the rest of the body does not matter
            return
        now = time.perf_counter()
        try:
            if exc is not None and reader.head is not None:
                raise ConnectionResetError(str(exc) or "the connection was reset mid-reply")
            payload = reader.feed_eof()  # a close-delimited body ends here; a cut one raises
            if payload:
                self._body(payload, now)
            self._finish(now)
        except Exception as error:  # noqa: BLE001 - handed to the waiting request
            waiter.set_exception(error)

    # -- the exchange ------------------------------------------------------------------------------

    def _start(self, head: ResponseHead) -> None:
        if head.status >= 300:
            self._error_body = []  # read (bounded) so the connection can be reused; the status is the verdict
            return
        self._sink.start(head)  # type: ignore[union-attr]

    def _body(self, payload: bytes, now: float) -> None:
        if self._error_body is not None:
            if sum(map(len, self._error_body)) < ERROR_BODY_LIMIT:
                self._error_body.append(payload)
        elif not self._over:
            self._over = self._sink.body(payload, now)  # type: ignore[union-attr]

    def _finish(self, now: float) -> None:
        waiter, reader = self._waiter, self._reader
        if waiter is None or waiter.done() or reader is None:
            return
        self.reusable = reader.keep_alive and not self.closed
        head = reader.head
        if self._error_body is not None and head is not None:
            retry_after = parse_retry_after(head.get("retry-after"))  # (--retries waits as asked)
            error = HTTPStatusError(f"http_{head.status}", status=head.status, location=head.get("location"), retry_after=retry_after)
            waiter.set_exception(error)
            return
        if not self._over:
            self._sink.end(now)  # type: ignore[union-attr]
        waiter.set_result(None)

    def _fail(self, exc: BaseException) -> None:
        """The connection is unusable. Once the reply has ended (its done or error arrived), the exchange
        still succeeded, as ``chat`` stops reading there: llama.cpp's server, for one, sends ``[DONE]`` to a
        request it interrupts and then cuts the connection without ending the chunked body."""
        self.reusable = False
        if self._waiter is not None and not self._waiter.done():
            if self._over:
                self._waiter.set_result(None)
            else:
                self._waiter.set_exception(exc)
        if self.transport is not None:
            self.transport.abort()

    async def exchange(self, request: bytes, method: str, sink: ReplySink, read_timeout: float, max_body: int | None = None) -> float:
        """Send one request; feed the response to ``sink``. Returns the send time (perf_counter)."""
        assert self.transport is not None
        loop = asyncio.get_running_loop()
        self._waiter = loop.create_future()
        self._sink = sink
        self._reader = ResponseReader(method, max_body=max_body)
        self._over = False
        self._error_body = None
        sent = time.perf_counter()
        self.last_read = sent
        self.exchanges += 1
        self.transport.write(request)
        waiter = self._waiter
        try:
            while True:
                idle = time.perf_counter() - self.last_read
                done, _ = await asyncio.wait((waiter,), timeout=max(read_timeout - idle, 0.001))
                if done:
                    break
                if time.perf_counter() - self.last_read >= read_timeout:
                    self._fail(StreamTimeoutError(f"no data for {read_timeout:g} s"))
                    break
            waiter.result()
        finally:
            # Ended from outside (a bounded run's end cancels this task): nobody will read what the
            # connection's close puts in the waiter, so it must not hold it (asyncio would print it at exit).
            waiter.cancel()
            self._waiter = None
            self._sink = None
            self._reader = None
        return sent


class ConnectionPool:
    """Idle keep-alive connections to one endpoint; a new one whenever none is idle."""

    def __init__(
        self,
        where: Endpoint,
        connect_timeout: float,
        *,
        insecure: bool = False,
        cacert: str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.where = where
        self.connect_timeout = connect_timeout
        environ = os.environ if environ is None else environ
        self.proxy = proxy_for(where.scheme, where.host, where.port, environ)
        self._ssl = client_context(insecure, cacert, environ) if where.tls else None
        self._proxy_ssl = client_context(insecure, cacert, environ) if self.proxy is not None and self.proxy.scheme == "https" else None
        self._idle: list[_Connection] = []
        self._all: set[_Connection] = set()

    async def acquire(self, fresh: bool = False) -> _Connection:
        while self._idle and not fresh:
            conn = self._idle.pop()
            if not conn.closed:
                return conn
        conn = await asyncio.wait_for(self._connect(), self.connect_timeout)
        self._all.add(conn)
        return conn

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        where, proxy = self.where, self.proxy
        if proxy is None and self._ssl is None and stamped.available():
            conn = _Connection()
            await stamped.open_stamped(where.host, where.port, conn)
            return conn
        if proxy is None:
            _, conn = await loop.create_connection(
                _Connection, where.host, where.port, ssl=self._ssl, server_hostname=where.host if self._ssl else None
            )
            return conn
        reader, writer = await asyncio.open_connection(
            proxy.host, proxy.port, ssl=self._proxy_ssl, server_hostname=proxy.host if self._proxy_ssl else None
        )
        try:
            if proxy.scheme.startswith("socks5"):
                await _socks5(reader, writer, where, proxy)
            elif where.tls:
                await _http_tunnel(reader, writer, where, proxy)
        except BaseException:
            writer.transport.abort()
            raise
        conn = _Connection()
        conn.handshake_stream = writer  # a StreamWriter closes its transport when collected: kept alive with it
        transport = writer.transport
        transport.set_protocol(conn)
        if self._ssl is not None:
            transport = await loop.start_tls(transport, conn, self._ssl, server_hostname=where.host)  # type: ignore[assignment]
        elif proxy.scheme in ("http", "https"):
            conn.absolute_form = True
            conn.proxy_authorization = proxy.authorization()
        conn.connection_made(transport)
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


async def _http_tunnel(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, where: Endpoint, proxy: Proxy) -> None:
    writer.write(connect_request(where.host, where.port, proxy))
    answer = ResponseReader("CONNECT")
    while answer.head is None:
        data = await reader.read(4096)
        if not data:
            raise ConnectFailedError(f"proxy {proxy.shown} closed the connection instead of opening a tunnel to {where.shown}")
        answer.feed(data)
    if not 200 <= answer.head.status < 300:
        raise ConnectFailedError(f"proxy {proxy.shown} could not open a tunnel to {where.shown}: HTTP {answer.head.status}")


async def _socks5(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, where: Endpoint, proxy: Proxy) -> None:
    writer.write(socks5_greeting(proxy))
    method = (await reader.readexactly(2))[1]
    if method == 2:
        writer.write(socks5_auth(proxy))
        if (await reader.readexactly(2))[1] != 0:
            raise ConnectFailedError(f"SOCKS5 proxy {proxy.shown} refused the user name and password", retryable=False)
    elif method != 0:
        raise ConnectFailedError(f"SOCKS5 proxy {proxy.shown} accepts none of our authentication methods", retryable=False)
    writer.write(socks5_connect(where.host, where.port, remote_dns=proxy.scheme == "socks5h"))
    head = await reader.readexactly(5)
    await reader.readexactly(socks5_reply_length(head) - 5)
    if head[1] != 0:
        raise ConnectFailedError(f"SOCKS5 proxy {proxy.shown} could not connect to {where.shown} (error {head[1]})")


__all__ = ["ConnectionPool", "ReplySink"]
