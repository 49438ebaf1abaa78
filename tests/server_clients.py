"""Raw loopback clients for the reference server's tests: exact request bytes in, exact bytes out,
and the attacks a framework client would never make (partial heads, endless bodies, idle sockets)."""

from __future__ import annotations

import json
import socket
import threading
from urllib.parse import urlsplit


def address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 80


def connect(url: str, timeout: float = 10.0) -> socket.socket:
    return socket.create_connection(address(url), timeout=timeout)


def request_bytes(method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


def read_head(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body bytes already read) of the response the socket receives."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed before a complete head: {data!r}")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    return int(status_line.split()[1]), headers, rest


def read_body(sock: socket.socket, headers: dict[str, str], rest: bytes) -> bytes:
    """The rest of a response body: Content-Length, chunked (decoded) or until the close."""
    if "content-length" in headers:
        size = int(headers["content-length"])
        while len(rest) < size:
            chunk = sock.recv(65536)
            if not chunk:
                break
            rest += chunk
        return rest[:size]
    while True:
        if headers.get("transfer-encoding") == "chunked" and rest.endswith(b"0\r\n\r\n"):
            break
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    if headers.get("transfer-encoding") != "chunked":
        return rest
    body, pos = b"", 0
    while True:
        end = rest.index(b"\r\n", pos)
        size = int(rest[pos:end].split(b";")[0], 16)
        if size == 0:
            return body
        body += rest[end + 2 : end + 2 + size]
        pos = end + 2 + size + 2


def exchange(
    url: str, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """One request on a new connection: (status, headers, whole body)."""
    with connect(url) as sock:
        sock.sendall(request_bytes(method, path, body, headers))
        status, got, rest = read_head(sock)
        return status, got, read_body(sock, got, rest)


def post_json(url: str, path: str, obj: object, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    return exchange(url, "POST", path, json.dumps(obj).encode(), {"Content-Type": "application/json", **(headers or {})})


def closed_by_peer(sock: socket.socket, within: float = 15.0) -> bool:
    """Whether the other end closes (or resets) this connection within ``within`` seconds; what
    arrives before the close is read and dropped."""
    sock.settimeout(within)
    try:
        while sock.recv(65536):
            pass
    except (ConnectionResetError, BrokenPipeError):
        return True
    except TimeoutError:
        return False
    return True


class Flood:
    """Send ``total`` bytes (a request head, then body bytes) on its own thread until the peer cuts
    the connection; ``sent`` counts the body bytes the kernel took."""

    def __init__(self, sock: socket.socket, head: bytes, total: int, chunk: bytes = b"x" * 65536, chunked: bool = False) -> None:
        self.sock, self.head, self.total, self.chunk, self.chunked = sock, head, total, chunk, chunked
        self.sent = 0
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        piece = b"%x\r\n%s\r\n" % (len(self.chunk), self.chunk) if self.chunked else self.chunk
        try:
            self.sock.sendall(self.head)
            while self.sent < self.total:
                self.sock.sendall(piece)
                self.sent += len(self.chunk)
        except OSError as exc:
            self.error = exc

    def wait(self, timeout: float = 30.0) -> bool:
        """True once the sender stopped (cut off, or done)."""
        self.thread.join(timeout)
        return not self.thread.is_alive()
