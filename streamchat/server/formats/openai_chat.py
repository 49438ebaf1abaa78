"""OpenAI chat completions: ``chat.completion.chunk`` objects, a usage chunk when asked, then ``[DONE]``;
one ``chat.completion`` object when the request did not ask for a stream.

A tool call streams as vLLM and llama.cpp's servers send it: a first ``delta.tool_calls`` entry with
the call's id, type and name (arguments ``""``), then entries carrying only argument pieces, and a
last chunk with finish reason ``tool_calls``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import Any

from ..replies import Ask, ReplyPlan
from .base import BadRequest, Dialect, Format, ends_with_tool_result, last_user_text, prompt_tokens, sse_data, tools_of

DEFAULT_MODEL = "deepseek/deepseek-chat"


class OpenAIFormat(Format):
    answers_whole = True

    def __init__(self, ask: Ask, plan: ReplyPlan) -> None:
        super().__init__(ask, plan)
        self.id = "chatcmpl-" + uuid.uuid4().hex[:24]
        self.created = int(time.time())
        self.tool_started = False

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        return sse_data(
            {"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model, "choices": [choice]}
        )

    def start(self) -> bytes:
        return self._chunk({"role": "assistant", "content": None if self.plan.tool_call else ""})

    def reasoning(self, text: str) -> bytes:
        return self._chunk({"reasoning_content": text})

    def content(self, text: str) -> bytes:
        return self._chunk({"content": text})

    def tool(self, piece: str) -> bytes:
        call = self.plan.tool_call
        assert call is not None
        out = b""
        if not self.tool_started:
            self.tool_started = True
            head = {"index": 0, "id": call.id("call_"), "type": "function", "function": {"name": call.name, "arguments": ""}}
            out = self._chunk({"tool_calls": [head]})
        return out + self._chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})

    def usage(self) -> dict[str, Any]:
        plan = self.plan
        usage: dict[str, Any] = {"prompt_tokens": plan.input_tokens, "completion_tokens": plan.output_tokens}
        usage["total_tokens"] = plan.input_tokens + plan.output_tokens
        if plan.reasoning:
            usage["completion_tokens_details"] = {"reasoning_tokens": len(plan.reasoning)}
        return usage

    def end(self, tps: float | None) -> bytes:
        tail = self._chunk({}, self.plan.finish_reason)
        if self.ask.include_usage:
            tail += sse_data(
                {
                    "id": self.id,
                    "object": "chat.completion.chunk",
                    "created": self.created,
                    "model": self.model,
                    "choices": [],
                    "usage": self.usage(),
                }
            )
        return tail + b"data: [DONE]\n\n"

    def error(self, message: str, code: str) -> bytes:
        return sse_data({"error": {"message": message, "type": "server_error", "param": None, "code": code}})

    def whole(self) -> Any:
        plan = self.plan
        message: dict[str, Any] = {"role": "assistant", "content": "".join(plan.content) if not plan.tool_call else None}
        if plan.reasoning:
            message["reasoning_content"] = "".join(plan.reasoning)
        if plan.tool_call:
            call = plan.tool_call
            message["tool_calls"] = [
                {"id": call.id("call_"), "type": "function", "function": {"name": call.name, "arguments": call.arguments}}
            ]
        return {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "message": message, "finish_reason": plan.finish_reason}],
            "usage": self.usage(),
        }


def read_openai(body: Any, query: Mapping[str, str]) -> Ask:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BadRequest(400, {"error": {"message": "'messages' must be a non-empty list", "code": "invalid_request_error"}})
    options = body.get("stream_options")
    return Ask(
        last_user_text(messages),
        str(body.get("model") or DEFAULT_MODEL),
        body.get("max_tokens") or body.get("max_completion_tokens"),
        prompt_tokens(messages),
        stream=body.get("stream") is True,
        tools=tools_of(body),
        tool_answered=ends_with_tool_result(messages),
        include_usage=isinstance(options, dict) and options.get("include_usage") is True,
    )


OPENAI = Dialect(read_openai, OpenAIFormat)
