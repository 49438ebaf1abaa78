"""A plain TCP connection for bench whose reads carry the kernel's arrival time (Linux ``SO_TIMESTAMPNS``).

Why: at 128 streams a server's tokens reach many sockets at once, and the event loop calls each
connection's reader one after another. Stamped when its callback runs, the last socket's bytes look
late by every earlier callback's parsing: about 4 ms at the 95th percentile here, all of it bench's
own time, none of it the server's. The kernel stamps each packet as it arrives; a read hands that
stamp back (``recvmsg``'s control data), so a busy loop delays the parsing but not the time a token is
counted at. Where the option is missing (not Linux) or the connection needs TLS, bench uses an asyncio
transport and stamps on the callback, as before.

It offers the two transport calls bench's protocol object makes (``write``, ``abort``) and calls its
``received(data, stamp)`` and ``connection_lost(exc)``.
"""

from __future__ import annotations

import asyncio
import platform
import socket
import struct
import sys
import time
from typing import Any

# Python's socket module does not name it: 35 on Linux's generic ABI (x86-64, arm64), whose timestamps
# come back as two 64-bit integers (a struct timespec); anything else reads as not available.
_GENERIC_ABI = sys.platform == "linux" and platform.machine() in ("x86_64", "aarch64", "arm64", "riscv64")
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35 if _GENERIC_ABI else None) if hasattr(socket.socket, "recvmsg") else None
_CONTROL = socket.CMSG_SPACE(16) if SO_TIMESTAMPNS is not None else 0
READ = 256 * 1024
_MAX_AGE = 1.0  # a stamp older than this is not believed (a clock step): the read time is used instead


_keeper: list[socket.socket] = []


def available() -> bool:
    return SO_TIMESTAMPNS is not None


def keep_stamping_on() -> None:
    """Linux turns receive stamping on system-wide when the first socket asks, after a short deferral,
    and off again when the last one closes; packets that arrive in between carry no stamp (a read then
    reports its own time). One socket held open for the process keeps it on between connections."""
    if not _keeper and available():
        keeper = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        keeper.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        _keeper.append(keeper)


def arrival(control: list[tuple[int, int, bytes]], now: float) -> float:
    """The arrival time on the perf_counter clock, from the kernel's wall-clock stamp in ``control``."""
    for level, kind, data in control:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(data) >= 16:
            seconds, nanoseconds = struct.unpack("qq", data[:16])
            age = time.time() - (seconds + nanoseconds / 1e9)  # how long ago, on the kernel's clock
            if 0.0 <= age < _MAX_AGE:
                return now - age
    return now


async def open_stamped(host: str, port: int, protocol: Any) -> StampedSocket:
    """Connect (non-blocking, every address in turn) and start reading into ``protocol``."""
    keep_stamping_on()
    loop = asyncio.get_running_loop()
    error: OSError | None = None
    for family, kind, proto, _, address in await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        sock = socket.socket(family, kind, proto)
        sock.setblocking(False)
        try:
            await loop.sock_connect(sock, address)
        except OSError as exc:
            sock.close()
            error = exc
            continue
        return StampedSocket(loop, sock, protocol)
    raise error or OSError(f"could not resolve {host}")


class StampedSocket:
    def __init__(self, loop: asyncio.AbstractEventLoop, sock: socket.socket, protocol: Any) -> None:
        self.loop = loop
        self.sock = sock
        self.protocol = protocol
        self.closed = False
        self._unsent = b""
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        loop.add_reader(sock.fileno(), self._readable)
        protocol.connection_made(self)

    def _readable(self) -> None:
        try:
            data, control, _, _ = self.sock.recvmsg(READ, _CONTROL)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._close(exc)
            return
        if not data:
            self._close(None)
            return
        self.protocol.received(data, arrival(control, time.perf_counter()))

    def write(self, data: bytes) -> None:
        if self.closed:
            return
        if not self._unsent:
            try:
                sent = self.sock.send(data)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError as exc:
                self._close(exc)
                return
            data = data[sent:]
            if not data:
                return
            self.loop.add_writer(self.sock.fileno(), self._writable)
        self._unsent += data

    def _writable(self) -> None:
        try:
            sent = self.sock.send(self._unsent)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._close(exc)
            return
        self._unsent = self._unsent[sent:]
        if not self._unsent:
            self.loop.remove_writer(self.sock.fileno())

    def abort(self) -> None:
        self._close(None)

    def _close(self, exc: Exception | None) -> None:
        if self.closed:
            return
        self.closed = True
        fileno = self.sock.fileno()
        self.loop.remove_reader(fileno)
        if self._unsent:
            self.loop.remove_writer(fileno)
        self.sock.close()
        self.protocol.connection_lost(exc)


__all__ = ["StampedSocket", "arrival", "available", "open_stamped"]
