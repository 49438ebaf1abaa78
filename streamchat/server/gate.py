"""The ASGI gate every request passes before any endpoint: the token, the body cap, and what the
connection guard needs to know.

- The token is checked first, on the head alone: a request without it is answered 401 and its
  connection closed before a byte of its body is read. ``/healthz`` is open (liveness probes); the
  Socket.IO path checks the token in its own CONNECT packet, where Socket.IO clients carry it.
- A body declared larger than the cap (``Content-Length``) is refused 413 at once; a chunked body is
  cut off (413) as soon as it passes the cap: ``receive`` raises ``BodyTooLarge`` there.
- The request's arrival time is noted: the configured TTFT counts from it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qs

from .connections import GUARD

OPEN_PATHS = frozenset({"/healthz"})
SOCKETIO_PATH = "/ws/socket.io"


class BodyTooLarge(Exception):
    """The request body passed the server's cap (raised by the gate's ``receive``)."""


def token_given(headers: Mapping[str, str], query: Mapping[str, str]) -> str | None:
    """The token a request carries: ``Authorization: Bearer``, ``x-api-key`` or ``?token=``."""
    auth = headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:]
    return headers.get("x-api-key") or query.get("token")


def _headers(scope: Mapping[str, Any]) -> dict[str, str]:
    return {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope.get("headers", ())}


def _query(scope: Mapping[str, Any]) -> dict[str, str]:
    return {key: values[-1] for key, values in parse_qs(scope.get("query_string", b"").decode("latin-1")).items()}


async def _answer(send: Callable[..., Any], scope: Mapping[str, Any], status: int, message: str, code: str) -> None:
    """A JSON error; on HTTP the connection closes after it (its body, if any, is never read)."""
    body = b'{"error":{"message":"%s","code":"%s"}}' % (message.encode(), code.encode())
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if scope["type"] == "websocket":
        if "websocket.http.response" not in scope.get("extensions", {}):
            await send({"type": "websocket.close", "code": 1008})
            return
        await send({"type": "websocket.http.response.start", "status": status, "headers": headers})
        await send({"type": "websocket.http.response.body", "body": body})
        return
    await send({"type": "http.response.start", "status": status, "headers": headers + [(b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


class Gate:
    def __init__(self, app: Any, token: str | None, max_body: int) -> None:
        self.app = app
        self.token = token
        self.max_body = max_body

    async def __call__(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        guard = state.get(GUARD)
        if kind == "websocket":
            if guard is not None:
                guard.upgraded()
        else:
            state["arrival"] = time.perf_counter()
            if guard is not None:
                guard.busy()
        path = scope.get("path", "")
        if self.token and path not in OPEN_PATHS and not path.startswith(SOCKETIO_PATH):
            if token_given(_headers(scope), _query(scope)) != self.token:
                await _answer(send, scope, 401, "invalid or missing token", "unauthorized")
                return
        if kind == "websocket":
            await self.app(scope, receive, send)
            return
        await self._http(scope, receive, send, guard)

    async def _http(self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any], guard: Any) -> None:
        declared, chunked = b"", False
        for name, value in scope.get("headers", ()):  # (names come lower-cased from the ASGI server)
            if name == b"content-length":
                declared = value.strip()
            elif name == b"transfer-encoding":
                chunked = True
        if declared.isdigit() and int(declared) > self.max_body:
            await _answer(send, scope, 413, f"request body over the server's limit ({self.max_body} bytes)", "body_too_large")
            return
        has_body = chunked or declared not in (b"", b"0")
        received = 0
        complete = not has_body

        async def capped_receive() -> Any:
            nonlocal received, complete
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise BodyTooLarge
                if not message.get("more_body", False):
                    complete = True
            return message

        try:
            await self.app(scope, capped_receive, send)
        except BodyTooLarge:
            complete = False
            await _answer(send, scope, 413, f"request body over the server's limit ({self.max_body} bytes)", "body_too_large")
        finally:
            if guard is not None:
                guard.done(body_read=complete)
