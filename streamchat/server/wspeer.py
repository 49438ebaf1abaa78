"""One accepted WebSocket, read all the time by one task.

The client's messages (and its close frame) are taken as they arrive, whatever the endpoint is doing:
a close that comes while we stream is seen with its real code at once, instead of surfacing later as
a failed send. A peer's turn can be run "until the client goes", so a paced stream stops as soon as
the client closes instead of sleeping on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from starlette.websockets import WebSocket, WebSocketDisconnect

from .faults import DropConnection

T = TypeVar("T")

INBOX_SIZE = 16  # a client that floods us waits in uvicorn's own bounded queue, not in memory here


class Peer:
    def __init__(self, websocket: WebSocket, on_close: Callable[[int], None] | None = None) -> None:
        self.websocket = websocket
        self.close_code: int | None = None  # what the client's close frame said (1005: no code, 1006: no frame)
        self.gone = asyncio.Event()
        self.closing = False  # we closed or dropped it: the client's answer is not its own close
        self._on_close = on_close
        self._inbox: asyncio.Queue[str | None] = asyncio.Queue(INBOX_SIZE)
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        try:
            while True:
                message = await self.websocket.receive()
                if message["type"] == "websocket.disconnect":
                    self.close_code = int(message.get("code") or 1005)
                    if self._on_close is not None and not self.closing:
                        self._on_close(self.close_code)
                    return
                text = message.get("text")
                if text is None:
                    text = (message.get("bytes") or b"").decode("utf-8", "replace")
                await self._inbox.put(text)
        except (WebSocketDisconnect, RuntimeError):
            return
        finally:
            self.gone.set()
            try:
                self._inbox.put_nowait(None)
            except asyncio.QueueFull:
                pass  # a full inbox is read before the end is noticed: gone is set

    async def receive_text(self) -> str | None:
        """The next text message, or None once the client has gone."""
        if self.gone.is_set() and self._inbox.empty():
            return None
        return await self._inbox.get()

    async def send_text(self, text: str) -> bool:
        """Send one message; False when the client is gone."""
        if self.gone.is_set():
            return False
        try:
            await self.websocket.send_text(text)
        except (WebSocketDisconnect, RuntimeError, OSError):
            return False
        return True

    async def close(self, code: int) -> None:
        self.closing = True
        try:
            await self.websocket.close(code)
        except (WebSocketDisconnect, RuntimeError, OSError):
            pass

    def drop(self) -> None:
        """Abort the connection without a close frame, as a crashed server or a cut cable does: the
        endpoint raises, and the ASGI server closes the socket without a closing handshake."""
        self.closing = True
        raise DropConnection

    async def until_gone(self, work: Awaitable[T]) -> T | None:
        """Run ``work`` until it ends or the client goes away (then it is cancelled: None)."""
        task = asyncio.ensure_future(work)
        gone = asyncio.ensure_future(self.gone.wait())
        try:
            await asyncio.wait({task, gone}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            gone.cancel()
        if task.done():
            return task.result()
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
        except Exception:  # noqa: BLE001 - the client left; how the cancelled work ended does not matter
            pass
        return None

    async def finish(self) -> None:
        """Stop reading (the endpoint is done with this connection)."""
        self._reader.cancel()
        try:
            await self._reader
        except (asyncio.CancelledError, Exception):  # noqa: BLE001 - only its end matters
            pass


async def serve_peer(websocket: WebSocket, run: Callable[[Peer], Awaitable[Any]], on_close: Callable[[int], None] | None = None) -> None:
    """Accept, run ``run(peer)``, and always stop the reader."""
    await websocket.accept()
    peer = Peer(websocket, on_close)
    try:
        await run(peer)
    finally:
        await peer.finish()
