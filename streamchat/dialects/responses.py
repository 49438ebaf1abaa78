"""The OpenAI Responses API (``POST /v1/responses``): served by OpenAI, vLLM, LiteLLM, transformers serve."""

from __future__ import annotations

from typing import Any

from ..protocol.requests import ChatRequest
from .base import Dialect, HTTPRequest, sampling


def _item(role: str, text: str, images: list[str] | None) -> dict[str, Any]:
    kind = "output_text" if role == "assistant" else "input_text"
    parts: list[dict[str, Any]] = [{"type": kind, "text": text}]
    parts.extend({"type": "input_image", "image_url": url} for url in images or ())
    return {"role": role, "content": parts}


def build(req: ChatRequest, url: str, stream: bool = True) -> HTTPRequest:
    items = [_item(m.role, m.content, m.images) for m in req.history]
    items.append(_item("user", req.message, req.images))
    body: dict[str, Any] = {"model": req.model_id, "input": items}
    if req.system_prompt is not None:
        body["instructions"] = req.system_prompt
    body["stream"] = stream
    if req.max_tokens is not None:
        body["max_output_tokens"] = req.max_tokens
    body.update(sampling(req, "temperature", "top_p"))
    return HTTPRequest("POST", url, body)


DIALECT = Dialect("responses", "OpenAI Responses API events", build, "/v1/responses", path_endings=("/v1/responses",), default_model=None)
