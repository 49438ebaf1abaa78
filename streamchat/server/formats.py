"""How each SSE dialect puts events on the wire (server side): one class a dialect."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any


def _data(obj: Any) -> bytes:
    return b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n"


def _named(event: str, obj: Any) -> bytes:
    return f"event: {event}\n".encode() + _data(obj)


class StreamchatFormat:
    """Seed http-streaming: named events ``content``, ``reasoning``, ``tps``, ``usage``, ``done``, ``error``."""

    def __init__(self, model: str) -> None:
        self.model = model

    def start(self) -> bytes:
        return b""

    def reasoning(self, text: str) -> bytes:
        return _named("reasoning", {"text": text})

    def content(self, text: str) -> bytes:
        return _named("content", {"text": text})

    def finish(self, reason: str) -> bytes:
        return b""

    def tps(self, tps: float) -> bytes:
        return _named("tps", {"tps": tps})

    def usage(self, inp: int, out: int, reasoning: int) -> bytes:
        body: dict[str, Any] = {"input_tokens": inp, "output_tokens": out, "total_tokens": inp + out}
        if reasoning:
            body["reasoning_tokens"] = reasoning
        return _named("usage", body)

    def done(self, reason: str) -> bytes:
        return _named("done", {"finish_reason": reason})

    def error(self, message: str, code: str) -> bytes:
        return _named("error", {"message": message, "code": code})


class OpenAIFormat(StreamchatFormat):
    """OpenAI chat.completion.chunk objects, a usage chunk when asked, then ``[DONE]``."""

    def __init__(self, model: str, include_usage: bool = True) -> None:
        super().__init__(model)
        self.include_usage = include_usage
        self.id = "chatcmpl-" + uuid.uuid4().hex[:24]
        self.created = int(time.time())

    def _chunk(self, delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
        return _data(
            {
                "id": self.id,
                "object": "chat.completion.chunk",
                "created": self.created,
                "model": self.model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                **extra,
            }
        )

    def start(self) -> bytes:
        return self._chunk({"role": "assistant", "content": ""})

    def reasoning(self, text: str) -> bytes:
        return self._chunk({"reasoning_content": text})

    def content(self, text: str) -> bytes:
        return self._chunk({"content": text})

    def finish(self, reason: str) -> bytes:
        return self._chunk({}, reason)

    def tps(self, tps: float) -> bytes:
        return b""  # OpenAI has no tps event

    def usage(self, inp: int, out: int, reasoning: int) -> bytes:
        if not self.include_usage:
            return b""
        usage: dict[str, Any] = {"prompt_tokens": inp, "completion_tokens": out, "total_tokens": inp + out}
        if reasoning:
            usage["completion_tokens_details"] = {"reasoning_tokens": reasoning}
        return _data(
            {"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model, "choices": [], "usage": usage}
        )

    def done(self, reason: str) -> bytes:
        return b"data: [DONE]\n\n"

    def error(self, message: str, code: str) -> bytes:
        return _data({"error": {"message": message, "type": "server_error", "param": None, "code": code}})


class PromptFormat(StreamchatFormat):
    """Seed sse-chat-and-camera: ``{"type": "chunk", "text"}`` … ``{"type": "done"}``."""

    def reasoning(self, text: str) -> bytes:
        return _data({"type": "reasoning", "text": text})

    def content(self, text: str) -> bytes:
        return _data({"type": "chunk", "text": text})

    def tps(self, tps: float) -> bytes:
        return b""

    def usage(self, inp: int, out: int, reasoning: int) -> bytes:
        return b""

    def done(self, reason: str) -> bytes:
        return _data({"type": "done"})

    def error(self, message: str, code: str) -> bytes:
        return _data({"type": "error", "message": message, "code": code})


class QueryFormat(PromptFormat):
    """Seed hybrid-websocket-sse: ``{"content": ...}`` chunks, then ``[DONE]``."""

    def content(self, text: str) -> bytes:
        return _data({"content": text})

    def done(self, reason: str) -> bytes:
        return b"data: [DONE]\n\n"

    def error(self, message: str, code: str) -> bytes:
        return _data({"error": message, "code": code})


class AnthropicFormat(StreamchatFormat):
    """Anthropic Messages API events (capture 60_anthropic_messages_sse.txt)."""

    def __init__(self, model: str, input_tokens: int = 0) -> None:
        super().__init__(model)
        self.input_tokens = input_tokens
        self.block: str | None = None
        self.index = -1

    def _block(self, kind: str) -> bytes:
        out = b""
        if self.block == kind:
            return out
        if self.block is not None:
            out += _named("content_block_stop", {"type": "content_block_stop", "index": self.index})
        self.index += 1
        self.block = kind
        empty = {"type": "thinking", "thinking": ""} if kind == "thinking" else {"type": "text", "text": ""}
        return out + _named("content_block_start", {"type": "content_block_start", "index": self.index, "content_block": empty})

    def start(self) -> bytes:
        message = {
            "id": "msg_" + uuid.uuid4().hex[:24],
            "type": "message",
            "role": "assistant",
            "content": [],
            "model": self.model,
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": self.input_tokens, "output_tokens": 0},
        }
        return _named("message_start", {"type": "message_start", "message": message})

    def reasoning(self, text: str) -> bytes:
        delta = {"type": "thinking_delta", "thinking": text}
        return self._block("thinking") + _named("content_block_delta", {"type": "content_block_delta", "index": self.index, "delta": delta})

    def content(self, text: str) -> bytes:
        delta = {"type": "text_delta", "text": text}
        return self._block("text") + _named("content_block_delta", {"type": "content_block_delta", "index": self.index, "delta": delta})

    def finish(self, reason: str) -> bytes:
        if self.block is None:
            return b""
        self.block = None
        return _named("content_block_stop", {"type": "content_block_stop", "index": self.index})

    def tps(self, tps: float) -> bytes:
        return b""

    def usage(self, inp: int, out: int, reasoning: int) -> bytes:
        self._usage = (inp, out)
        return b""

    def done(self, reason: str) -> bytes:
        inp, out = getattr(self, "_usage", (self.input_tokens, 0))
        stop = {"stop": "end_turn", "length": "max_tokens"}.get(reason, reason)
        delta = {
            "type": "message_delta",
            "delta": {"stop_reason": stop, "stop_sequence": None},
            "usage": {"output_tokens": out, "input_tokens": inp},
        }
        return _named("message_delta", delta) + _named("message_stop", {"type": "message_stop"})

    def error(self, message: str, code: str) -> bytes:
        return _named("error", {"type": "error", "error": {"type": code, "message": message}})
