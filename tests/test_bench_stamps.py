"""bench's reads carry the time the bytes arrived, not the time a busy event loop got round to them."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest

from streamchat.bench import stamped

pytestmark = pytest.mark.skipif(not stamped.available(), reason="kernel receive timestamps are Linux-only here")


class Collect:
    def __init__(self) -> None:
        self.reads: list[tuple[bytes, float, float]] = []
        self.lost = asyncio.Event()

    def connection_made(self, transport) -> None:
        self.transport = transport

    def received(self, data: bytes, stamp: float) -> None:
        self.reads.append((data, stamp, time.perf_counter()))

    def connection_lost(self, exc) -> None:
        self.lost.set()


def test_a_read_the_loop_was_too_busy_to_take_is_stamped_when_it_arrived():
    async def main() -> tuple[float, list[tuple[bytes, float, float]]]:
        server = socket.socket()
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        collect = Collect()
        conn = await stamped.open_stamped("127.0.0.1", server.getsockname()[1], collect)
        peer, _ = server.accept()
        peer.sendall(b"warm-up")  # (stamping is switched on system-wide a moment after the first socket asks)
        while not collect.reads:
            await asyncio.sleep(0)
        collect.reads.clear()
        sent = time.perf_counter()
        peer.sendall(b"token")
        time.sleep(0.05)  # the event loop is busy (blocked) while the bytes wait in the kernel
        while not collect.reads:
            await asyncio.sleep(0)
        peer.close()
        await asyncio.wait_for(collect.lost.wait(), 5)
        conn.abort()
        server.close()
        return sent, collect.reads

    sent, reads = asyncio.run(main())
    data, stamp, handled = reads[0]
    assert data == b"token"
    assert sent - 0.001 <= stamp < sent + 0.02  # arrived at once (two clocks converted: a few µs apart)...
    assert handled - stamp >= 0.04  # ...though it was read 50 ms later


def test_arrival_falls_back_to_the_read_time_without_a_believable_stamp():
    assert stamped.arrival([], 10.0) == 10.0
    assert stamped.arrival([(socket.SOL_SOCKET, stamped.SO_TIMESTAMPNS, b"\x00" * 16)], 10.0) == 10.0  # 1970: not believed
