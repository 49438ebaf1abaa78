"""Ollama's native API: ``/api/chat`` and ``/api/generate``, answered with NDJSON (one object a line)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from ..errors import UsageError
from ..protocol.requests import ChatRequest
from .base import Dialect, HTTPRequest


def _base64(images: list[str] | None) -> list[str]:
    """Ollama takes images as bare base64: a data: URI loses its prefix; a URL it cannot fetch."""
    out = []
    for image in images or ():
        if image.startswith("data:") and ";base64," in image:
            out.append(image.split(";base64,", 1)[1])
        else:
            raise UsageError(f"Ollama takes images as data, not URLs: {image[:60]!r} (give a file with -i PATH)")
    return out


def _options(req: ChatRequest) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for ours, theirs in (
        ("temperature", "temperature"),
        ("top_p", "top_p"),
        ("max_tokens", "num_predict"),
        ("frequency_penalty", "frequency_penalty"),
        ("presence_penalty", "presence_penalty"),
    ):
        value = getattr(req, ours)
        if value is not None:
            options[theirs] = value
    return options


def _message(role: str, text: str, images: list[str] | None) -> dict[str, Any]:
    message: dict[str, Any] = {"role": role, "content": text}
    encoded = _base64(images)
    if encoded:
        message["images"] = encoded
    return message


def build(req: ChatRequest, url: str, stream: bool = True) -> HTTPRequest:
    if urlsplit(url).path.rstrip("/").endswith("/api/generate"):
        if req.history:
            raise UsageError("/api/generate takes one prompt: for a conversation (--history, -C) use /api/chat")
        body: dict[str, Any] = {"model": req.model_id, "prompt": req.message}
        if req.system_prompt is not None:
            body["system"] = req.system_prompt
        encoded = _base64(req.images)
        if encoded:
            body["images"] = encoded
    else:
        messages = [{"role": "system", "content": req.system_prompt}] if req.system_prompt is not None else []
        messages += [_message(m.role, m.content, m.images) for m in req.history]
        messages.append(_message("user", req.message, req.images))
        body = {"model": req.model_id, "messages": messages}
    body["stream"] = stream
    options = _options(req)
    if options:
        body["options"] = options
    return HTTPRequest("POST", url, body)


DIALECT = Dialect(
    "ollama", "Ollama's native API (NDJSON)", build, "/api/chat", path_endings=("/api/chat", "/api/generate"), default_model=None
)
