"""Sans-I/O HTTP/1.1 responses: bytes in; the head, the body's payload and its end out (RFC 9112).

One reader for every streamed response, driven by ``chat`` over blocking sockets and by ``bench`` over
asyncio, so both reach the same verdict on the same bytes. Why our own rather than h11: h11 makes one
event (and, above it, one trip through httpcore and httpx) per HTTP chunk, and a token stream sends a
chunk per token; this reader turns whatever one socket read delivered into one piece of payload.
``tests/test_http1.py`` feeds every response shape split at every byte offset and compares it with h11.

What it takes: a head split anywhere (CRLF or bare LF line ends, obsolete line folding), interim ``1xx``
responses before the real one, ``Transfer-Encoding: chunked`` (extensions, trailers), ``Content-Length``,
bodies delimited by the connection's close, responses without a body (``HEAD``, 204, 304, a ``CONNECT``
tunnel), and ``Content-Encoding`` gzip / deflate. Anything else is a ``ProtocolError``.
"""

from __future__ import annotations

import re
import zlib
from typing import Any

from ..errors import BodyTooLargeError, ConnectFailedError, ConnectionLostError, ProtocolError, UsageError
from .chunked import ChunkedDecoder

MAX_HEAD = 64 * 1024
_INFLATE_STEP = 1 << 20  # a compressed read is inflated in bounded steps: a small bomb stays small

_HEAD_END = re.compile(rb"\n\r?\n")
_STATUS_LINE = re.compile(rb"HTTP/(\d)\.(\d) (\d{3})(?: ([\t\x20-\x7e\x80-\xff]*))?")
_FIELD = re.compile(rb"([-!#$%&'*+.^_`|~0-9a-zA-Z]+):[ \t]*([\t\x20-\x7e\x80-\xff]*?)[ \t]*")
_BAD_IN_HEADER = re.compile(r"[\r\n\x00]")

_NONE, _LENGTH, _CHUNKED, _CLOSE = range(4)


class ResponseHead:
    """A status line and header fields; names are lower-case, values latin-1 text."""

    __slots__ = ("status", "reason", "version", "headers")

    def __init__(self, status: int, reason: str, version: str, headers: list[tuple[str, str]]) -> None:
        self.status = status
        self.reason = reason
        self.version = version  # "1.1" or "1.0"
        self.headers = headers

    def get(self, name: str, default: str | None = None) -> str | None:
        """A field's value; several fields of one name are joined with ", " (RFC 9110 §5.3)."""
        values = self.get_all(name)
        return ", ".join(values) if values else default

    def get_all(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key == name]

    @property
    def content_type(self) -> str:
        """The media type alone, lower-case (``text/event-stream``), or "" when none was sent."""
        return (self.get("content-type") or "").split(";")[0].split(",")[0].strip().lower()

    def __repr__(self) -> str:
        return f"ResponseHead({self.status}, {self.reason!r})"


def parse_head(block: bytes) -> ResponseHead:
    """One response head (status line and fields, without the blank line that ends it)."""
    lines = block.split(b"\n")
    lines = [line[:-1] if line.endswith(b"\r") else line for line in lines]
    match = _STATUS_LINE.fullmatch(lines[0])
    if match is None:
        raise ProtocolError(f"malformed response: not an HTTP/1.x status line: {_show(lines[0])}")
    major, minor, status, reason = match.groups()
    if major != b"1":
        raise ProtocolError(f"malformed response: unsupported HTTP version {_show(lines[0][:8])}")
    fields: list[list[bytes]] = []
    for line in lines[1:]:
        if line[:1] in (b" ", b"\t"):  # obsolete line folding: part of the previous field's value
            if not fields:
                raise ProtocolError("malformed response head: a continuation line before any field")
            fields[-1][1] = (fields[-1][1] + b" " + line.strip(b" \t")).strip(b" \t")
            continue
        field = _FIELD.fullmatch(line)
        if field is None:
            raise ProtocolError(f"malformed response head: bad header line {_show(line)}")
        fields.append([field.group(1).lower(), field.group(2)])
    headers = [(name.decode("ascii"), value.decode("latin-1")) for name, value in fields]
    return ResponseHead(int(status), (reason or b"").decode("latin-1"), f"{major.decode()}.{minor.decode()}", headers)


def _show(data: bytes, limit: int = 40) -> str:
    return repr(data[:limit])[1:] + ("…" if len(data) > limit else "")


def _content_decoders(head: ResponseHead) -> list[Any]:
    """The decoders a ``Content-Encoding`` asks for, in the order they must be applied."""
    codings = [c.strip().lower() for c in (head.get("content-encoding") or "").split(",") if c.strip()]
    decoders = []
    for coding in reversed(codings):  # the last coding applied by the server is undone first
        if coding in ("gzip", "x-gzip"):
            decoders.append(zlib.decompressobj(16 + zlib.MAX_WBITS))
        elif coding == "deflate":
            decoders.append(_Deflate())
        elif coding != "identity":
            raise ProtocolError(f"unsupported Content-Encoding {coding!r} (streamchat asks for identity, and decodes gzip and deflate)")
    return decoders


class _Deflate:
    """``deflate`` as servers really send it: zlib-wrapped, or (wrongly, but often) raw (as httpx takes it).

    The two first bytes tell them apart (a zlib header is a multiple of 31 with method 8), so they are
    held back until both have arrived.
    """

    def __init__(self) -> None:
        self._inner: Any = None
        self._held = b""

    def decompress(self, data: bytes, max_length: int = 0) -> bytes:
        if self._inner is None:
            data = self._held + data
            if len(data) < 2:
                self._held = data
                return b""
            wrapped = data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0
            self._inner = zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
        return self._inner.decompress(data, max_length)

    @property
    def unconsumed_tail(self) -> bytes:
        return self._inner.unconsumed_tail if self._inner is not None else b""

    def flush(self) -> bytes:
        if self._inner is None:
            raise zlib.error("the deflate body ended before its first two bytes")
        return self._inner.flush()


class ResponseReader:
    """The response to one request: ``feed(bytes) -> payload``, ``feed_eof() -> payload``.

    ``head`` is set once the final (non-``1xx``) head has arrived; ``complete`` once the body's framing
    says it ended. ``max_body`` caps the decoded payload (``BodyTooLargeError``). A connection that ends
    before the framing is complete raises ``ConnectionLostError`` from ``feed_eof``.
    """

    __slots__ = (
        "method",
        "max_body",
        "head",
        "interim",
        "complete",
        "received",
        "bytes_seen",
        "_buf",
        "_scan",
        "_mode",
        "_remaining",
        "_chunked",
        "_decoders",
    )

    def __init__(self, method: str = "GET", *, max_body: int | None = None) -> None:
        self.method = method.upper()
        self.max_body = max_body
        self.head: ResponseHead | None = None
        self.interim: list[ResponseHead] = []
        self.complete = False
        self.received = 0  # payload bytes handed out (after content decoding)
        self.bytes_seen = 0  # raw bytes fed: 0 means the server has not answered at all
        self._buf = b""
        self._scan = 0
        self._mode = _NONE
        self._remaining = 0
        self._chunked: ChunkedDecoder | None = None
        self._decoders: list[Any] = []  # zlib decompressors, applied in order

    @property
    def keep_alive(self) -> bool:
        """Whether the connection may carry another request once this response is complete."""
        head = self.head
        if head is None or self._mode == _CLOSE or head.version != "1.1":
            return False
        return "close" not in (head.get("connection") or "").lower()

    def feed(self, data: bytes) -> bytes:
        """The body payload in ``data`` (b"" while the head is still arriving, or when there is none)."""
        self.bytes_seen += len(data)
        if self.head is None:
            data = self._head_bytes(data)
            if self.head is None or not data:
                return b""
        if self.complete:
            return b""  # bytes after the end of this response are not ours
        mode = self._mode
        if mode == _CHUNKED:
            chunked = self._chunked
            try:
                payload = chunked.feed(data)  # type: ignore[union-attr]
            except ProtocolError as exc:  # the payload before the bad framing is the caller's still, within the cap
                # (a compressed body's part is left out: it may end inside a deflate block)
                exc.body_before = b"" if self._decoders else self._within_cap(exc.body_before)
                raise
            if chunked.done:  # type: ignore[union-attr]
                self.complete = True
        elif mode == _LENGTH:
            payload = data[: self._remaining]
            self._remaining -= len(payload)
            if self._remaining == 0:
                self.complete = True
        else:
            payload = data
        if self._decoders:
            payload = self._decode(payload)
        if payload:
            kept = self._within_cap(payload)
            if len(kept) < len(payload):
                raise self._too_large(kept)
        return payload

    def feed_eof(self) -> bytes:
        """The connection closed: what is left of a close-delimited body, or an error if one was cut."""
        if self.head is None:
            if self.bytes_seen == 0:  # the request may never have been read: another attempt is safe
                raise ConnectFailedError("the server closed the connection without answering")
            raise ConnectionLostError("connection lost: the server closed it in the middle of the response head")
        if self.complete:
            return b""
        if self._mode != _CLOSE:
            raise ConnectionLostError("connection lost mid-reply: the server closed the connection before the body was complete")
        self.complete = True
        return self._decode(b"") if self._decoders else b""

    # -- the head ---------------------------------------------------------------------------------

    def _head_bytes(self, data: bytes) -> bytes:
        """Takes bytes while no final head has arrived; returns those that belong to the body."""
        buf = self._buf + data if self._buf else data
        while True:
            end = _HEAD_END.search(buf, self._scan)
            if end is None:
                if len(buf) > MAX_HEAD:
                    raise ProtocolError(f"malformed response: the head is over {MAX_HEAD // 1024} KB")
                self._buf = buf
                self._scan = max(0, len(buf) - 2)
                return b""
            block = buf[: end.start()]
            buf = buf[end.end() :]
            self._scan = 0
            if not block.strip(b"\r\n"):  # stray empty lines before a status line are tolerated (RFC 9112 §2.2)
                continue
            head = parse_head(block)
            if head.status == 101:
                raise ProtocolError("malformed response: an unexpected 101 Switching Protocols")
            if head.status < 200:
                self.interim.append(head)  # 100 Continue, 103 Early Hints: the real response follows
                continue
            self._buf = b""
            self._start_body(head)
            return buf

    def _start_body(self, head: ResponseHead) -> None:
        self.head = head
        status = head.status
        if self.method == "HEAD" or status in (204, 304) or (self.method == "CONNECT" and 200 <= status < 300):
            self._mode = _NONE
            self.complete = True
            return
        self._decoders = _content_decoders(head)
        codings = [c.strip().lower() for c in (head.get("transfer-encoding") or "").split(",") if c.strip()]
        if codings:
            if codings != ["chunked"]:
                raise ProtocolError(f"unsupported Transfer-Encoding {head.get('transfer-encoding')!r}")
            self._mode = _CHUNKED
            self._chunked = ChunkedDecoder()
            return
        lengths = {v.strip() for v in (head.get("content-length") or "").split(",")} - {""}
        if lengths:
            length = lengths.pop()
            if lengths or not length.isascii() or not length.isdigit() or len(length) > 20:
                raise ProtocolError(f"malformed response: bad Content-Length {head.get('content-length')!r}")
            self._mode = _LENGTH
            self._remaining = int(length)
            if self._remaining == 0:
                self.complete = True
            return
        self._mode = _CLOSE

    # -- the body ---------------------------------------------------------------------------------

    def _decode(self, data: bytes) -> bytes:
        try:
            for decoder in self._decoders:
                data = self._inflate(decoder, data)
        except zlib.error as exc:
            raise ProtocolError(f"malformed response body: cannot decode its Content-Encoding: {exc}") from None
        return data

    def _inflate(self, decoder: Any, data: bytes) -> bytes:
        limit = self.max_body
        parts = [decoder.decompress(data, _INFLATE_STEP)]
        size = len(parts[0])
        while decoder.unconsumed_tail:
            if limit is not None and self.received + size > limit:
                self._count(size)  # raises
            parts.append(decoder.decompress(decoder.unconsumed_tail, _INFLATE_STEP))
            size += len(parts[-1])
        if self.complete:
            parts.append(decoder.flush())
        return b"".join(parts)

    def _within_cap(self, payload: bytes) -> bytes:
        """As much of ``payload`` as the size cap still allows (all of it without a cap), counted."""
        if self.max_body is None:
            self.received += len(payload)
            return payload
        room = max(self.max_body - self.received, 0)
        self.received += min(len(payload), room)
        return payload[:room]

    def _too_large(self, kept: bytes = b"") -> BodyTooLargeError:
        """The cap is crossed; ``kept``, the part of the read within it, is still the caller's."""
        exc = BodyTooLargeError(f"response exceeded --max-response-size ({self.max_body} bytes)")
        exc.body_before = kept
        return exc

    def _count(self, size: int) -> None:
        self.received += size
        if self.max_body is not None and self.received > self.max_body:
            raise self._too_large()


def encode_request(method: str, authority: str, target: str, headers: dict[str, str], body: bytes | None) -> bytes:
    """A request head (and body) as bytes; ``target`` is the path and query, or an absolute URL via a proxy.

    A header with a line break or NUL in it would let a value smuggle in another header: refused.
    """
    lines = [f"{method} {target} HTTP/1.1", f"Host: {authority}"]
    for name, value in headers.items():
        if _BAD_IN_HEADER.search(name) or _BAD_IN_HEADER.search(value):
            raise UsageError(f"bad header {name!r}: line breaks and NUL are not allowed in a header")
        lines.append(f"{name}: {value}")
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    try:
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    except UnicodeEncodeError as exc:
        raise UsageError(f"bad header: {exc.object[exc.start : exc.end]!r} cannot be sent in an HTTP header") from None
    return head + body if body else head


__all__ = ["MAX_HEAD", "ResponseHead", "ResponseReader", "encode_request", "parse_head"]
