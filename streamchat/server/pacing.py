"""When the reference server sends each item: on absolute deadlines from the request's arrival.

Sleeping ``itl`` after each send would add every send's own cost to the next gap, so a busy server
drifted (11 ms measured for 10 ms configured at 64 streams). Deadlines ``arrival + ttft + i * itl``
keep the configured timing exact on average whatever each send costs, which is what bench's
self-check compares against. Every paced stream uses it: SSE and NDJSON replies, WebSocket turns,
the Open WebUI socket's events and camera frames (``ttft`` 0, ``itl`` the frame interval).
"""

from __future__ import annotations

import asyncio
import time


class Pacer:
    __slots__ = ("_first", "_itl")

    def __init__(self, ttft_ms: float, itl_ms: float, arrival: float | None = None) -> None:
        origin = time.perf_counter() if arrival is None else arrival
        self._first = origin + ttft_ms / 1000.0
        self._itl = itl_ms / 1000.0

    async def before(self, index: int) -> None:
        """Wait until item ``index`` (0 = the first) is due."""
        delay = self._first + index * self._itl - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        elif index % 64 == 63:
            await asyncio.sleep(0)  # unpaced: let other streams run now and then
