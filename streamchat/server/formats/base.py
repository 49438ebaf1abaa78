"""What every dialect module provides: a reader (request body → ``Ask``) and a ``Format`` (reply → bytes).

A ``Format`` is made for one reply and may keep state while it writes (an open content block, a
sequence number). The streaming body calls ``start`` once the first item is due, then ``reasoning``,
``content`` or ``tool`` per paced item, then ``end`` (the clean end: finish reason, usage, done) or
``error``. ``whole`` is the dialect's answer to a request that did not ask for a stream (dialects
with ``answers_whole`` set; the others always stream).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..replies import Ask, ReplyPlan, count_tokens

GARBAGE = b"data: \x00\xff\xfe not json {{{\n\n"  # what no SSE decoder can take for an event


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def sse_data(obj: Any) -> bytes:
    return b"data: " + dumps(obj) + b"\n\n"


def sse_named(event: str, obj: Any) -> bytes:
    return b"event: " + event.encode() + b"\n" + sse_data(obj)


class BadRequest(Exception):
    """The request cannot be answered; ``body`` is the dialect's own error object."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


class Format:
    media_type = "text/event-stream"
    garbage = GARBAGE
    answers_whole = False  # True: ``whole`` answers a request that did not ask for a stream

    def __init__(self, ask: Ask, plan: ReplyPlan) -> None:
        self.ask = ask
        self.plan = plan
        self.model = ask.model

    def start(self) -> bytes:
        return b""

    def reasoning(self, text: str) -> bytes:
        return self.content(text)

    def content(self, text: str) -> bytes:
        raise NotImplementedError

    def tool(self, piece: str) -> bytes:
        return b""  # a dialect without tool calls says nothing of them

    def end(self, tps: float | None) -> bytes:
        raise NotImplementedError

    def error(self, message: str, code: str) -> bytes:
        raise NotImplementedError

    def whole(self) -> Any:
        raise NotImplementedError


@dataclass(frozen=True)
class Dialect:
    """An HTTP chat endpoint's protocol: how to read its request, how to write its reply."""

    read: Callable[[Any, Mapping[str, str]], Ask]  # (JSON body or None, query parameters) → Ask; raises BadRequest
    format: type[Format]
    has_body: bool = True


def text_of(content: Any) -> str:
    """A message's text, whether it is a string or a list of content parts (any dialect's part types)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = (p.get("text") for p in content if isinstance(p, dict) and p.get("type") in ("text", "input_text", "output_text"))
        return " ".join(p for p in parts if isinstance(p, str))
    return ""


def last_user_text(messages: list[Any]) -> str:
    last = next((m for m in reversed(messages) if isinstance(m, dict) and m.get("role") == "user"), messages[-1] if messages else {})
    return text_of(last.get("content")) if isinstance(last, dict) else ""


def prompt_tokens(messages: list[Any], *extra: Any) -> int:
    counted = sum(count_tokens(text_of(m.get("content"))) for m in messages if isinstance(m, dict))
    return counted + sum(count_tokens(text_of(e)) for e in extra)


def tools_of(body: Mapping[str, Any]) -> list[Any]:
    tools = body.get("tools")
    return tools if isinstance(tools, list) else []


def ends_with_tool_result(conversation: Any) -> bool:
    """The last item is a tool's result, in any dialect's spelling: an OpenAI or Ollama ``tool`` message
    (``function`` in the older API), an Anthropic user turn holding ``tool_result`` blocks, a Responses
    ``function_call_output`` item."""
    if not isinstance(conversation, list) or not conversation or not isinstance(conversation[-1], dict):
        return False
    last = conversation[-1]
    if last.get("role") in ("tool", "function") or last.get("type") == "function_call_output":
        return True
    content = last.get("content")
    return isinstance(content, list) and any(isinstance(part, dict) and part.get("type") == "tool_result" for part in content)
