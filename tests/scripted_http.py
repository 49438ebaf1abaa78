"""A raw loopback HTTP server whose every answer is written by the test: hostile, broken or redirecting.

``scripted_server(answer)`` reads each request whole (head and Content-Length body), records it, and
calls ``answer(conn, request)``, which writes whatever bytes it likes to the socket (or nothing, or
resets it). Requests are kept in ``server.requests`` in arrival order, so a test can count attempts and
see exactly which headers reached which server.
"""

from __future__ import annotations

import socket
import ssl
import struct
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from raw_servers import accept_forever


@dataclass
class Request:
    method: str
    target: str
    headers: dict[str, str]  # lower-case names
    body: bytes


@dataclass
class Scripted:
    url: str  # scheme://127.0.0.1:PORT (no path)
    port: int
    requests: list[Request] = field(default_factory=list)


def read_request(conn: socket.socket, buffered: bytes = b"") -> tuple[Request | None, bytes]:
    data = buffered
    while b"\r\n\r\n" not in data:
        more = conn.recv(65536)
        if not more:
            return None, b""
        data += more
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        more = conn.recv(65536)
        if not more:
            break
        rest += more
    return Request(method, target, headers, rest[:length]), rest[length:]


def reset(conn: socket.socket) -> None:
    """Close with a TCP RST (what a crashed process or a cut proxy does), not a FIN."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


@contextmanager
def scripted_server(
    answer: Callable[[socket.socket, Request], None], tls: ssl.SSLContext | None = None, keep_alive: bool = False
) -> Iterator[Scripted]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    server = Scripted(f"{'https' if tls else 'http'}://127.0.0.1:{port}", port)
    lock = threading.Lock()

    def handle(conn: socket.socket) -> None:
        buffered = b""
        try:
            while True:
                request, buffered = read_request(conn, buffered)
                if request is None:
                    break
                with lock:
                    server.requests.append(request)
                answer(conn, request)
                if not keep_alive:
                    break
        except OSError:
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    accept_forever(sock, handle, tls)
    try:
        yield server
    finally:
        sock.close()


def chunked(body: bytes) -> bytes:
    return b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body) if body else b"0\r\n\r\n"


def sse_response(body: bytes, extra: str = "") -> bytes:
    head = f"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n{extra}\r\n"
    return head.encode() + chunked(body)


def redirect(status: int, location: str) -> bytes:
    return f"HTTP/1.1 {status} Redirect\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n".encode()
