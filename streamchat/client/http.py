"""HTTP/1.1 over blocking sockets: connect (directly, or through a proxy), send, and read the response
with the shared sans-I/O reader (``protocol/http1.py``); retries and redirects as their policies say.

A thin layer: it knows nothing of SSE or events. The caller's ``before_read`` hook runs just before
every blocking read of the body, which is how output is flushed exactly once per network read.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .. import __version__
from ..errors import ConnectFailedError, ProtocolError, StreamchatError, UsageError
from ..protocol import strict_json
from ..protocol.http1 import ResponseHead, ResponseReader, encode_request
from .connection import Connection, Endpoint, open_connection
from .options import ConnectionOptions
from .redirects import REDIRECT_STATUSES, Hop, next_hop
from .retry import RetryPolicy, parse_retry_after
from .status import http_status_error

ERROR_BODY_LIMIT = 64 * 1024
BODY_READ = 256 * 1024  # one socket read: large, so a burst of tokens is decoded in one pass
USER_AGENT = f"streamchat/{__version__}"


@dataclass
class HTTPOptions(ConnectionOptions):
    max_response_size: int = 10 * 1024 * 1024
    environ: Mapping[str, str] | None = None  # proxies and CA settings come from here (None: os.environ)


def endpoint_of(url: str) -> tuple[Endpoint, str]:
    """Where ``url`` points, and its request target (path and query); a bad URL is a usage error."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UsageError(f"bad URL {url!r}: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"bad URL {url!r}: expected http://HOST[:PORT]/PATH or https://...")
    host = parts.hostname
    try:
        host.encode("ascii")
    except UnicodeEncodeError:
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise UsageError(f"bad URL {url!r}: bad host name: {exc}") from None
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Endpoint(scheme, host, port or (443 if scheme == "https" else 80)), target


class HTTPResponse:
    """A response whose head has arrived; its body is read on demand with ``chunks()`` / ``read_all()``."""

    def __init__(self, conn: Connection, reader: ResponseReader, first: bytes, url: str, read_timeout: float) -> None:
        self.conn = conn
        self.reader = reader
        self.head: ResponseHead = reader.head  # type: ignore[assignment]
        self.url = url
        self.read_timeout = read_timeout
        self.sent_at = 0.0  # perf_counter when the request that got this response was sent
        self.waited = 0.0  # seconds spent waiting between retries before it
        self._first = first
        self.failed: ProtocolError | None = None  # bad framing in the read that brought the head: raised after ``first``
        self._before_read: Callable[[], None] = _nothing

    @property
    def status_code(self) -> int:
        return self.head.status

    @property
    def content_type(self) -> str:
        return self.head.content_type

    def set_before_read(self, hook: Callable[[], None]) -> None:
        self._before_read = hook

    def chunks(self) -> Iterator[bytes]:
        """Body payload as it arrives; mid-reply failures raise StreamchatErrors."""
        reader = self.reader
        if self._first:
            first, self._first = self._first, b""
            yield first
        if self.failed is not None:
            raise self.failed
        recv = self.conn.recv
        before = self._before_read
        while not reader.complete:
            before()
            data = recv(BODY_READ, mid_reply=True)
            try:
                payload = reader.feed(data) if data else reader.feed_eof()
            except ProtocolError as exc:
                if exc.body_before:
                    yield exc.body_before  # what the read held before the bad framing (or the cap) is output still
                raise
            if payload:
                yield payload
            if not data:
                return

    def read_all(self, limit: int | None = None) -> bytes:
        """The whole body (or its first ``limit`` bytes: the rest is left unread)."""
        parts, size = [], 0
        for chunk in self.chunks():
            parts.append(chunk)
            size += len(chunk)
            if limit is not None and size >= limit:
                break
        body = b"".join(parts)
        return body if limit is None else body[:limit]

    def close(self) -> None:
        self.conn.close()


def _nothing() -> None:
    pass


def encode_json(body: Any) -> bytes:
    # ASCII with escapes: a lone surrogate (from a non-UTF-8 argv, say) cannot break the encoding
    return json.dumps(body).encode("ascii")


def _exchange(hop: Hop, headers: dict[str, str], opts: HTTPOptions, spare: Connection | None) -> HTTPResponse:
    """One request, up to the end of the response head: on ``spare`` (a kept-alive connection to the
    same place) when there is one, else on a new connection."""
    where, target = endpoint_of(hop.url)
    if spare is not None and spare.where == where:
        try:
            return _request_on(spare, hop, where, target, headers, opts)
        except ConnectFailedError:
            pass  # the server had closed the idle connection: a new one, as if it had never been kept
    elif spare is not None:
        spare.close()
    return _request_on(open_connection(where, opts), hop, where, target, headers, opts)


def _request_on(conn: Connection, hop: Hop, where: Endpoint, target: str, headers: dict[str, str], opts: HTTPOptions) -> HTTPResponse:
    try:
        if conn.via_proxy and where.scheme == "http":
            target = hop.url.split("#", 1)[0]  # a forward proxy takes the absolute URL
            auth = conn.proxy_authorization
            if auth:
                headers = {**headers, "Proxy-Authorization": auth}
        conn.send(encode_request(hop.method, where.authority, target, headers, hop.body))
        sent_at = time.perf_counter()
        reader = ResponseReader(hop.method, max_body=opts.max_response_size)
        payload, failed = b"", None
        while reader.head is None:
            data = conn.recv(BODY_READ, mid_reply=False, answered=reader.bytes_seen > 0)
            if not data:
                if reader.bytes_seen == 0:
                    raise ConnectFailedError(f"{where.shown} closed the connection without answering")
                reader.feed_eof()  # raises: the head was cut short
            try:
                payload = reader.feed(data)
            except ProtocolError as exc:
                if reader.head is None:
                    raise
                payload, failed = exc.body_before, exc  # the body's start came with the head: output before the error
        response = HTTPResponse(conn, reader, payload, hop.url, opts.read_timeout)
        response.failed = failed
        response.sent_at = sent_at
        return response
    except BaseException:
        conn.close()
        raise


def _kept(response: HTTPResponse) -> Connection | None:
    """The connection of a response read to its end, if the server keeps it open for another request."""
    if response.reader.complete and response.reader.keep_alive:
        return response.conn
    response.close()
    return None


def _error_for(response: HTTPResponse) -> StreamchatError:
    """An error status as an exception, with the (bounded) body's message and Retry-After."""
    try:
        body = response.read_all(ERROR_BODY_LIMIT)
    except StreamchatError:
        body = b""  # an error body cut short: the status says enough
    head = response.head
    return http_status_error(head.status, head.reason, body, parse_retry_after(head.get("retry-after")))


class KeptConnection:
    """A connection kept open between simple requests to one server (``camera --forward`` posts a frame
    at a time): ``send`` takes it when it points at the same place, ``keep`` gives a finished one back."""

    def __init__(self) -> None:
        self.conn: Connection | None = None

    def take(self) -> Connection | None:
        conn, self.conn = self.conn, None
        return conn

    def keep(self, response: HTTPResponse) -> None:
        self.close()
        self.conn = _kept(response)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def send(
    method: str,
    url: str,
    opts: HTTPOptions,
    body: bytes | None = None,
    *,
    headers: Mapping[str, str] | None = None,
    accept: str = "text/event-stream",
    kept: KeptConnection | None = None,
) -> HTTPResponse:
    """Send a request (retrying and following redirects as their policies say) until a 2xx head arrives.

    ``headers`` go to every hop; ``opts.headers`` (the token, ``-H`` headers) only to the original
    origin. Error statuses raise after their (bounded) body is read: 401/403 → AuthError, others →
    HTTPStatusError. The caller closes the returned response.
    """
    public = {"User-Agent": USER_AGENT, "Accept": accept, "Accept-Encoding": "identity", **(headers or {})}
    if body is not None:
        public.setdefault("Content-Type", "application/json")
    private = dict(opts.headers)
    policy = RetryPolicy(opts.retries, sleep=opts.sleep)
    hop = Hop(method.upper(), url, body)
    attempt = 0
    spare = kept.take() if kept is not None else None  # a kept-alive connection to try first
    try:
        while True:
            sent = {**public, **private} if hop.with_credentials else public
            try:
                response = _exchange(hop, sent, opts, spare)
                spare = None
                status = response.status_code
                if status in REDIRECT_STATUSES:
                    location = response.head.get("location")
                    _error_for(response)  # the body, so that the connection can be used again
                    spare = _kept(response)
                    hop = next_hop(url, hop, status, location)
                    continue
                if status >= 400:
                    error = _error_for(response)
                    spare = _kept(response)
                    raise error
            except StreamchatError as error:
                if policy.wait_before_retry(error, attempt, opts.notice):
                    attempt += 1
                    continue
                raise
            response.waited = policy.waited
            return response
    finally:
        if spare is not None:
            spare.close()


@contextmanager
def open_stream(
    method: str, url: str, opts: HTTPOptions, body: Any = None, *, headers: Mapping[str, str] | None = None
) -> Iterator[HTTPResponse]:
    """``send`` for a streamed reply (a JSON body is encoded here), closed when the block ends."""
    response = send(method, url, opts, None if body is None else encode_json(body), headers=headers)
    try:
        yield response
    finally:
        response.close()


def request(
    method: str,
    url: str,
    opts: HTTPOptions,
    body: Any = None,
    *,
    headers: Mapping[str, str] | None = None,
    kept: KeptConnection | None = None,
) -> tuple[ResponseHead, bytes]:
    """A simple request (a JSON body, a whole answer): the head and the body of a 2xx response."""
    encoded = None if body is None else encode_json(body)
    response = send(method, url, opts, encoded, headers=headers, accept="application/json", kept=kept)
    try:
        raw = response.read_all()
    except BaseException:
        response.close()
        raise
    if kept is not None:
        kept.keep(response)
    else:
        response.close()
    return response.head, raw


def request_json(method: str, url: str, opts: HTTPOptions, body: Any = None, *, headers: Mapping[str, str] | None = None) -> Any:
    """``request`` for a JSON answer (a model list, a sign-in): the decoded body, or None if it is not JSON."""
    _, raw = request(method, url, opts, body, headers=headers)
    try:
        return strict_json.loads(raw) if raw.strip() else None
    except ValueError:
        return None


__all__ = ["HTTPOptions", "HTTPResponse", "KeptConnection", "encode_json", "endpoint_of", "open_stream", "request", "request_json", "send"]
