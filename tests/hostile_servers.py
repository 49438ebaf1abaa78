"""Hostile servers for the client's hardening tests: raw loopback sockets, every byte chosen by the test.

Not the reference server's fault knobs (written by the same hands as the client): a script is a
list of what to do after the request arrived, ``bytes`` to send (each its own write, so each can
arrive in its own read) and ``float`` seconds to wait. Every request head is kept, so a test can
assert how many attempts reached the server, or that none did.
"""

from __future__ import annotations

import base64
import hashlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from raw_servers import accept_forever

Script = list  # of bytes (a write) and float (a pause, seconds)
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


@dataclass
class Seen:
    """What the server received: one request head (plus any body bytes) per connection."""

    requests: list[bytes] = field(default_factory=list)
    connections: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, head: bytes) -> None:
        with self.lock:
            self.requests.append(head)


def _read_head(conn: socket.socket, with_body: bool = False) -> bytes | None:
    """The request head (and, ``with_body``, its Content-Length body), or None if the client left."""
    data = b""
    while b"\r\n\r\n" not in data:
        try:
            more = conn.recv(65536)
        except OSError:
            return None
        if not more:
            return None
        data += more
    if with_body:
        head, _, body = data.partition(b"\r\n\r\n")
        length = next((int(line.split(b":")[1]) for line in head.lower().split(b"\r\n") if line.startswith(b"content-length:")), 0)
        while len(body) < length:
            try:
                more = conn.recv(65536)
            except OSError:
                return None
            if not more:
                return None
            body += more
        data = head + b"\r\n\r\n" + body
    return data


def _play(conn: socket.socket, script: Script) -> None:
    for step in script:
        if isinstance(step, (int, float)):
            time.sleep(step)
        else:
            conn.sendall(step)


def _linger(conn: socket.socket, seconds: float) -> None:
    """Read (and drop) what the client still sends until it closes or ``seconds`` pass."""
    conn.settimeout(seconds)
    try:
        while conn.recv(65536):
            pass
    except OSError:
        pass


@contextmanager
def _serving(handle: Callable[[socket.socket], None]) -> Iterator[int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    accept_forever(sock, handle)
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


def http_response(body: bytes, status: str = "200 OK", content_type: str = "text/event-stream", headers: str = "") -> bytes:
    """A close-delimited HTTP/1.1 response head (the body follows in the script)."""
    return f"HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\n{headers}connection: close\r\n\r\n".encode() + body


@contextmanager
def http_server(script: Script | Callable[[int], Script], path: str = "/v1/chat/completions") -> Iterator[tuple[str, Seen]]:
    """Answers each request with ``script`` (or ``script(n)`` for the n-th connection, from 0), then closes."""
    seen = Seen()

    def handle(conn: socket.socket) -> None:
        with conn:
            head = _read_head(conn, with_body=True)
            if head is None:
                return
            with seen.lock:
                number = seen.connections
                seen.connections += 1
            seen.add(head)
            try:
                _play(conn, script(number) if callable(script) else script)
                conn.shutdown(socket.SHUT_WR)
            except OSError:
                return
            _linger(conn, 2.0)

    with _serving(handle) as port:
        yield f"http://127.0.0.1:{port}{path}", seen


def sse(*events: bytes) -> bytes:
    return b"".join(b"data: " + e + b"\n\n" for e in events)


# -- WebSocket ------------------------------------------------------------------------------------


def ws_frame(payload: bytes, opcode: int = 1, *, fin: bool = True, rsv1: bool = False, mask: bool = False) -> bytes:
    """One server frame, built by hand: any bit may be set the way no library would set it."""
    first = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode
    size = len(payload)
    if size < 126:
        head = bytes([first, (0x80 if mask else 0) | size])
    elif size < 65536:
        head = bytes([first, (0x80 if mask else 0) | 126]) + size.to_bytes(2, "big")
    else:
        head = bytes([first, (0x80 if mask else 0) | 127]) + size.to_bytes(8, "big")
    if mask:
        key = b"\x01\x02\x03\x04"
        return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return head + payload


def close_frame(code: int | None, reason: bytes = b"") -> bytes:
    return ws_frame(b"" if code is None else code.to_bytes(2, "big") + reason, opcode=8)


def text_frames(*messages: bytes) -> bytes:
    return b"".join(ws_frame(m) for m in messages)


def _accept(head: bytes) -> bytes:
    key = b""
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"sec-websocket-key":
            key = value.strip()
    accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
    return b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n"


@contextmanager
def ws_server(
    script: Script | Callable[[int], Script],
    *,
    status: str | None = None,
    body: bytes = b"",
    headers: str = "",
    wait_for_message: bool = True,
    silent: float = 0.0,
    path: str = "/api/chat/ws",
    linger: float = 2.0,
) -> Iterator[tuple[str, Seen]]:
    """A WebSocket server that plays ``script`` after the handshake (after the client's first frame,
    unless ``wait_for_message`` is False). ``status`` refuses the handshake with that HTTP status and
    ``body``; ``silent`` seconds: read the handshake and never answer it. After the script it waits up
    to ``linger`` seconds for the client to close first, then closes (0: at once, a drop)."""
    seen = Seen()

    def handle(conn: socket.socket) -> None:
        with conn:
            head = _read_head(conn)
            if head is None:
                return
            with seen.lock:
                number = seen.connections
                seen.connections += 1
            seen.add(head)
            try:
                if silent:
                    _linger(conn, silent)
                    return
                if status is not None:
                    conn.sendall(f"HTTP/1.1 {status}\r\ncontent-length: {len(body)}\r\n{headers}connection: close\r\n\r\n".encode() + body)
                    _linger(conn, 1.0)
                    return
                conn.sendall(_accept(head))
                if wait_for_message:
                    conn.recv(65536)  # the client's request frame
                _play(conn, script(number) if callable(script) else script)
            except OSError:
                return
            if linger:
                _linger(conn, linger)

    with _serving(handle) as port:
        yield f"ws://127.0.0.1:{port}{path}", seen
