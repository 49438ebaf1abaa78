"""Open WebUI's Socket.IO channel, with python-socketio's client: ``docs/protocols.md#open-webui``.

The connection half: sign in (when no token is given), connect with the token, join, post the chat,
stop a task. Events arrive on python-socketio's thread and are queued with their arrival time; the
session layer (``session/socketio.py``) reads the queue as a turn's exchange.
"""

from __future__ import annotations

import queue
import time
from dataclasses import dataclass
from typing import Any

import socketio

from ..errors import AuthError, ConnectionLostError, HTTPStatusError, ProtocolError, StreamTimeoutError
from ..protocol import strict_json
from ..protocol.openwebui import CALL_TYPES, refusal
from .http import HTTPOptions, request

GONE = object()  # queued when the connection drops


@dataclass
class OpenWebUITarget:
    base_url: str
    token: str | None = None
    chat_id: str | None = None


def post_json(url: str, body: Any, opts: HTTPOptions, token: str | None) -> Any:
    """A JSON POST to Open WebUI with its token (as a bearer token: it wants a JWT)."""
    headers = dict(opts.headers)
    if token:
        headers["Authorization"] = f"Bearer {token}"
    _, raw = request("POST", url, HTTPOptions(**{**opts.__dict__, "headers": headers}), body)
    try:
        return strict_json.loads(raw) if raw.strip() else None
    except ValueError as exc:
        raise ProtocolError(f"{url}: the answer is not JSON") from exc


NO_TOKEN_HINT = "give a token with STREAMCHAT_TOKEN or --token-file"

# What Open WebUI answers a sign-in it refuses: 400 "The email or password provided is incorrect" (its
# auth is on), 401/403 from a proxy or an older version in front of it.
SIGN_IN_REFUSED = frozenset({400, 401, 403})


def sign_in(base: str, opts: HTTPOptions) -> str:
    """With no token: Open WebUI hands one out for empty credentials when its auth is disabled.

    When its auth is on it refuses them, and that is an authentication failure like a wrong token's,
    not some other HTTP error: the user must give a token."""
    try:
        answer = post_json(base + "/api/v1/auths/signin", {"email": "", "password": ""}, opts, None)
    except (AuthError, HTTPStatusError) as exc:
        status = getattr(exc, "status", None)
        if status not in SIGN_IN_REFUSED:
            raise
        raise AuthError(
            f"no token given, and Open WebUI refused to sign in with empty credentials (its auth is on): {exc.message}",
            status=status,
            hint=NO_TOKEN_HINT,
        ) from exc
    token = answer.get("token") if isinstance(answer, dict) else None
    if not isinstance(token, str) or not token:
        raise AuthError("Open WebUI's sign-in gave no token", hint=NO_TOKEN_HINT)
    return token


def _connect_error(exc: Exception, base: str) -> Exception:
    text = str(exc) or type(exc).__name__
    # (a server whose connect handler refuses the token answers the namespace CONNECT with an error)
    if "401" in text or "403" in text or "Unauthorized" in text or "namespaces failed to connect" in text:
        return AuthError(f"Open WebUI refused the Socket.IO connection: {text}")
    return ConnectionLostError(f"could not open the Socket.IO connection to {base}: {text}")


DELIVERY_GRACE = 0.1  # seconds a lost connection waits for the events read before it (see on_disconnect)


class SocketIOConnection:
    """Connected and joined; ``inbox`` receives ``(arrival time, payload)`` for the events that pass
    ``wanted`` (our message's), and ``GONE`` when the connection drops."""

    def __init__(self, base: str, token: str, opts: HTTPOptions, wanted: Any) -> None:
        self.base = base
        self.token = token
        self.opts = opts
        self.inbox: queue.Queue[tuple[float, Any]] = queue.Queue()
        self.sio = socketio.Client(reconnection=False, logger=False, engineio_logger=False, ssl_verify=not opts.insecure)

        def on_events(payload: Any) -> Any:
            if wanted(payload):
                self.inbox.put((time.perf_counter(), payload))
            inner = payload.get("data") if isinstance(payload, dict) else None
            if isinstance(inner, dict) and inner.get("type") in CALL_TYPES:
                return refusal(payload)  # a server asking the user something: we say no
            return None

        def on_disconnect(*args: Any) -> None:
            # python-engineio hands each message to a thread of its own, and the close to the thread
            # that read it: the messages that came before the close get a moment to be delivered first.
            time.sleep(DELIVERY_GRACE)
            self.inbox.put((time.perf_counter(), GONE))

        self.sio.on("events", on_events)  # subscribed before anything is posted
        self.sio.on("disconnect", on_disconnect)
        try:
            self.sio.connect(
                base, socketio_path="/ws/socket.io", transports=["websocket"], auth={"token": token}, wait_timeout=opts.connect_timeout
            )
        except socketio.exceptions.ConnectionError as exc:
            raise _connect_error(exc, base) from exc
        try:
            joined = self.sio.call("user-join", {"auth": {"token": token}}, timeout=opts.connect_timeout)
        except socketio.exceptions.TimeoutError as exc:
            self.close()
            raise StreamTimeoutError("Open WebUI did not acknowledge user-join") from exc
        if not joined:
            self.close()
            raise AuthError(
                "Open WebUI refused the token at user-join", hint="Open WebUI wants a JWT here (API keys are refused on the socket)"
            )

    @property
    def sid(self) -> str:
        return str(self.sio.get_sid())

    def next_batch(self, read_timeout: float) -> list[tuple[float, Any]]:
        """The events queued so far (waiting up to ``read_timeout`` for the first)."""
        try:
            items = [self.inbox.get(timeout=read_timeout)]
        except queue.Empty:
            raise StreamTimeoutError(f"timed out: no event from Open WebUI within --read-timeout ({read_timeout:g} s)") from None
        while True:
            try:
                items.append(self.inbox.get_nowait())
            except queue.Empty:
                return items

    def stop(self, chat_id: str) -> None:
        """Ctrl-C: ask Open WebUI to stop the task; best effort."""
        try:
            quick = HTTPOptions(**{**self.opts.__dict__, "retries": 0, "connect_timeout": 3.0, "read_timeout": 3.0})
            post_json(f"{self.base}/api/tasks/chat/{chat_id}/stop", {}, quick, self.token)
        except Exception:  # noqa: BLE001 - we are exiting on Ctrl-C either way
            pass

    def close(self) -> None:
        self.sio.disconnect()


__all__ = ["GONE", "OpenWebUITarget", "SocketIOConnection", "post_json", "sign_in"]
