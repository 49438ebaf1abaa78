"""The streamchat dialect (``docs/protocols.md#req-streamchat``): the HTTP streaming body (also the WebSocket chat frame, less its type)."""

from __future__ import annotations

from typing import Any

from ..protocol.requests import ChatRequest
from .base import SAMPLING, Dialect, HTTPRequest, sampling


def body(req: ChatRequest) -> dict[str, Any]:
    out: dict[str, Any] = {"message": req.message, "model_id": req.model_id}
    if req.provider_slug is not None:
        out["provider_slug"] = req.provider_slug
    if req.history:
        out["history"] = [m.wire() for m in req.history]
    if req.system_prompt is not None:
        out["system_prompt"] = req.system_prompt
    if req.images:
        out["images"] = list(req.images)
    out.update(sampling(req, *SAMPLING))
    return out


def ws_frame(req: ChatRequest) -> dict[str, Any]:
    """One turn over the WebSocket chat protocol (with the user's extra fields, ``-p``, over it)."""
    return {"type": "chat", **body(req), **(req.params or {})}


def build(req: ChatRequest, url: str, stream: bool = True) -> HTTPRequest:
    return HTTPRequest("POST", url, body(req))


DIALECT = Dialect("streamchat", "named SSE events (content, reasoning, tps, usage, done, error)", build, "/api/chat/stream")
