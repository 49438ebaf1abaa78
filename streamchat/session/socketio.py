"""A chat turn over Open WebUI's Socket.IO channel: ``docs/protocols.md#open-webui``.

Connect and join, then post the chat (the request is "sent" then: TTFT counts from the POST); the
reply's events come over the socket, are mapped by ``protocol/openwebui.py`` and run through the same
``Turn`` as every other transport. Ctrl-C asks Open WebUI to stop the task.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from ..errors import ConnectionLostError, ProtocolError
from ..events import Done, Event
from ..protocol.openwebui import OpenWebUIMapper
from ..protocol.strict_json import clean
from .turn import Turn

if TYPE_CHECKING:
    from ..client.http import HTTPOptions
    from ..client.socketio import OpenWebUITarget, SocketIOConnection
    from ..protocol.requests import ChatRequest
    from .output import Renderer
    from .reply import Reply


class SocketIODecoder:
    """A batch of queued events into events, until the mapper says the reply ended."""

    def __init__(self, mapper: OpenWebUIMapper) -> None:
        self.mapper = mapper

    def feed(self, batch: list[tuple[float, Any]]) -> tuple[list[Event], bool]:
        from ..client.socketio import GONE

        events: list[Event] = []
        for _arrived, payload in batch:
            if payload is GONE:
                raise ConnectionLostError("the Socket.IO connection was lost mid-reply")
            try:
                payload = clean(payload)  # python-socketio's JSON lets NaN and lone surrogates through
            except RecursionError:
                raise ProtocolError("malformed event: an Open WebUI event nested too deep") from None
            events.extend(self.mapper.map(payload))
            if self.mapper.ended:
                return events, True
        return events, False

    def close(self) -> list[Event]:
        raise ConnectionLostError("the Socket.IO connection ended mid-reply")

    def after_cut(self) -> Done | None:
        return None


class SocketIOExchange:
    def __init__(self, connection: SocketIOConnection, chat_id: str, mapper: OpenWebUIMapper, read_timeout: float) -> None:
        self.connection = connection
        self.chat_id = chat_id
        self.decoder = SocketIODecoder(mapper)
        self.read_timeout = read_timeout
        self.sent_at = time.perf_counter()
        self.retry_wait = 0.0

    def reads(self, before_read: Callable[[], None]) -> Iterator[list[tuple[float, Any]]]:
        while True:
            before_read()
            yield self.connection.next_batch(self.read_timeout)

    def cancel(self) -> None:
        self.connection.stop(self.chat_id)

    def close(self) -> None:
        self.connection.close()


def chat_body(request: ChatRequest, session_id: str, chat_id: str, message_id: str) -> dict[str, Any]:
    """What is posted to start the reply: an OpenAI chat request (Open WebUI hands its sampling fields
    and any other top-level field on to the model, as the user's ``--param`` fields are meant to go),
    plus the three fields that send the reply to our socket. Those three stay ours whatever the params
    say: the reply could not be found on the socket otherwise."""
    from ..dialects.base import SAMPLING, sampling
    from ..dialects.openai import messages as openai_messages

    body: dict[str, Any] = {"model": request.model_id, "messages": openai_messages(request), "stream": True}
    body.update(sampling(request, *SAMPLING))
    body.update(request.params or {})
    body.update({"session_id": session_id, "chat_id": chat_id, "id": message_id})
    return body


def run_socketio_chat(
    target: OpenWebUITarget, request: ChatRequest, opts: HTTPOptions, renderer: Renderer, *, keep: Callable[[Reply], None] | None = None
) -> Reply:
    """One reply over the channel; returns it when complete, raises a StreamchatError otherwise."""
    from ..client.socketio import SocketIOConnection, post_json, sign_in

    base = target.base_url.rstrip("/")

    def start() -> SocketIOExchange:
        token = target.token
        if not token:
            token = sign_in(base, opts)
            opts.notice("streamchat: no token given; signed in to Open WebUI with empty credentials (its auth is disabled)")
        message_id = str(uuid.uuid4())
        mapper = OpenWebUIMapper(message_id)
        connection = SocketIOConnection(base, token, opts, mapper.ours)
        try:
            chat_id = target.chat_id or f"temporary:{connection.sid}"
            body = chat_body(request, connection.sid, chat_id, message_id)
            exchange = SocketIOExchange(connection, chat_id, mapper, opts.read_timeout)
            started = post_json(base + "/api/chat/completions", body, opts, token)
            if not isinstance(started, dict) or not started.get("task_ids"):
                raise ProtocolError(f"Open WebUI did not start a task: {json.dumps(started)[:120]}")
            return exchange
        except BaseException:
            connection.close()
            raise

    return Turn(renderer, keep=keep).run(start)


__all__ = ["SocketIODecoder", "SocketIOExchange", "chat_body", "run_socketio_chat"]
