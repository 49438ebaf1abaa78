"""A raw loopback HTTP server that sends exactly the bytes it is given.

No framework in the way: tests replay real servers' byte streams through it, with any framing and
any packet split, and benchmarks use it because it is never the bottleneck.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager


def accept_forever(sock: socket.socket, handle: Callable[[socket.socket], None], tls: ssl.SSLContext | None = None) -> None:
    """Serve each accepted connection on its own daemon thread, until ``sock`` is closed.

    With a server-side ``tls`` context, the handshake runs on the connection's thread first."""

    def handle_tls(conn: socket.socket) -> None:
        try:
            conn = tls.wrap_socket(conn, server_side=True)  # type: ignore[union-attr]
        except OSError:  # the client refused the handshake (an untrusted certificate)
            conn.close()
            return
        handle(conn)

    target = handle if tls is None else handle_tls

    def accept() -> None:
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            threading.Thread(target=target, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()


def frame(body: bytes, framing: str, pieces: int = 1) -> bytes:
    if framing == "chunked":
        step = max(1, len(body) // max(1, pieces))
        chunks = [body[i : i + step] for i in range(0, len(body), step)]
        return b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"
    return body


@contextmanager
def raw_server(
    body: bytes,
    *,
    framing: str = "chunked",
    content_type: str = "text/event-stream",
    status: str = "200 OK",
    pieces: int = 1,
    pause: float = 0.0,
    extra_headers: str = "",
    truncate: int | None = None,
    path: str = "/v1/chat/completions",
    tls: ssl.SSLContext | None = None,
    write_size: int | None = None,
) -> Iterator[str]:
    """Serve ``body`` to every request; ``framing``: chunked, length, or close (close-delimited).

    Yields the URL (``https://`` with a server-side ``tls`` context). ``pieces`` splits the framed
    bytes into that many writes, ``pause`` seconds apart; ``write_size`` writes them in pieces of that
    many bytes back to back (what a proxy that coalesces a stream sends).
    """
    head = f"HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\n{extra_headers}"
    if framing == "chunked":
        head += "transfer-encoding: chunked\r\n"
    elif framing == "length":
        head += f"content-length: {len(body)}\r\n"
    head += "connection: close\r\n\r\n"
    payload = frame(body, framing, pieces)
    if truncate is not None:
        payload = payload[:truncate]  # the connection closes mid-body
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)

    def handle(conn: socket.socket) -> None:
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                more = conn.recv(65536)
                if not more:
                    return
                data += more
            try:
                conn.sendall(head.encode())
                if write_size:
                    for i in range(0, len(payload), write_size):
                        conn.sendall(payload[i : i + write_size])
                elif pause:
                    step = max(1, len(payload) // max(1, pieces))
                    for i in range(0, len(payload), step):
                        conn.sendall(payload[i : i + step])
                        time.sleep(pause)
                else:
                    conn.sendall(payload)
                conn.shutdown(socket.SHUT_WR)
                conn.settimeout(2)
                while conn.recv(65536):
                    pass
            except OSError:
                pass

    accept_forever(sock, handle, tls)
    try:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{sock.getsockname()[1]}{path}"
    finally:
        sock.close()


def ws_frames(messages: list[bytes]) -> bytes:
    """Server-to-client text frames (unmasked), pre-encoded, back to back."""
    out = []
    for payload in messages:
        size = len(payload)
        if size < 126:
            head = bytes([0x81, size])
        elif size < 65536:
            head = bytes([0x81, 126]) + size.to_bytes(2, "big")
        else:
            head = bytes([0x81, 127]) + size.to_bytes(8, "big")
        out.append(head + payload)
    return b"".join(out)


@contextmanager
def raw_ws_server(messages: list[bytes], tls: ssl.SSLContext | None = None) -> Iterator[str]:
    """A WebSocket server that answers the first message with ``messages``, as fast as the socket takes them.

    Yields the URL (``wss://`` with a server-side ``tls`` context)."""
    from websockets.http11 import Request
    from websockets.server import ServerProtocol

    payload = ws_frames(messages)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)

    def handle(conn: socket.socket) -> None:
        proto = ServerProtocol(max_size=None)
        with conn:
            answered = False
            while True:
                try:
                    data = conn.recv(65536)
                except OSError:
                    return
                if data:
                    proto.receive_data(data)
                else:
                    proto.receive_eof()
                for event in proto.events_received():
                    if isinstance(event, Request):
                        proto.send_response(proto.accept(event))
                    elif getattr(event, "opcode", None) is not None and event.opcode.name == "TEXT" and not answered:
                        answered = True
                        for out in proto.data_to_send():
                            conn.sendall(out)
                        conn.sendall(payload)
                try:
                    for out in proto.data_to_send():
                        if not out:
                            return  # the protocol says: close the TCP connection now
                        conn.sendall(out)
                except OSError:
                    return
                if not data:
                    return

    accept_forever(sock, handle, tls)
    try:
        yield f"{'wss' if tls else 'ws'}://127.0.0.1:{sock.getsockname()[1]}/api/chat/ws"
    finally:
        sock.close()
