"""The OpenAI Responses API (``POST /v1/responses``), shaped as OpenAI's streaming events reference and
the openai-python SDK's types say, and as vLLM sends them.

A stream is ``response.created``, ``response.in_progress``, then one output item after another, each
``response.output_item.added`` … ``response.output_item.done``: a ``reasoning`` item (reasoning models)
whose ``reasoning_text`` part streams ``response.reasoning_text.delta``; a ``message`` item whose
``output_text`` part streams ``response.output_text.delta``; or a ``function_call`` item whose arguments
stream ``response.function_call_arguments.delta``. It ends with ``response.completed`` (usage inside),
``response.incomplete`` when ``max_output_tokens`` cut it, or an ``error`` event. Every event carries a
``sequence_number`` from 0. A request without ``"stream": true`` gets the response object.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import Any

from ..replies import Ask, ReplyPlan, count_tokens
from .base import BadRequest, Dialect, Format, ends_with_tool_result, sse_named, text_of, tools_of

DEFAULT_MODEL = "deepseek/deepseek-chat"
KINDS = {"reasoning": "reasoning", "content": "message", "tool": "function_call"}


class ResponsesFormat(Format):
    answers_whole = True

    def __init__(self, ask: Ask, plan: ReplyPlan) -> None:
        super().__init__(ask, plan)
        self.id = "resp_" + uuid.uuid4().hex
        self.created = int(time.time())
        self.sequence = 0
        self.output: list[dict[str, Any]] = []  # finished items, for the final response object
        self.item: dict[str, Any] | None = None  # the open item
        self.text = ""  # what the open item has streamed

    def _event(self, kind: str, **fields: Any) -> bytes:
        out = sse_named(kind, {"type": kind, "sequence_number": self.sequence, **fields})
        self.sequence += 1
        return out

    def response(self, status: str, output: list[dict[str, Any]], usage: dict[str, Any] | None = None) -> dict[str, Any]:
        ask = self.ask
        return {
            "id": self.id,
            "object": "response",
            "created_at": self.created,
            "status": status,
            "error": None,
            "incomplete_details": {"reason": "max_output_tokens"} if status == "incomplete" else None,
            "instructions": None,
            "max_output_tokens": ask.max_tokens if isinstance(ask.max_tokens, int) else None,
            "model": self.model,
            "output": output,
            "parallel_tool_calls": True,
            "previous_response_id": None,
            "reasoning": {"effort": None, "summary": None},
            "store": False,
            "temperature": 1.0,
            "text": {"format": {"type": "text"}},
            "tool_choice": "auto",
            "tools": ask.tools,
            "top_p": 1.0,
            "truncation": "disabled",
            "usage": usage,
            "user": None,
            "metadata": {},
        }

    def _new_item(self, kind: str) -> dict[str, Any]:
        """A fresh item of this kind, as ``response.output_item.added`` shows it."""
        if kind == "reasoning":
            return {"id": "rs_" + uuid.uuid4().hex, "type": "reasoning", "summary": [], "status": "in_progress"}
        if kind == "message":
            return {"id": "msg_" + uuid.uuid4().hex, "type": "message", "status": "in_progress", "content": [], "role": "assistant"}
        call = self.plan.tool_call
        assert call is not None
        return {
            "id": "fc_" + call.digest,
            "type": "function_call",
            "status": "in_progress",
            "arguments": "",
            "call_id": call.id("call_"),
            "name": call.name,
        }

    @staticmethod
    def _part(kind: str, text: str) -> dict[str, Any]:
        if kind == "reasoning":
            return {"type": "reasoning_text", "text": text}
        return {"type": "output_text", "annotations": [], "logprobs": [], "text": text}

    def _open(self, kind: str) -> bytes:
        if self.item is not None and self.item["type"] == kind:
            return b""
        out = self._close()
        self.item = self._new_item(kind)
        where = {"output_index": len(self.output)}
        out += self._event("response.output_item.added", **where, item=self.item)
        if kind != "function_call":
            out += self._event("response.content_part.added", item_id=self.item["id"], **where, content_index=0, part=self._part(kind, ""))
        return out

    def _close(self) -> bytes:
        item, text = self.item, self.text
        if item is None:
            return b""
        self.item, self.text = None, ""
        where = {"item_id": item["id"], "output_index": len(self.output)}
        if item["type"] == "function_call":
            done = {**item, "status": "completed", "arguments": text}
            out = self._event("response.function_call_arguments.done", **where, arguments=text, name=item["name"])
        else:
            part = self._part(item["type"], text)
            if item["type"] == "reasoning":
                out = self._event("response.reasoning_text.done", **where, content_index=0, text=text)
            else:
                out = self._event("response.output_text.done", **where, content_index=0, text=text, logprobs=[])
            out += self._event("response.content_part.done", **where, content_index=0, part=part)
            done = {**item, "status": "completed", "content": [part]}
        out += self._event("response.output_item.done", output_index=len(self.output), item=done)
        self.output.append(done)
        return out

    def _delta(self, kind: str, text: str) -> bytes:
        out = self._open(KINDS[kind])
        assert self.item is not None
        self.text += text
        where = {"item_id": self.item["id"], "output_index": len(self.output)}
        if kind == "tool":
            return out + self._event("response.function_call_arguments.delta", **where, delta=text)
        if kind == "reasoning":
            return out + self._event("response.reasoning_text.delta", **where, content_index=0, delta=text)
        return out + self._event("response.output_text.delta", **where, content_index=0, delta=text, logprobs=[])

    def start(self) -> bytes:
        created = self.response("in_progress", [])
        return self._event("response.created", response=created) + self._event("response.in_progress", response=created)

    def reasoning(self, text: str) -> bytes:
        return self._delta("reasoning", text)

    def content(self, text: str) -> bytes:
        return self._delta("content", text)

    def tool(self, piece: str) -> bytes:
        return self._delta("tool", piece)

    def usage(self) -> dict[str, Any]:
        plan = self.plan
        return {
            "input_tokens": plan.input_tokens,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": plan.output_tokens,
            "output_tokens_details": {"reasoning_tokens": len(plan.reasoning)},
            "total_tokens": plan.input_tokens + plan.output_tokens,
        }

    def _status(self) -> str:
        return "incomplete" if self.plan.finish_reason == "length" else "completed"

    def end(self, tps: float | None) -> bytes:
        out = self._close()
        status = self._status()
        return out + self._event(f"response.{status}", response=self.response(status, self.output, self.usage()))

    def error(self, message: str, code: str) -> bytes:
        return self._event("error", code=code, message=message, param=None)

    def whole(self) -> Any:
        plan = self.plan
        for kind, text in plan.items():  # the same items a stream builds, without writing any event
            self._delta(kind, text)
        self._close()
        return self.response(self._status(), self.output, self.usage())


def _input_texts(items: Any) -> list[tuple[str, str]]:
    """(role, text) of each input message: ``input`` is a string or a list of message items."""
    if isinstance(items, str):
        return [("user", items)]
    if not isinstance(items, list):
        return []
    return [(str(i.get("role")), text_of(i.get("content"))) for i in items if isinstance(i, dict) and "role" in i]


def read_responses(body: Any, query: Mapping[str, str]) -> Ask:
    texts = _input_texts(body.get("input"))
    if not texts:
        error = {"message": "'input' must be a string or a non-empty list of messages", "type": "invalid_request_error", "param": "input"}
        raise BadRequest(400, {"error": {**error, "code": None}})
    message = next((text for role, text in reversed(texts) if role == "user"), texts[-1][1])
    instructions = body.get("instructions") if isinstance(body.get("instructions"), str) else ""
    prompt = sum(count_tokens(text) for _, text in texts) + count_tokens(instructions)
    return Ask(
        message,
        str(body.get("model") or DEFAULT_MODEL),
        body.get("max_output_tokens"),
        prompt,
        stream=body.get("stream") is True,
        tools=tools_of(body),
        tool_answered=ends_with_tool_result(body.get("input")),
    )


RESPONSES = Dialect(read_responses, ResponsesFormat)
