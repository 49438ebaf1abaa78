"""A streamed HTTP reply: the steps of ``steps.py`` written in a dialect's format, sent by a response
lighter than Starlette's ``StreamingResponse``.

Starlette runs every streaming response inside an anyio task group with a second task listening for
the disconnect. At 64 paced streams that per-request cost, paid in the same event loop that paces
every token, delayed new requests by milliseconds and showed up as TTFT error in bench's self-check.
Here one small watcher task cancels the stream when the client goes away (a stalled stream must not
sleep on for an hour), and the body goes straight to ``send``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

from starlette.responses import Response

from .faults import Fault
from .formats import Format
from .pacing import Pacer
from .steps import reply_steps

NO_BUFFERING = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
# What a hostile server might send to take over a terminal: clear screen, set title, bell.
ESCAPES = "\x1b[2J\x1b]0;pwned\x07\r"
OVERSIZE_BLOCK = "x" * 65536


async def reply_body(fmt: Format, fault: Fault, pacer: Pacer) -> AsyncIterator[bytes]:
    """The bytes of one reply, paced, with the faults that shape a stream (garbage, escapes, oversize)."""
    began = time.perf_counter()
    async for kind, text in reply_steps(fmt.plan, fault, pacer):
        if kind == "content":
            yield fmt.content(text)
        elif kind == "reasoning":
            yield fmt.reasoning(text)
        elif kind == "tool":
            yield fmt.tool(text)
        elif kind == "start":
            head = fmt.start()
            if fault.garbage:
                head = fmt.garbage + head
            if head:
                yield head
            if fault.escape:
                yield fmt.content(ESCAPES)
            if fault.oversize:
                for _ in range(fault.oversize // len(OVERSIZE_BLOCK) + 1):
                    yield fmt.content(OVERSIZE_BLOCK)
            began = time.perf_counter()
        elif kind == "error":
            yield fmt.error(text, "injected")
        elif kind == "end":
            elapsed = time.perf_counter() - began
            output = fmt.plan.output_tokens
            yield fmt.end(round(output / elapsed, 1) if elapsed > 0 and output else None)


def stream_reply(fmt: Format, fault: Fault, arrival: float | None, *, paced: tuple[float, float]) -> Response:
    """The response for a streaming request: the reply, or what a content-type or empty fault sends."""
    if fault.content_type:
        return Response("<html><body>not a stream</body></html>", media_type=fault.content_type)
    if fault.empty:
        return Response(b"", media_type=fmt.media_type, headers=NO_BUFFERING)
    ttft_ms, itl_ms = paced
    return EventStream(reply_body(fmt, fault, Pacer(ttft_ms, itl_ms, arrival)), NO_BUFFERING, fmt.media_type)


class EventStream(Response):
    def __init__(self, events: AsyncIterator[bytes], headers: Mapping[str, str], media_type: str = "text/event-stream") -> None:
        self.events = events
        self.status_code = 200
        self.media_type = media_type
        self.background = None
        self.init_headers(headers)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        task = asyncio.current_task()
        gone = asyncio.Event()
        watcher = asyncio.ensure_future(_cancel_on_disconnect(receive, task, gone))
        try:
            await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
            async for chunk in self.events:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except asyncio.CancelledError:
            if not gone.is_set() or task is None:
                raise
            task.uncancel()  # the client left: nothing more to send, and not an error
        finally:
            watcher.cancel()
            aclose = getattr(self.events, "aclose", None)
            if aclose is not None:
                await aclose()


async def _cancel_on_disconnect(receive: Any, task: asyncio.Task[Any] | None, gone: asyncio.Event) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            gone.set()
            if task is not None:
                task.cancel()
            return
