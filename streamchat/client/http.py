"""HTTP streaming with httpx: connect, retry before the first byte, map failures, yield raw chunks.

A thin layer: it knows nothing of SSE or events. ``before_read`` is called just before every
socket read (through a wrapping httpcore network backend), which is how the caller flushes
everything decoded from the previous read exactly once per network read (SPEC §3).
"""

from __future__ import annotations

import json
import ssl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpcore
import httpx

from ..errors import (
    AuthError,
    ConnectionLostError,
    HTTPStatusError,
    ProtocolError,
    StreamchatError,
    StreamTimeoutError,
    UsageError,
)
from ..protocol.normalize import error_from
from .retry import RETRY_STATUSES, backoff_delay, parse_retry_after

ERROR_BODY_LIMIT = 64 * 1024


@dataclass
class HTTPOptions:
    connect_timeout: float = 30.0
    read_timeout: float = 60.0
    retries: int = 3
    max_response_size: int = 10 * 1024 * 1024
    insecure: bool = False
    cacert: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    notice: Callable[[str], None] = lambda line: None
    sleep: Callable[[float], None] = time.sleep


class _HookedStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream, backend: _HookedBackend) -> None:
        self._stream = stream
        self._backend = backend

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        self._backend.before_read()
        return self._stream.read(max_bytes, timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, timeout)

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        return _HookedStream(self._stream.start_tls(ssl_context, server_hostname, timeout), self._backend)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _HookedBackend(httpcore.NetworkBackend):
    def __init__(self) -> None:
        self._backend = httpcore.SyncBackend()
        self.before_read: Callable[[], None] = lambda: None

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


def _error_message(response: httpx.Response, body: bytes) -> str:
    status = f"HTTP {response.status_code} {response.reason_phrase}".rstrip()
    text = body.decode("utf-8", "replace").strip()
    if not text:
        return status
    try:
        detail = error_from(json.loads(text)).message
    except ValueError:
        detail = text.splitlines()[0][:200]
    return f"{status}: {detail}"


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
    message = _error_message(response, body)
    if response.status_code in (401, 403):
        return AuthError(message, hint="check the token (--token-file, STREAMCHAT_TOKEN)")
    return HTTPStatusError(message, status=response.status_code)


class HTTPStream:
    """One open streaming response: its content type and its body, chunk by chunk."""

    def __init__(self, response: httpx.Response, backend: _HookedBackend, url: str, limit: int) -> None:
        self.response = response
        self.backend = backend
        self.url = url
        self.limit = limit
        self.received = 0

    @property
    def content_type(self) -> str:
        return self.response.headers.get("content-type", "").split(";")[0].strip().lower()

    def set_before_read(self, hook: Callable[[], None]) -> None:
        self.backend.before_read = hook

    def chunks(self) -> Iterator[bytes]:
        """Body chunks as they arrive; the size cap and mid-reply failures raise StreamchatErrors."""
        try:
            for chunk in self.response.iter_bytes():
                self.received += len(chunk)
                if self.received > self.limit:
                    raise ProtocolError(f"response exceeded --max-response-size ({self.limit} bytes)")
                yield chunk
        except httpx.TransportError as exc:
            raise map_transport_error(exc, self.url, started=True) from exc

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
    transport = httpx.HTTPTransport(verify=verify)
    backend = _HookedBackend()
    pool = getattr(transport, "_pool", None)
    if pool is not None and hasattr(pool, "_network_backend"):
        pool._network_backend = backend
    headers = {"Accept": "text/event-stream", **opts.headers}
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
                yield HTTPStream(response, backend, url, opts.max_response_size)
                return
            finally:
                response.close()
