"""Hybrid WebSocket + SSE chat (``chat --sync-ws``): ``docs/protocols.md#hybrid``.

The control WebSocket carries typing and the two messages of the turn (for the server's history sync);
the reply itself streams over SSE. When the SSE request fails before any content, one non-streaming
request to the fallback URL answers instead, and stderr says so.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .http import ChatTarget, http_start, run_http_chat
from .turn import Start

if TYPE_CHECKING:
    from ..client.http import HTTPOptions
    from ..client.ws import WSConnection, WSOptions
    from ..errors import StreamchatError
    from ..protocol.requests import ChatRequest
    from .output import Renderer
    from .reply import Reply


def control_url(url: str, token: str | None) -> str:
    """``…/api/v1/ws/chat/{user_id}?token=…``: the token joins the query unless the URL has one."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    if token and not any(name == "token" for name, _ in query):
        query.append(("token", token))
    return urlunsplit(parts._replace(query=urlencode(query)))


class SyncChannel:
    """The control socket: open, say what happens, close with 1000."""

    def __init__(self, url: str, token: str | None, opts: WSOptions) -> None:
        from ..client.ws import WSConnection

        self.conn: WSConnection = WSConnection(control_url(url, token), opts)

    def __enter__(self) -> SyncChannel:
        self.conn.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.conn.close(1000)

    def send(self, event: dict[str, object]) -> None:
        self.conn.send_text(json.dumps(event, ensure_ascii=False))


def fallback_to(
    url: str, target: ChatTarget, request: ChatRequest, http: HTTPOptions, renderer: Renderer
) -> Callable[[StreamchatError], Start | None]:
    """The turn's other try when streaming failed before any content: one non-streaming OpenAI request."""

    def again(exc: StreamchatError) -> Start:
        renderer.note(f"streamchat: streaming failed ({exc.message}); falling back to one non-streaming request to {url}")
        fallback = ChatTarget(url, "openai", target.token, target.auth_scheme, target.headers)
        return http_start(fallback, request, http, stream=False)

    return again


def chat_with_sync(
    target: ChatTarget,
    request: ChatRequest,
    http: HTTPOptions,
    renderer: Renderer,
    channel: SyncChannel | None,
    fallback_url: str | None,
    keep: Callable[[Reply], None] | None = None,
) -> Reply:
    if channel is not None:
        channel.send({"type": "typing", "typing": True})
        channel.send({"type": "message", "role": "user", "content": request.message})
    again = fallback_to(fallback_url, target, request, http, renderer) if fallback_url is not None else None
    reply = run_http_chat(target, request, http, renderer, keep=keep, again=again)
    if channel is not None:
        channel.send({"type": "message", "role": "assistant", "content": reply.content})
    return reply


__all__ = ["SyncChannel", "chat_with_sync", "control_url", "fallback_to"]
