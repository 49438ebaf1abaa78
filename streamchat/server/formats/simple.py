"""The seeds' own SSE dialects: streamchat (named events), prompt (``{"type": "chunk"}``) and query
(``GET ?message=``, ``{"content"}`` chunks then ``[DONE]``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..replies import Ask, count_tokens
from .base import BadRequest, Dialect, Format, sse_data, sse_named, text_of

DEFAULT_MODEL = "deepseek/deepseek-chat"


def _bad(message: str) -> BadRequest:
    return BadRequest(422, {"error": {"message": message, "code": "bad_request"}})


class StreamchatFormat(Format):
    """Named events ``content``, ``reasoning``, ``tps``, ``usage``, ``done``, ``error``."""

    def reasoning(self, text: str) -> bytes:
        return sse_named("reasoning", {"text": text})

    def content(self, text: str) -> bytes:
        return sse_named("content", {"text": text})

    def end(self, tps: float | None) -> bytes:
        plan = self.plan
        usage: dict[str, Any] = {"input_tokens": plan.input_tokens, "output_tokens": plan.output_tokens}
        usage["total_tokens"] = plan.input_tokens + plan.output_tokens
        if plan.reasoning:
            usage["reasoning_tokens"] = len(plan.reasoning)
        tail = sse_named("tps", {"tps": tps}) if tps else b""
        return tail + sse_named("usage", usage) + sse_named("done", {"finish_reason": plan.finish_reason})

    def error(self, message: str, code: str) -> bytes:
        return sse_named("error", {"message": message, "code": code})


def read_streamchat(body: Any, query: Mapping[str, str]) -> Ask:
    message = body.get("message")
    if not isinstance(message, str):
        raise _bad("'message' (a string) is required")
    history = body.get("history") if isinstance(body.get("history"), list) else []
    prompt = count_tokens(message) + sum(count_tokens(text_of(m.get("content"))) for m in history if isinstance(m, dict))
    prompt += count_tokens(body.get("system_prompt") if isinstance(body.get("system_prompt"), str) else "")
    return Ask(message, str(body.get("model_id") or DEFAULT_MODEL), body.get("max_tokens"), prompt)


class PromptFormat(Format):
    """``{"type": "chunk", "text"}`` … ``{"type": "done"}``."""

    def reasoning(self, text: str) -> bytes:
        return sse_data({"type": "reasoning", "text": text})

    def content(self, text: str) -> bytes:
        return sse_data({"type": "chunk", "text": text})

    def end(self, tps: float | None) -> bytes:
        return sse_data({"type": "done"})

    def error(self, message: str, code: str) -> bytes:
        return sse_data({"type": "error", "message": message, "code": code})


def read_prompt(body: Any, query: Mapping[str, str]) -> Ask:
    message = body.get("prompt")
    if not isinstance(message, str):
        raise _bad("'prompt' (a string) is required")
    return Ask(message, "default")


class QueryFormat(PromptFormat):
    """``{"content": ...}`` chunks, then ``[DONE]``."""

    def content(self, text: str) -> bytes:
        return sse_data({"content": text})

    def end(self, tps: float | None) -> bytes:
        return b"data: [DONE]\n\n"

    def error(self, message: str, code: str) -> bytes:
        return sse_data({"error": message, "code": code})


def read_query(body: Any, query: Mapping[str, str]) -> Ask:
    message = query.get("message")
    if message is None:
        raise _bad("the 'message' query parameter is required")
    return Ask(message, "default")


STREAMCHAT = Dialect(read_streamchat, StreamchatFormat)
PROMPT = Dialect(read_prompt, PromptFormat)
QUERY = Dialect(read_query, QueryFormat, has_body=False)
