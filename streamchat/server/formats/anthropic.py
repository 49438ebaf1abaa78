"""Anthropic Messages API events (as Open WebUI's ``/api/v1/messages`` and Anthropic send them):
``message_start``, content blocks (``thinking``, ``text``, ``tool_use``) each opened, filled by deltas
and closed, ``message_delta`` with the stop reason and usage, ``message_stop``. A request without
``"stream": true`` gets one ``message`` object.

A tool call is a ``tool_use`` block whose input streams as ``input_json_delta`` pieces, the first one
empty as Anthropic sends it; the stop reason is then ``tool_use``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from ..replies import Ask, ReplyPlan
from .base import BadRequest, Dialect, Format, ends_with_tool_result, last_user_text, prompt_tokens, sse_named, tools_of

STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use"}


class AnthropicFormat(Format):
    answers_whole = True

    def __init__(self, ask: Ask, plan: ReplyPlan) -> None:
        super().__init__(ask, plan)
        self.id = "msg_" + uuid.uuid4().hex[:24]
        self.block: str | None = None
        self.index = -1

    def _open(self, kind: str) -> bytes:
        """Close the open block unless it is of this kind, and open one that is."""
        if self.block == kind:
            return b""
        out = self._close()
        self.index += 1
        self.block = kind
        if kind == "tool_use":
            call = self.plan.tool_call
            assert call is not None
            empty: dict[str, Any] = {"type": "tool_use", "id": call.id("toolu_"), "name": call.name, "input": {}}
        else:
            empty = {"type": "thinking", "thinking": ""} if kind == "thinking" else {"type": "text", "text": ""}
        out += sse_named("content_block_start", {"type": "content_block_start", "index": self.index, "content_block": empty})
        if kind == "tool_use":
            out += self._delta({"type": "input_json_delta", "partial_json": ""})
        return out

    def _close(self) -> bytes:
        if self.block is None:
            return b""
        self.block = None
        return sse_named("content_block_stop", {"type": "content_block_stop", "index": self.index})

    def _delta(self, delta: dict[str, Any]) -> bytes:
        return sse_named("content_block_delta", {"type": "content_block_delta", "index": self.index, "delta": delta})

    def start(self) -> bytes:
        message = {
            "id": self.id,
            "type": "message",
            "role": "assistant",
            "content": [],
            "model": self.model,
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": self.plan.input_tokens, "output_tokens": 0},
        }
        return sse_named("message_start", {"type": "message_start", "message": message})

    def reasoning(self, text: str) -> bytes:
        return self._open("thinking") + self._delta({"type": "thinking_delta", "thinking": text})

    def content(self, text: str) -> bytes:
        return self._open("text") + self._delta({"type": "text_delta", "text": text})

    def tool(self, piece: str) -> bytes:
        return self._open("tool_use") + self._delta({"type": "input_json_delta", "partial_json": piece})

    def end(self, tps: float | None) -> bytes:
        plan = self.plan
        delta = {
            "type": "message_delta",
            "delta": {"stop_reason": STOP_REASONS.get(plan.finish_reason, plan.finish_reason), "stop_sequence": None},
            "usage": {"output_tokens": plan.output_tokens, "input_tokens": plan.input_tokens},
        }
        return self._close() + sse_named("message_delta", delta) + sse_named("message_stop", {"type": "message_stop"})

    def error(self, message: str, code: str) -> bytes:
        return sse_named("error", {"type": "error", "error": {"type": code, "message": message}})

    def whole(self) -> Any:
        plan = self.plan
        content: list[dict[str, Any]] = []
        if plan.reasoning:
            content.append({"type": "thinking", "thinking": "".join(plan.reasoning), "signature": ""})
        if plan.content:
            content.append({"type": "text", "text": "".join(plan.content)})
        if plan.tool_call:
            call = plan.tool_call
            content.append({"type": "tool_use", "id": call.id("toolu_"), "name": call.name, "input": call.parsed})
        return {
            "id": self.id,
            "type": "message",
            "role": "assistant",
            "content": content,
            "model": self.model,
            "stop_reason": STOP_REASONS.get(plan.finish_reason, plan.finish_reason),
            "stop_sequence": None,
            "usage": {"input_tokens": plan.input_tokens, "output_tokens": plan.output_tokens},
        }


def read_anthropic(body: Any, query: Mapping[str, str]) -> Ask:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BadRequest(400, {"type": "error", "error": {"type": "invalid_request_error", "message": "messages: field required"}})
    return Ask(
        last_user_text(messages),
        str(body.get("model") or "claude-demo"),
        body.get("max_tokens"),
        prompt_tokens(messages),
        stream=body.get("stream") is True,
        tools=tools_of(body),
        tool_answered=ends_with_tool_result(messages),
    )


ANTHROPIC = Dialect(read_anthropic, AnthropicFormat)
