"""Open WebUI's Socket.IO channel (SPEC §11), with python-socketio's client.

The reply arrives as Socket.IO ``events`` on a background thread; they are queued with their
arrival time and the caller's thread maps and renders them, flushing once per batch.
"""

from __future__ import annotations

import json
import queue
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import socketio

from ..errors import AuthError, ConnectionLostError, InterruptedError_, ProtocolError, ServerReportedError, StreamTimeoutError
from ..protocol.openwebui import CALL_TYPES, OpenWebUIMapper, refusal
from ..protocol.strict_json import clean
from ..reply import Reply
from .http import HTTPOptions, open_stream

if TYPE_CHECKING:
    from ..output import Renderer
    from ..protocol.requests import ChatRequest

_GONE = object()


@dataclass
class OpenWebUITarget:
    base_url: str
    token: str | None = None
    chat_id: str | None = None


def _post_json(url: str, body: Any, opts: HTTPOptions, token: str | None) -> Any:
    headers = dict(opts.headers)
    headers["Accept"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    post_opts = HTTPOptions(**{**opts.__dict__, "headers": headers})
    with open_stream("POST", url, post_opts, body) as stream:
        raw = stream.read_all()
    try:
        return json.loads(raw) if raw.strip() else None
    except ValueError as exc:
        raise ProtocolError(f"{url}: the answer is not JSON") from exc


def sign_in(base: str, opts: HTTPOptions) -> str:
    """With no token: Open WebUI hands one out for empty credentials when its auth is disabled."""
    answer = _post_json(base + "/api/v1/auths/signin", {"email": "", "password": ""}, opts, None)
    token = answer.get("token") if isinstance(answer, dict) else None
    if not isinstance(token, str) or not token:
        raise AuthError("Open WebUI's sign-in gave no token", hint="give a token with STREAMCHAT_TOKEN or --token-file")
    return token


def _connect_error(exc: Exception, base: str) -> Exception:
    text = str(exc) or type(exc).__name__
    # (a server whose connect handler refuses the token answers the namespace CONNECT with an error)
    if "401" in text or "403" in text or "Unauthorized" in text or "namespaces failed to connect" in text:
        return AuthError(f"Open WebUI refused the Socket.IO connection: {text}")
    return ConnectionLostError(f"could not open the Socket.IO connection to {base}: {text}")


def run_socketio_chat(target: OpenWebUITarget, request: ChatRequest, opts: HTTPOptions, renderer: Renderer) -> Reply:
    from ..dialects.openai import messages as openai_messages

    base = target.base_url.rstrip("/")
    token = target.token
    if not token:
        token = sign_in(base, opts)
        opts.notice("streamchat: no token given; signed in to Open WebUI with empty credentials (its auth is disabled)")
    message_id = str(uuid.uuid4())
    mapper = OpenWebUIMapper(message_id)
    inbox: queue.Queue[tuple[float, Any]] = queue.Queue()
    sio = socketio.Client(reconnection=False, logger=False, engineio_logger=False, ssl_verify=not opts.insecure)

    def on_events(payload: Any) -> Any:
        if mapper.ours(payload):
            inbox.put((time.perf_counter(), payload))
        inner = payload.get("data") if isinstance(payload, dict) else None
        if isinstance(inner, dict) and inner.get("type") in CALL_TYPES:
            return refusal(payload)
        return None

    sio.on("events", on_events)  # subscribed before anything is posted
    sio.on("disconnect", lambda *args: inbox.put((time.perf_counter(), _GONE)))
    try:
        sio.connect(base, socketio_path="/ws/socket.io", transports=["websocket"], auth={"token": token}, wait_timeout=opts.connect_timeout)
    except socketio.exceptions.ConnectionError as exc:
        raise _connect_error(exc, base) from exc
    chat_id = None
    t0 = time.perf_counter()
    reply = Reply(t0)
    try:
        try:
            joined = sio.call("user-join", {"auth": {"token": token}}, timeout=opts.connect_timeout)
        except socketio.exceptions.TimeoutError as exc:
            raise StreamTimeoutError("Open WebUI did not acknowledge user-join") from exc
        if not joined:
            raise AuthError(
                "Open WebUI refused the token at user-join", hint="Open WebUI wants a JWT here (API keys are refused on the socket)"
            )
        sid = sio.get_sid()
        chat_id = target.chat_id or f"temporary:{sid}"
        body = {
            "model": request.model_id,
            "messages": openai_messages(request),
            "stream": True,
            "session_id": sid,
            "chat_id": chat_id,
            "id": message_id,
        }
        t0 = reply.t_start = time.perf_counter()
        renderer.begin(t0)
        started = _post_json(base + "/api/chat/completions", body, opts, token)
        if not isinstance(started, dict) or not started.get("task_ids"):
            raise ProtocolError(f"Open WebUI did not start a task: {json.dumps(started)[:120]}")
        _receive(inbox, mapper, reply, renderer, opts.read_timeout)
    except KeyboardInterrupt as exc:
        if chat_id is not None:
            _stop(base, chat_id, opts, token)
        raise InterruptedError_("interrupted") from exc
    finally:
        reply.t_end = time.perf_counter()
        if not renderer.stdout_closed:
            renderer.end(reply)
        sio.disconnect()
    if reply.error is not None:
        raise ServerReportedError(reply.error.message, code=reply.error.code)
    return reply


def _receive(inbox: queue.Queue[tuple[float, Any]], mapper: OpenWebUIMapper, reply: Reply, renderer: Renderer, read_timeout: float) -> None:
    while True:
        renderer.flush()
        try:
            items = [inbox.get(timeout=read_timeout)]
        except queue.Empty:
            raise StreamTimeoutError(f"timed out: no event from Open WebUI within --read-timeout ({read_timeout:g} s)") from None
        while True:
            try:
                items.append(inbox.get_nowait())
            except queue.Empty:
                break
        for arrived, payload in items:
            if payload is _GONE:
                raise ConnectionLostError("the Socket.IO connection was lost mid-reply")
            try:
                payload = clean(payload)  # python-socketio's JSON lets NaN and lone surrogates through
            except RecursionError:
                raise ProtocolError("malformed event: an Open WebUI event nested too deep") from None
            events = mapper.map(payload)
            if events:
                renderer.emit(reply, events, arrived)
            if mapper.ended:
                renderer.flush()
                return


def _stop(base: str, chat_id: str, opts: HTTPOptions, token: str | None) -> None:
    """Ctrl-C: ask Open WebUI to stop the task (SPEC §11 step 5); best effort."""
    try:
        quick = HTTPOptions(**{**opts.__dict__, "retries": 0, "connect_timeout": 3.0, "read_timeout": 3.0})
        _post_json(f"{base}/api/tasks/chat/{chat_id}/stop", {}, quick, token)
    except Exception:  # noqa: BLE001 - we are exiting on Ctrl-C either way
        pass
