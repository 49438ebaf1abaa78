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


def test_a_stamp_earlier_than_the_read_before_never_makes_a_gap_negative():
    """A kernel stamp is moved onto perf_counter's clock with a few microseconds of jitter, so a read can
    look earlier than the one before it; the connection keeps each read's time at least the last one's."""
    from streamchat.bench.http1 import _Connection
    from streamchat.bench.runner import _TimelineSink
    from streamchat.bench.timeline import Timeline

    class Wire:  # the transport a protocol writes to: only write and abort are used here
        def write(self, data: bytes) -> None:
            pass

        def abort(self) -> None:
            pass

    def chunk(text: str) -> bytes:
        data = ('data: {"choices":[{"index":0,"delta":{"content":"' + text + '"}}]}\n\n').encode()
        return b"%x\r\n%s\r\n" % (len(data), data)

    head = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"

    async def main() -> Timeline:
        conn = _Connection()
        conn.connection_made(Wire())
        timeline = Timeline(0.0, 0.0)
        exchange = asyncio.create_task(conn.exchange(b"POST / HTTP/1.1\r\n\r\n", "POST", _TimelineSink("openai", timeline), 5.0))
        await asyncio.sleep(0)
        base = time.perf_counter()
        conn.received(head + chunk("a"), base + 0.010)
        conn.received(chunk("b"), base + 0.009996)  # 4 µs "before" the read that came first
        done = b"data: [DONE]\n\n"
        conn.received(chunk("c") + b"%x\r\n%s\r\n0\r\n\r\n" % (len(done), done), base + 0.020)
        await exchange
        return timeline

    timeline = asyncio.run(main())
    gaps = timeline.record("ok")["itl_ms"]
    assert len(gaps) == 2 and min(gaps) >= 0.0, gaps
