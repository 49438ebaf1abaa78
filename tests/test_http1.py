"""protocol/http1.py: every response shape, split at every byte offset, against h11 as the reference.

As h11's own suite checks itself against the standard library, this checks our reader against h11:
the same status, headers, interim responses, body bytes and end for every split of the same bytes.
"""

from __future__ import annotations

import gzip
import zlib

import h11
import pytest

from streamchat.errors import BodyTooLargeError, ConnectionLostError, ProtocolError, UsageError
from streamchat.protocol.http1 import ResponseReader, encode_request

SSE = b'data: {"choices":[{"delta":{"content":"Hi"}}]}\n\ndata: [DONE]\n\n'


def chunked(body: bytes, sizes: tuple[int, ...] = (7, 1, 30), ext: bytes = b"", trailers: bytes = b"") -> bytes:
    out, pos, i = b"", 0, 0
    while pos < len(body):
        n = sizes[i % len(sizes)]
        piece = body[pos : pos + n]
        out += b"%x%s\r\n%s\r\n" % (len(piece), ext, piece)
        pos += n
        i += 1
    return out + b"0\r\n" + trailers + b"\r\n"


HEAD_SSE = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
GZ = gzip.compress(SSE)
DEFLATE_ZLIB = zlib.compress(SSE)
_raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
DEFLATE_RAW = _raw.compress(SSE) + _raw.flush()

# (name, request method, response bytes, how the body is encoded: None, "gzip" or "deflate")
SHAPES = [
    ("chunked", "POST", HEAD_SSE + b"Transfer-Encoding: chunked\r\n\r\n" + chunked(SSE), None),
    (
        "chunked with extensions and trailers",
        "POST",
        HEAD_SSE + b"Transfer-Encoding: chunked\r\n\r\n" + chunked(SSE, (5, 40), b";name=value;x", b"X-Checksum: 1\r\nX-Other: 2\r\n"),
        None,
    ),
    ("chunked, upper-case hex sizes", "POST", HEAD_SSE + b"Transfer-Encoding: Chunked\r\n\r\n" + chunked(SSE, (26, 11)), None),
    ("content-length", "POST", HEAD_SSE + b"Content-Length: %d\r\n\r\n" % len(SSE) + SSE, None),
    ("repeated equal content-length", "POST", HEAD_SSE + b"Content-Length: %d, %d\r\n\r\n" % (len(SSE), len(SSE)) + SSE, None),
    ("close-delimited", "POST", HEAD_SSE + b"Connection: close\r\n\r\n" + SSE, None),
    ("http/1.0 close-delimited", "GET", b"HTTP/1.0 200 OK\r\nContent-Type: text/event-stream\r\n\r\n" + SSE, None),
    (
        "interim responses first",
        "POST",
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
        + HEAD_SSE
        + b"Content-Length: %d\r\n\r\n" % len(SSE)
        + SSE,
        None,
    ),
    ("bare LF line ends", "POST", b"HTTP/1.1 200 OK\nContent-Type: text/event-stream\nContent-Length: %d\n\n" % len(SSE) + SSE, None),
    ("obsolete line folding", "POST", HEAD_SSE + b"X-Folded: one\r\n  two\r\n\tthree\r\nContent-Length: %d\r\n\r\n" % len(SSE) + SSE, None),
    ("no reason phrase", "POST", b"HTTP/1.1 200\r\nContent-Length: %d\r\n\r\n" % len(SSE) + SSE, None),
    ("gzip, chunked", "POST", HEAD_SSE + b"Content-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(GZ, (9, 2)), "gzip"),
    ("gzip, close-delimited", "POST", HEAD_SSE + b"Content-Encoding: gzip\r\nConnection: close\r\n\r\n" + GZ, "gzip"),
    (
        "deflate (zlib)",
        "POST",
        HEAD_SSE + b"Content-Encoding: deflate\r\nContent-Length: %d\r\n\r\n" % len(DEFLATE_ZLIB) + DEFLATE_ZLIB,
        "deflate",
    ),
    (
        "deflate (raw)",
        "POST",
        HEAD_SSE + b"Content-Encoding: deflate\r\nContent-Length: %d\r\n\r\n" % len(DEFLATE_RAW) + DEFLATE_RAW,
        "deflate",
    ),
    ("204 with no body", "POST", b"HTTP/1.1 204 No Content\r\nX-A: b\r\n\r\n", None),
    ("304 ignores its content-length", "GET", b"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n", None),
    ("HEAD ignores its content-length", "HEAD", b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", None),
    ("CONNECT tunnel established", "CONNECT", b"HTTP/1.1 200 Connection established\r\n\r\n", None),
    (
        "error status with a JSON body",
        "POST",
        b'HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\nRetry-After: 2\r\nContent-Length: 25\r\n\r\n{"error":"slow down now"}',
        None,
    ),
]

BROKEN = [
    ("not HTTP", b"SSH-2.0-OpenSSH_9.2\r\n\r\n"),
    ("a status of two digits", b"HTTP/1.1 20 OK\r\n\r\n"),
    ("space before the colon", b"HTTP/1.1 200 OK\r\nContent-Type : text/plain\r\n\r\n"),
    ("no colon", b"HTTP/1.1 200 OK\r\nJunk\r\n\r\n"),
    ("conflicting content-length", b"HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\nhello"),
    ("negative content-length", b"HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\nhello"),
    ("gzip transfer coding", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"),
    ("bad chunk size", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"),
    ("NUL in a header value", b"HTTP/1.1 200 OK\r\nX-A: a\x00b\r\n\r\n"),
]


def reference(method: str, data: bytes, split: int) -> dict:
    """What h11 makes of ``data`` fed in two pieces (cut at ``split``) and then EOF."""
    conn = h11.Connection(h11.CLIENT)
    conn.send(h11.Request(method=method, target="/", headers=[("Host", "x")]))
    if method != "CONNECT":
        conn.send(h11.EndOfMessage())
    out: dict = {"interim": [], "status": None, "headers": None, "body": b"", "complete": False}
    for piece in [p for p in (data[:split], data[split:]) if p] + [b""]:  # b"" is how h11 hears of EOF
        conn.receive_data(piece)
        while True:
            event = conn.next_event()
            if event in (h11.NEED_DATA, h11.PAUSED) or isinstance(event, h11.ConnectionClosed):
                break
            if isinstance(event, h11.InformationalResponse):
                out["interim"].append(event.status_code)
            elif isinstance(event, h11.Response):
                out["status"] = event.status_code
                out["headers"] = [(k.decode(), v.decode("latin-1")) for k, v in event.headers.raw_items()]
            elif isinstance(event, h11.Data):
                out["body"] += bytes(event.data)
            elif isinstance(event, h11.EndOfMessage):
                out["complete"] = True
        if out["complete"] or conn.their_state is h11.SWITCHED_PROTOCOL:  # a CONNECT tunnel has no body
            out["complete"] = True
            break
    return out


def normalised(headers: list[tuple[str, str]] | None) -> list[tuple[str, str]] | None:
    """Header values as h11 normalises them (it lower-cases Transfer-Encoding, merges equal lengths)."""
    if headers is None:
        return None
    out = []
    for name, value in headers:
        name = name.lower()
        if name == "transfer-encoding":
            value = value.lower()
        elif name == "content-length":
            value = ",".join(sorted({v.strip() for v in value.split(",")}))
        out.append((name, value))
    return out


def ours(method: str, pieces: list[bytes]) -> dict:
    reader = ResponseReader(method)
    body = b""
    for piece in pieces:
        body += reader.feed(piece)
    if not reader.complete:
        body += reader.feed_eof()
    assert reader.head is not None
    headers = [(k, v) for k, v in reader.head.headers]
    return {
        "interim": [h.status for h in reader.interim],
        "status": reader.head.status,
        "headers": headers,
        "body": body,
        "complete": reader.complete,
    }


def decoded(body: bytes, encoding: str | None) -> bytes:
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        try:
            return zlib.decompress(body)
        except zlib.error:
            return zlib.decompress(body, -zlib.MAX_WBITS)
    return body


@pytest.mark.parametrize(("name", "method", "data", "encoding"), SHAPES, ids=[s[0] for s in SHAPES])
def test_every_split_matches_h11(name, method, data, encoding):
    expected = None
    for split in range(len(data) + 1):
        ref = reference(method, data, split)
        ref["body"] = decoded(ref["body"], encoding) if ref["body"] else b""
        ref["headers"] = normalised(ref["headers"])
        got = ours(method, [data[:split], data[split:]])
        got["headers"] = normalised(got["headers"])
        assert got == ref, f"split at {split}"
        expected = expected or got
    byte_by_byte = ours(method, [data[i : i + 1] for i in range(len(data))])
    byte_by_byte["headers"] = normalised(byte_by_byte["headers"])
    assert byte_by_byte == expected


@pytest.mark.parametrize(("name", "data"), BROKEN, ids=[b[0] for b in BROKEN])
def test_malformed_responses_are_protocol_errors_as_h11_says(name, data):
    with pytest.raises(h11.RemoteProtocolError):
        reference("GET", data, len(data))
    for split in range(len(data) + 1):
        reader = ResponseReader("GET")
        with pytest.raises(ProtocolError):
            reader.feed(data[:split])
            reader.feed(data[split:])
            reader.feed_eof()


def test_only_http_1_is_spoken():
    with pytest.raises(ProtocolError, match="unsupported HTTP version"):
        ResponseReader("GET").feed(b"HTTP/2.0 200 OK\r\n\r\n")  # (h11 takes any digit here)


def test_a_body_cut_short_is_a_lost_connection_and_a_silent_server_said_nothing():
    for data in (HEAD_SSE + b"Content-Length: 100\r\n\r\n" + SSE, HEAD_SSE + b"Transfer-Encoding: chunked\r\n\r\n" + chunked(SSE)[:-5]):
        reader = ResponseReader("POST")
        reader.feed(data)
        with pytest.raises(ConnectionLostError, match="before the body was complete"):
            reader.feed_eof()
    reader = ResponseReader("POST")
    reader.feed(HEAD_SSE[:20])
    with pytest.raises(ConnectionLostError, match="middle of the response head"):
        reader.feed_eof()
    silent = ResponseReader("POST")
    with pytest.raises(ConnectionLostError, match="without answering"):
        silent.feed_eof()
    assert silent.bytes_seen == 0


def test_an_unknown_content_encoding_is_refused():
    reader = ResponseReader("GET")
    with pytest.raises(ProtocolError, match="unsupported Content-Encoding 'br'"):
        reader.feed(b"HTTP/1.1 200 OK\r\nContent-Encoding: br\r\nContent-Length: 3\r\n\r\nabc")


def test_the_body_cap_holds_for_decoded_bytes_too():
    bomb = gzip.compress(b"a" * (50 << 20))  # 50 MB of "a" in ~50 KB
    reader = ResponseReader("GET", max_body=1 << 20)
    with pytest.raises(BodyTooLargeError):
        reader.feed(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(bomb) + bomb)
    plain = ResponseReader("GET", max_body=10)
    with pytest.raises(BodyTooLargeError):
        plain.feed(b"HTTP/1.1 200 OK\r\n\r\n" + b"x" * 11)


def test_a_head_that_never_ends_is_refused():
    reader = ResponseReader("GET")
    reader.feed(b"HTTP/1.1 200 OK\r\n")
    with pytest.raises(ProtocolError, match="head is over"):
        for _ in range(100):
            reader.feed(b"X-Filler: " + b"a" * 1000 + b"\r\n")


def test_keep_alive():
    def alive(data: bytes) -> bool:
        reader = ResponseReader("GET")
        reader.feed(data)
        return reader.keep_alive

    assert alive(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    assert not alive(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
    assert not alive(b"HTTP/1.1 200 OK\r\n\r\n")  # read to EOF
    assert not alive(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n")


def test_requests_refuse_header_injection():
    assert encode_request("GET", "h:1", "/p?q", {"A": "b"}, None) == b"GET /p?q HTTP/1.1\r\nHost: h:1\r\nA: b\r\n\r\n"
    assert encode_request("POST", "h", "/", {}, b"{}").endswith(b"Content-Length: 2\r\n\r\n{}")
    with pytest.raises(UsageError):
        encode_request("GET", "h", "/", {"X": "a\r\nInjected: 1"}, None)
