"""The reference server's ASGI app: which path speaks what, and the gate in front of all of them."""

from __future__ import annotations

from typing import Any

import socketio
from starlette.applications import Starlette
from starlette.routing import Route, WebSocketRoute

from .admission import Admission
from .camera import CameraEndpoints
from .chat_http import ChatEndpoints
from .config import ServerConfig
from .formats import ANTHROPIC, OLLAMA_CHAT, OLLAMA_GENERATE, OPENAI, PROMPT, QUERY, RESPONSES, STREAMCHAT
from .gate import SOCKETIO_PATH, Gate
from .openwebui import OpenWebUIEmulator
from .ws import WebSocketEndpoints

# (path, dialect) of every HTTP chat endpoint; each answers POST but the query dialect's GET.
CHAT_ROUTES = [
    ("/api/chat/stream", STREAMCHAT),
    ("/v1/chat/completions", OPENAI),
    ("/api/v1/actions/chats/{chat_id}/messages", PROMPT),
    ("/api/v1/chat/stream", QUERY),
    ("/v1/messages", ANTHROPIC),
    ("/api/v1/messages", ANTHROPIC),
    ("/v1/responses", RESPONSES),
    ("/api/chat", OLLAMA_CHAT),
    ("/api/generate", OLLAMA_GENERATE),
]


def create_app(config: ServerConfig | None = None) -> Starlette:
    """The Starlette app; ``app.state.asgi`` is what a server runs (the gate, Socket.IO, then Starlette),
    and ``app.state`` holds each endpoint group, whose records tests read."""
    cfg = config or ServerConfig()
    admission = Admission(cfg)
    chat = ChatEndpoints(cfg, admission)
    ws = WebSocketEndpoints(cfg, admission)
    owui = OpenWebUIEmulator(cfg, admission, chat)
    camera = CameraEndpoints(cfg, admission)
    routes: list[Any] = [
        Route(path, chat.endpoint(dialect), methods=["POST"] if dialect.has_body else ["GET"]) for path, dialect in CHAT_ROUTES
    ]
    routes += [
        Route("/v1/models", chat.models, methods=["GET"]),
        Route("/api/tags", chat.ollama_tags, methods=["GET"]),
        Route("/healthz", chat.healthz, methods=["GET"]),
        WebSocketRoute("/api/chat/ws", ws.chat),
        WebSocketRoute("/ws/chat", ws.chat),
        WebSocketRoute("/api/v1/ws/chat/{user_id}", ws.control),
        WebSocketRoute("/ws/stream/{camera_id}", camera.stream),
        Route("/api/v1/actions/actions/send", camera.sink, methods=["POST"]),
        Route("/api/config", owui.api_config, methods=["GET"]),
        Route("/api/v1/auths/signin", owui.signin, methods=["POST"]),
        Route("/api/chat/completions", owui.completions, methods=["POST"]),
        Route("/api/tasks/chat/{chat_id}/stop", owui.stop, methods=["POST"]),
    ]
    app = Starlette(routes=routes)
    app.state.reference = admission  # what tests read: the requests seen (``.seen``)
    app.state.chat = chat
    app.state.ws = ws
    app.state.openwebui = owui
    app.state.camera = camera
    with_socketio = socketio.ASGIApp(owui.sio, other_asgi_app=app, socketio_path=SOCKETIO_PATH.strip("/"))
    app.state.asgi = Gate(with_socketio, cfg.token, cfg.max_body)
    return app
