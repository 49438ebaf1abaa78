"""bench over Open WebUI's Socket.IO channel (``--transport socketio``): one socket a request.

Each request is the same exchange ``chat --transport socketio`` makes (``session/socketio.py``: sign
in or use the token, connect, user-join, POST the chat, read its events from the socket), run on a
thread of its own because python-socketio's client is synchronous. Its events go into the
request's timeline as they are mapped, stamped with their arrival on the socket's thread. TTFT
counts from the chat POST: connecting and joining come before it and show in ``schedule_lag_ms``.

The threads are daemons: one still waiting on a silent server when ``--duration`` + ``--grace``
is over cannot hold the process (the socket client has no way to be interrupted mid-wait).
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from ..env import Environment
from ..session.output import OutputOptions, Renderer
from .timeline import Timeline, take


class TimelineRenderer(Renderer):
    """A renderer that shows nothing: it folds each batch of events into the timeline."""

    def __init__(self, timeline: Timeline) -> None:
        super().__init__(Environment(), OutputOptions(quiet=True))
        self.timeline = timeline

    def sent(self, at: float) -> None:
        super().sent(at)
        self.timeline.sent = at  # the chat POST

    def write(self, events: list[Any], now: float) -> None:
        if not self.timeline.done and take(self.timeline, events, now):
            self.timeline.end = now


def exchange(spec: Any, request: Any, timeline: Timeline) -> None:
    """One request, blocking; raises the client's StreamchatError when it fails."""
    from ..client.http import HTTPOptions
    from ..client.socketio import OpenWebUITarget
    from ..session.socketio import run_socketio_chat

    headers = dict(spec.headers)
    auth = headers.pop("Authorization", "")
    token = auth[7:] if auth.lower().startswith("bearer ") else None  # Open WebUI takes it on the socket and the POST
    opts = HTTPOptions(
        connect_timeout=spec.connect_timeout,
        read_timeout=spec.read_timeout,
        max_response_size=spec.max_response_size,
        retries=0,
        insecure=spec.insecure,
        cacert=spec.cacert,
        headers=headers,
    )
    reply = run_socketio_chat(OpenWebUITarget(spec.url, token), request, opts, TimelineRenderer(timeline))
    if not timeline.done and reply.done:
        timeline.done = True
        timeline.end = reply.t_end or timeline.end


async def socketio_request(spec: Any, request: Any, timeline: Timeline) -> None:
    loop = asyncio.get_running_loop()
    finished: asyncio.Future[None] = loop.create_future()

    def settle(error: BaseException | None) -> None:
        if finished.done():
            return  # (cancelled: the run moved on)
        if error is None:
            finished.set_result(None)
        else:
            finished.set_exception(error)

    def run() -> None:
        error: BaseException | None = None
        try:
            exchange(spec, request, timeline)
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting request, whatever it is
            error = exc
        try:
            loop.call_soon_threadsafe(settle, error)
        except RuntimeError:
            pass  # the run is over and its loop closed: nobody is waiting for this request

    threading.Thread(target=run, name="bench-socketio", daemon=True).start()
    await finished
