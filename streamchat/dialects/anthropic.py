"""Anthropic's Messages API (and Open WebUI's ``/api/v1/messages``): named message events back."""

from __future__ import annotations

import re
from typing import Any

from ..protocol.requests import ChatRequest
from .base import Dialect, HTTPRequest, sampling

_DATA_URI = re.compile(r"^data:([^;,]+);base64,(.*)$", re.S)


def content(text: str, images: list[str] | None) -> Any:
    if not images:
        return text
    parts: list[dict[str, Any]] = [{"type": "text", "text": text}]
    for url in images:
        match = _DATA_URI.match(url)
        if match:
            source = {"type": "base64", "media_type": match.group(1), "data": match.group(2)}
        else:
            source = {"type": "url", "url": url}
        parts.append({"type": "image", "source": source})
    return parts


def build(req: ChatRequest, url: str, stream: bool = True) -> HTTPRequest:
    system = [req.system_prompt] if req.system_prompt is not None else []
    messages: list[dict[str, Any]] = []
    for m in req.history:
        if m.role == "system":  # Anthropic has no system role in messages: it joins `system`
            system.append(m.content)
        else:
            messages.append({"role": m.role, "content": content(m.content, m.images)})
    messages.append({"role": "user", "content": content(req.message, req.images)})
    body: dict[str, Any] = {
        "model": req.model_id,
        "max_tokens": req.max_tokens if req.max_tokens is not None else 1024,  # required by the API
        "messages": messages,
    }
    if system:
        body["system"] = "\n\n".join(system)
    body["stream"] = stream
    body.update(sampling(req, "temperature", "top_p"))
    return HTTPRequest("POST", url, body)


DIALECT = Dialect(
    name="anthropic",
    summary="Anthropic Messages API events",
    build=build,
    demo_path="/v1/messages",
    path_endings=("/v1/messages",),
    default_model=None,
    auth_scheme="x-api-key",
    headers={"anthropic-version": "2023-06-01"},
)
