"""OpenAI chat completions (vLLM, llama.cpp, LiteLLM, Ollama's /v1, OpenRouter, ...).

The body carries only OpenAI's own parameters: a real OpenAI-compatible server rejects unknown keys.
"""

from __future__ import annotations

from typing import Any

from ..protocol.requests import ChatRequest
from .base import SAMPLING, Dialect, HTTPRequest, sampling


def content(text: str, images: list[str] | None) -> Any:
    """A message's content: the text alone, or the text part then one ``image_url`` part an image."""
    if not images:
        return text
    parts: list[dict[str, Any]] = [{"type": "text", "text": text}]
    parts.extend({"type": "image_url", "image_url": {"url": url}} for url in images)
    return parts


def messages(req: ChatRequest) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if req.system_prompt is not None:
        out.append({"role": "system", "content": req.system_prompt})
    for m in req.history:
        out.append({"role": m.role, "content": content(m.content, m.images)})
    out.append({"role": "user", "content": content(req.message, req.images)})
    return out


def build(req: ChatRequest, url: str, stream: bool = True) -> HTTPRequest:
    body: dict[str, Any] = {"model": req.model_id, "messages": messages(req), "stream": stream}
    if stream:
        body["stream_options"] = {"include_usage": True}
    body.update(sampling(req, *SAMPLING))
    return HTTPRequest("POST", url, body)


DIALECT = Dialect(
    "openai", "OpenAI chat completions chunks", build, "/v1/chat/completions", path_endings=("/chat/completions",), default_model=None
)
