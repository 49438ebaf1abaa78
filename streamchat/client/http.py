"""HTTP streaming with httpx: connect, retry before the first byte, map failures, yield raw chunks.

A thin layer: it knows nothing of SSE or events. ``before_read`` is called just before every
socket read (through a wrapping httpcore network backend), which is how the caller flushes
everything decoded from the previous read exactly once per network read (SPEC §3).
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

from ..errors import (
    ConnectionLostError,
    ProtocolError,
    StreamchatError,
    StreamTimeoutError,
    UsageError,
)
from ..protocol.chunked import ChunkedDecoder
from .options import ConnectionOptions
from .retry import RETRY_STATUSES, backoff_delay, parse_retry_after
from .status import http_status_error

ERROR_BODY_LIMIT = 64 * 1024
BODY_READ = 256 * 1024  # one socket read: large, so a burst of tokens is decoded in one pass


@dataclass
class HTTPOptions(ConnectionOptions):
    max_response_size: int = 10 * 1024 * 1024


class _HookedStream(httpcore.NetworkStream):
    """The socket under httpcore, with three additions.

    * ``before_read`` runs before every socket read (the flush point, SPEC §3);
    * while ``headers_only`` is set, h11 is handed bytes only up to the end of the response head, so
      the body is still ours to read with ``read_body`` (see ``HTTPStream``);
    * the TLS context is the backend's, made at the first handshake (see ``_HookedBackend``).
    """

    def __init__(self, stream: httpcore.NetworkStream, backend: _HookedBackend) -> None:
        self._stream = stream
        self._backend = backend
        self._pending = b""
        self.headers_only = True

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        if not self._pending:
            self._backend.before_read()
            self._pending = self._stream.read(max(max_bytes, BODY_READ), timeout)
        data = self._pending
        if self.headers_only:
            end = data.find(b"\r\n\r\n")
            if end >= 0 and end + 4 < len(data):
                self._pending = data[end + 4 :]
                return data[: end + 4]
        if len(data) > max_bytes:
            self._pending = data[max_bytes:]
            return data[:max_bytes]
        self._pending = b""
        return data

    def read_body(self, timeout: float | None) -> bytes:
        """The next bytes of the body (b"" at EOF): what h11 was not given, then the socket."""
        if self._pending:
            data, self._pending = self._pending, b""
            return data
        self._backend.before_read()
        return self._stream.read(BODY_READ, timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        # A request on this connection (a retry after an error status may reuse it): its response's
        # body is ours again. Left False from the error body, h11 would swallow the first events
        # that arrive in the same read as the new response's head.
        self.headers_only = True
        self._stream.write(buffer, timeout)

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        if ssl_context is self._backend.placeholder_tls:
            ssl_context = self._backend.tls_context()
        tls = self._stream.start_tls(ssl_context, server_hostname, timeout)
        return _HookedStream(tls, self._backend)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _HookedBackend(httpcore.NetworkBackend):
    """httpcore's socket backend, handing out ``_HookedStream`` sockets.

    TLS: loading the CA bundle costs about 20 ms, which a plain ``http://`` stream (the common case on
    loopback and in clusters) never needs. The transport is given ``placeholder_tls``, which is never
    used for a handshake: ``start_tls`` swaps in the real context, made on first use from ``verify``.
    """

    def __init__(self, verify: ssl.SSLContext | bool = True) -> None:
        self._backend = httpcore.SyncBackend()
        self.before_read: Callable[[], None] = lambda: None
        self._verify = verify
        self._tls: ssl.SSLContext | None = None
        self.placeholder_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)

    def tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            self._tls = httpx.create_ssl_context(verify=self._verify)
            self._tls.set_alpn_protocols(["http/1.1"])  # what httpcore sets on the context it is given
        return self._tls

    def connect_tcp(
        self, host: str, port: int, timeout: float | None = None, local_address: str | None = None, socket_options: Any = None
    ) -> httpcore.NetworkStream:
        return _HookedStream(self._backend.connect_tcp(host, port, timeout, local_address, socket_options), self)

    def connect_unix_socket(self, path: str, timeout: float | None = None, socket_options: Any = None) -> httpcore.NetworkStream:
        return _HookedStream(self._backend.connect_unix_socket(path, timeout, socket_options), self)

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


def _host(url: str) -> str:
    try:
        parsed = httpx.URL(url)
        return f"{parsed.host}:{parsed.port}" if parsed.port else parsed.host
    except Exception:  # noqa: BLE001 - only used in messages
        return url


def map_transport_error(exc: httpx.TransportError, url: str, *, started: bool) -> StreamchatError:
    """One place where httpx's exceptions become ours (``started``: the reply had begun)."""
    where = _host(url)
    if isinstance(exc, httpx.ConnectTimeout):
        return StreamTimeoutError(f"timed out connecting to {where} (--connect-timeout)")
    if isinstance(exc, httpx.TimeoutException):
        what = "mid-reply" if started else "waiting for the response"
        return StreamTimeoutError(f"timed out {what}: no data from {where} within --read-timeout")
    if isinstance(exc, httpx.UnsupportedProtocol):
        return UsageError(f"bad URL {url!r}: {exc}")
    if isinstance(exc, httpx.ConnectError):
        reason = str(exc) or type(exc).__name__
        if "CERTIFICATE_VERIFY_FAILED" in reason or "SSL" in reason:
            return ConnectionLostError(f"TLS error with {where}: {reason}", hint="use --cacert PATH, or --insecure to skip verification")
        return ConnectionLostError(f"could not connect to {where}: {reason}")
    if isinstance(exc, httpx.DecodingError):
        return ProtocolError(f"malformed response body from {where}: {exc}")
    reason = str(exc) or type(exc).__name__
    if started:
        return ConnectionLostError(f"connection lost mid-reply: {reason}")
    return ConnectionLostError(f"connection to {where} failed: {reason}")


def _read_bounded(response: httpx.Response, limit: int) -> bytes:
    parts: list[bytes] = []
    size = 0
    try:
        for chunk in response.iter_bytes():
            parts.append(chunk)
            size += len(chunk)
            if size >= limit:
                break
    except httpx.HTTPError:
        pass  # an error body cut short is still worth showing
    return b"".join(parts)[:limit]


def status_error(response: httpx.Response, body: bytes) -> StreamchatError:
    return http_status_error(response.status_code, response.reason_phrase, body)


class HTTPStream:
    """One open streaming response: its content type and its body, chunk by chunk.

    The body of an identity-encoded response is read straight from the socket (``_raw_chunks``),
    framing decoded by our own ``ChunkedDecoder``; anything else goes through httpx as usual.
    """

    def __init__(self, response: httpx.Response, url: str, limit: int, read_timeout: float) -> None:
        self.response = response
        self.url = url
        self.limit = limit
        self.read_timeout = read_timeout
        self.received = 0
        self.backend: _HookedBackend | None = None
        stream = response.extensions.get("network_stream")
        self._raw = stream if isinstance(stream, _HookedStream) and self._identity_body() else None
        if isinstance(stream, _HookedStream):
            self.backend = stream._backend
            if self._raw is None:
                stream.headers_only = False  # hand the rest to h11

    def _identity_body(self) -> bool:
        headers = self.response.headers
        if headers.get("content-encoding", "identity").strip().lower() not in ("", "identity"):
            return False
        te = headers.get("transfer-encoding", "").strip().lower()
        return te in ("", "chunked")

    @property
    def status_code(self) -> int:
        return self.response.status_code

    @property
    def content_type(self) -> str:
        return self.response.headers.get("content-type", "").split(";")[0].strip().lower()

    def set_before_read(self, hook: Callable[[], None]) -> None:
        if self.backend is not None:
            self.backend.before_read = hook

    def chunks(self) -> Iterator[bytes]:
        """Body bytes as they arrive; the size cap and mid-reply failures raise StreamchatErrors."""
        source = self._raw_chunks() if self._raw is not None else self._httpx_chunks()
        limit = self.limit
        for chunk in source:
            self.received += len(chunk)
            if self.received > limit:
                raise ProtocolError(f"response exceeded --max-response-size ({limit} bytes)")
            yield chunk

    def _httpx_chunks(self) -> Iterator[bytes]:
        try:
            yield from self.response.iter_bytes()
        except httpx.TransportError as exc:
            raise map_transport_error(exc, self.url, started=True) from exc

    def _raw_chunks(self) -> Iterator[bytes]:
        stream = self._raw
        assert stream is not None
        headers = self.response.headers
        chunked = headers.get("transfer-encoding", "").strip().lower() == "chunked"
        decoder = ChunkedDecoder() if chunked else None
        length = None if chunked or "content-length" not in headers else int(headers["content-length"])
        remaining = length
        timeout = self.read_timeout
        while remaining is None or remaining > 0:
            try:
                data = stream.read_body(timeout)
            except httpcore.TimeoutException as exc:
                raise StreamTimeoutError(f"timed out mid-reply: no data from {_host(self.url)} within --read-timeout") from exc
            except (httpcore.NetworkError, OSError) as exc:
                raise ConnectionLostError(f"connection lost mid-reply: {exc or type(exc).__name__}") from exc
            if not data:
                if decoder is not None or (remaining is not None and remaining > 0):
                    raise ConnectionLostError("connection lost mid-reply: peer closed connection without sending complete message body")
                return
            if decoder is not None:
                payload = decoder.feed(data)
                if payload:
                    yield payload
                if decoder.done:
                    return
            elif remaining is not None:
                payload = data[:remaining]
                remaining -= len(payload)
                yield payload
                if remaining <= 0:
                    return
            else:
                yield data

    def read_all(self) -> bytes:
        return b"".join(self.chunks())


@contextmanager
def open_stream(method: str, url: str, opts: HTTPOptions, body: Any = None) -> Iterator[HTTPStream]:
    """Send the request (retrying only before any response byte, SPEC §6) and yield the open stream.

    Error statuses raise after their (bounded) body is read: 401/403 → AuthError, others → HTTPStatusError.
    """
    verify: Any = False if opts.insecure else (opts.cacert or True)
    if opts.cacert and not opts.insecure:
        try:
            verify = ssl.create_default_context(cafile=opts.cacert)
        except (OSError, ssl.SSLError) as exc:
            raise UsageError(f"cannot load --cacert {opts.cacert!r}: {exc}") from exc
    timeout = httpx.Timeout(opts.read_timeout, connect=opts.connect_timeout, pool=opts.connect_timeout)
    backend = _HookedBackend(verify)
    transport = httpx.HTTPTransport(verify=backend.placeholder_tls)
    pool = getattr(transport, "_pool", None)
    if pool is not None and hasattr(pool, "_network_backend"):
        pool._network_backend = backend
    # identity: a compressed event stream would defeat both streaming and the raw body path
    headers = {"Accept": "text/event-stream", "Accept-Encoding": "identity", **opts.headers}
    content = None
    if body is not None:
        content = json.dumps(body, ensure_ascii=False).encode("utf-8")
        headers.setdefault("Content-Type", "application/json")
    try:
        client = httpx.Client(transport=transport, timeout=timeout, follow_redirects=True, trust_env=False)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    with client:
        attempt = 0
        while True:
            try:
                request = client.build_request(method, url, headers=headers, content=content)
            except (httpx.InvalidURL, httpx.UnsupportedProtocol, ValueError) as exc:
                raise UsageError(f"bad URL {url!r}: {exc}") from exc
            try:
                response = client.send(request, stream=True)
            except httpx.TransportError as exc:
                error = map_transport_error(exc, url, started=False)
                retryable = isinstance(exc, (httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError)) and not isinstance(
                    error, UsageError
                )
                if isinstance(exc, httpx.ConnectError) and "SSL" in str(exc):
                    retryable = False
                if not retryable or attempt >= opts.retries:
                    raise error from exc
                delay = backoff_delay(attempt)
                opts.notice(f"streamchat: {error.message}; retrying in {delay:.1f} s ({attempt + 1}/{opts.retries})")
                opts.sleep(delay)
                attempt += 1
                continue
            try:
                if response.status_code >= 400:
                    stream = response.extensions.get("network_stream")
                    if isinstance(stream, _HookedStream):
                        stream.headers_only = False
                    body_bytes = _read_bounded(response, ERROR_BODY_LIMIT)
                    error = status_error(response, body_bytes)
                    if response.status_code in RETRY_STATUSES and attempt < opts.retries:
                        delay = backoff_delay(attempt, parse_retry_after(response.headers.get("retry-after")))
                        opts.notice(f"streamchat: {error.message}; retrying in {delay:.1f} s ({attempt + 1}/{opts.retries})")
                        response.close()
                        opts.sleep(delay)
                        attempt += 1
                        continue
                    raise error
                yield HTTPStream(response, url, opts.max_response_size, opts.read_timeout)
                return
            finally:
                response.close()
