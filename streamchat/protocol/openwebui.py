"""Open WebUI's Socket.IO ``events`` → our events (``docs/protocols.md#open-webui-events``).

Pure: it takes the payloads python-socketio hands over and returns events; no sockets, no clocks.
"""

from __future__ import annotations

from typing import Any

from ..events import Content, Done, Error, Event, Reasoning, Usage
from .normalize import Normalizer, error_from, usage_from

# Server calls that wait for the user: we answer them with a refusal (``docs/protocols.md#open-webui-events``).
CALL_TYPES = frozenset({"input", "confirmation", "execute", "chat:message:confirm"})


class OpenWebUIMapper:
    """Events for one reply, identified by the ``message_id`` we posted (``id``)."""

    def __init__(self, message_id: str) -> None:
        self.message_id = message_id
        self.normalizer = Normalizer("openai")
        self.usage: Usage | None = None  # only the last usage counts; written just before done
        self.ended = False

    def ours(self, payload: Any) -> bool:
        return isinstance(payload, dict) and payload.get("message_id") == self.message_id

    def map(self, payload: Any) -> list[Event]:
        """Events from one ``events`` payload (others' message ids and unknown types give none)."""
        if self.ended or not self.ours(payload):
            return []
        inner = payload.get("data")
        if not isinstance(inner, dict):
            return []
        kind = inner.get("type")
        data = inner.get("data")
        if kind == "response:completion":
            out = self._response(data)
        elif kind == "chat:completion":
            out = self._completion(data)
        elif kind == "chat:message:error":
            out = [_message_error(data)]
        elif kind == "chat:tasks:cancel":
            out = [Error("cancelled", "cancelled")]
        elif kind == "chat:active" and isinstance(data, dict) and data.get("active") is False:
            out = self._done()
        else:
            out = []
        if out and isinstance(out[-1], (Error, Done)):
            self.ended = True
        return out

    def _response(self, data: Any) -> list[Event]:
        if not isinstance(data, dict):
            return []
        if "choices" in data:
            return self.normalizer.obj(data)  # a raw OpenAI chunk (docs/protocols.md#rule-openai-chunk)
        delta = data.get("delta")
        if not isinstance(delta, str) or not delta:
            return []
        kind = data.get("type")
        if kind == "response.output_text.delta":
            return [Content(delta)]
        if kind == "response.reasoning_text.delta":
            return [Reasoning(delta)]
        return []

    def _completion(self, data: Any) -> list[Event]:
        if not isinstance(data, dict):
            return []
        out: list[Event] = []
        if "choices" in data:
            out.extend(e for e in self.normalizer.obj(data) if not isinstance(e, Usage))
        usage = data.get("usage")
        if isinstance(usage, dict):
            self.usage = usage_from(usage)
        if data.get("error") is not None:
            out.append(error_from(data))
            return out
        if data.get("done") is True:
            out.extend(self._done())
        return out

    def _done(self) -> list[Event]:
        out: list[Event] = [self.usage] if self.usage is not None else []
        self.usage = None
        return [*out, Done(self.normalizer.finish_reason)]


def _message_error(data: Any) -> Error:
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict):
            text = error.get("content") or error.get("message")
            if isinstance(text, str) and text:
                return Error(text)
        return error_from(data)
    return Error(str(data) if data else "error")


def refusal(payload: Any) -> Any:
    """What we answer a server call with: no input, no confirmation, no execution."""
    inner = payload.get("data") if isinstance(payload, dict) else None
    kind = inner.get("type") if isinstance(inner, dict) else None
    if kind in ("confirmation", "chat:message:confirm"):
        return False
    return {"error": "refused: streamchat does not answer server calls"}
