"""Hybrid WebSocket + SSE chat (seed hybrid-websocket-sse, SPEC §7 ``--sync-ws``).

The control WebSocket carries typing and the messages for history sync; the reply itself streams
over SSE. When the SSE request fails before any content, one non-streaming request to the
fallback URL answers instead (the seed's "falls back to the regular API"), and stderr says so.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .chat import ChatTarget, finish, run_http_chat
from .errors import InterruptedError_, StreamchatError, UsageError

if TYPE_CHECKING:
    from .client.http import HTTPOptions
    from .client.ws import WSConnection, WSOptions
    from .output import Renderer
    from .protocol.requests import ChatRequest
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
        from .client.ws import WSConnection

        self.conn: WSConnection = WSConnection(control_url(url, token), opts)

    def __enter__(self) -> SyncChannel:
        self.conn.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.conn.close(1000)

    def send(self, event: dict[str, object]) -> None:
        self.conn.send_text(json.dumps(event, ensure_ascii=False))


def chat_with_sync(
    target: ChatTarget,
    request: ChatRequest,
    http: HTTPOptions,
    renderer: Renderer,
    channel: SyncChannel | None,
    fallback_url: str | None,
) -> Reply:
    if channel is not None:
        channel.send({"type": "typing", "typing": True})
        channel.send({"type": "message", "role": "user", "content": request.message})
    reply = stream_or_fall_back(target, request, http, renderer, fallback_url)
    if channel is not None:
        channel.send({"type": "message", "role": "assistant", "content": reply.content})
    return reply


def stream_or_fall_back(target: ChatTarget, request: ChatRequest, http: HTTPOptions, renderer: Renderer, fallback_url: str | None) -> Reply:
    if fallback_url is None:
        return run_http_chat(target, request, http, renderer)
    try:
        reply = run_http_chat(target, request, http, renderer, finalize=False)
    except StreamchatError as exc:
        failed = getattr(exc, "reply", None)
        if isinstance(exc, (UsageError, InterruptedError_)) or (failed is not None and failed.content_events):
            if failed is not None:
                finish(failed, renderer)
            raise  # after content, a second answer would duplicate what was shown
        renderer.note(f"streamchat: streaming failed ({exc.message}); falling back to one non-streaming request to {fallback_url}")
        fallback = ChatTarget(fallback_url, "openai", target.token, target.auth_scheme, target.headers)
        return run_http_chat(fallback, request, http, renderer, stream=False)
    finish(reply, renderer)
    return reply
