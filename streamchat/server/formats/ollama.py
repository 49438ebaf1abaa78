"""Ollama's native API, as its ``docs/api.md`` and ``api/types.go`` define it: ``POST /api/chat`` and
``POST /api/generate`` answer ``application/x-ndjson``, one JSON object a line; every line has
``model``, ``created_at`` and ``done``; the last one has ``"done": true``, ``done_reason`` and the
metrics (durations in nanoseconds: ``eval_count / eval_duration * 1e9`` is the rate). Streaming is
the default; ``"stream": false`` gets that last object alone, with the whole text in it. An error is a
line ``{"error": "..."}``. A tool call arrives whole in one line (``message.tool_calls``, arguments as
an object), as Ollama sends it, once every piece of it was due.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ..replies import Ask, ReplyPlan, count_tokens
from .base import BadRequest, Dialect, Format, dumps, ends_with_tool_result, prompt_tokens, text_of, tools_of

DEFAULT_MODEL = "deepseek/deepseek-chat"
LOAD_NS = 2_000_000  # the model is always loaded: a constant, small load time
DIGEST = "sha256:" + "5e" * 32


def created_at() -> str:
    """Go's RFC 3339 time with fractional seconds, in UTC, as Ollama writes it."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class OllamaChatFormat(Format):
    answers_whole = True
    media_type = "application/x-ndjson"
    garbage = b"\x00\xff\xfe not json {{{\n"

    def __init__(self, ask: Ask, plan: ReplyPlan) -> None:
        super().__init__(ask, plan)
        self.began = time.perf_counter_ns()
        self.first: int | None = None  # when the first item was due (the prompt is "evaluated" by then)
        self.arguments = ""

    def _line(self, obj: dict[str, Any]) -> bytes:
        return dumps({"model": self.model, "created_at": created_at(), **obj}) + b"\n"

    def _message(self, content: str = "", **extra: Any) -> dict[str, Any]:
        return {"message": {"role": "assistant", "content": content, **extra}}

    def start(self) -> bytes:
        self.first = time.perf_counter_ns()
        return b""

    def reasoning(self, text: str) -> bytes:
        return self._line({**self._message(thinking=text), "done": False})

    def content(self, text: str) -> bytes:
        return self._line({**self._message(text), "done": False})

    def tool_calls(self) -> list[dict[str, Any]]:
        call = self.plan.tool_call
        assert call is not None
        return [{"id": call.id("call_"), "function": {"index": 0, "name": call.name, "arguments": call.parsed}}]

    def tool(self, piece: str) -> bytes:
        self.arguments += piece
        call = self.plan.tool_call
        if call is None or self.arguments != call.arguments:
            return b""
        return self._line({**self._message(tool_calls=self.tool_calls()), "done": False})

    def metrics(self) -> dict[str, Any]:
        now = time.perf_counter_ns()
        first = self.first or now
        plan = self.plan
        return {
            "done_reason": "length" if plan.finish_reason == "length" else "stop",
            "done": True,
            "total_duration": max(1, now - self.began) + LOAD_NS,
            "load_duration": LOAD_NS,
            "prompt_eval_count": plan.input_tokens,
            "prompt_eval_duration": max(1, first - self.began),
            "eval_count": plan.output_tokens,
            "eval_duration": max(1, now - first),
        }

    def end(self, tps: float | None) -> bytes:
        return self._line({**self._message(), **self.metrics()})

    def error(self, message: str, code: str) -> bytes:
        return dumps({"error": message}) + b"\n"

    def whole(self) -> Any:
        plan = self.plan
        extra: dict[str, Any] = {"thinking": "".join(plan.reasoning)} if plan.reasoning else {}
        if plan.tool_call:
            extra["tool_calls"] = self.tool_calls()
        return {"model": self.model, "created_at": created_at(), **self._message("".join(plan.content), **extra), **self.metrics()}


class OllamaGenerateFormat(OllamaChatFormat):
    """``/api/generate``: the text is in ``response`` (``thinking`` beside it), tool calls at the top level."""

    def _message(self, content: str = "", **extra: Any) -> dict[str, Any]:
        return {"response": content, **extra}


def _options(body: Mapping[str, Any]) -> Mapping[str, Any]:
    options = body.get("options")
    return options if isinstance(options, dict) else {}


def _bad(message: str) -> BadRequest:
    return BadRequest(400, {"error": message})


def read_chat(body: Any, query: Mapping[str, str]) -> Ask:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _bad("messages must be a non-empty list")
    last = next((m for m in reversed(messages) if isinstance(m, dict) and m.get("role") == "user"), messages[-1])
    message = text_of(last.get("content")) if isinstance(last, dict) else ""
    return Ask(
        message,
        str(body.get("model") or DEFAULT_MODEL),
        _options(body).get("num_predict"),
        prompt_tokens(messages),
        stream=body.get("stream") is not False,
        tools=tools_of(body),
        tool_answered=ends_with_tool_result(messages),
    )


def read_generate(body: Any, query: Mapping[str, str]) -> Ask:
    prompt = body.get("prompt")
    if not isinstance(prompt, str):
        raise _bad("prompt must be a string")
    system = body.get("system") if isinstance(body.get("system"), str) else ""
    return Ask(
        prompt,
        str(body.get("model") or DEFAULT_MODEL),
        _options(body).get("num_predict"),
        count_tokens(prompt) + count_tokens(system),
        stream=body.get("stream") is not False,
        tools=tools_of(body),
    )


def tags(model_ids: list[str]) -> dict[str, Any]:
    """``GET /api/tags``: the models this server answers as, in Ollama's list shape."""
    details = {"parent_model": "", "format": "gguf", "family": "streamchat", "families": ["streamchat"]}
    details |= {"parameter_size": "0B", "quantization_level": "F16"}
    listed = [
        {"name": name, "model": name, "modified_at": "2026-01-01T00:00:00Z", "size": 0, "digest": DIGEST, "details": details}
        for name in model_ids
    ]
    return {"models": listed}


OLLAMA_CHAT = Dialect(read_chat, OllamaChatFormat)
OLLAMA_GENERATE = Dialect(read_generate, OllamaGenerateFormat)
