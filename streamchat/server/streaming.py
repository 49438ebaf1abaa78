"""An SSE response for the reference server, lighter than Starlette's ``StreamingResponse``.

Starlette runs every streaming response inside an anyio task group with a second task listening for
the disconnect. At 64 paced streams that per-request cost, paid in the same event loop that paces
every token, delayed new requests by milliseconds and showed up as TTFT error in bench's self-check.
Here one small watcher task cancels the stream when the client goes away (a stalled stream must
not sleep on for an hour), and the body goes straight to ``send``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from typing import Any

from starlette.responses import Response


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
