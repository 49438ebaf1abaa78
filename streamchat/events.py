"""The events every transport and dialect is normalised to: the NDJSON schema of docs/events.md.

They are light ``__slots__`` objects, built once per token on the hot path; ``as_dict`` gives the
closed JSON form: optional keys appear only when known (``None`` means unknown, ``0`` is known).
"""

from __future__ import annotations

from typing import Any, Union


class _Event:
    """Equality and ``repr`` from ``as_dict``: two events are equal when their JSON forms are."""

    __slots__ = ()
    type = ""

    def as_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Event) and other.as_dict() == self.as_dict()

    def __repr__(self) -> str:
        fields = {k: v for k, v in self.as_dict().items() if k != "type"}
        return f"{type(self).__name__}({fields!r})"


class Content(_Event):
    __slots__ = ("text",)
    type = "content"

    def __init__(self, text: str) -> None:
        self.text = text

    def as_dict(self) -> dict[str, Any]:
        return {"type": "content", "text": self.text}


class Reasoning(Content):
    __slots__ = ()
    type = "reasoning"

    def as_dict(self) -> dict[str, Any]:
        return {"type": "reasoning", "text": self.text}


class Tps(_Event):
    __slots__ = ("tps",)
    type = "tps"

    def __init__(self, tps: float) -> None:
        self.tps = tps

    def as_dict(self) -> dict[str, Any]:
        return {"type": "tps", "tps": self.tps}


class Usage(_Event):
    __slots__ = ("input_tokens", "output_tokens", "total_tokens", "reasoning_tokens", "cached_tokens")
    type = "usage"

    def __init__(
        self,
        input_tokens: int = 0,
        output_tokens: int = 0,
        total_tokens: int | None = None,
        reasoning_tokens: int | None = None,
        cached_tokens: int | None = None,
    ) -> None:
        self.input_tokens = input_tokens
        self.output_tokens = output_tokens
        # the server's total, or input + output when it sent none
        self.total_tokens = input_tokens + output_tokens if total_tokens is None else total_tokens
        self.reasoning_tokens = reasoning_tokens
        self.cached_tokens = cached_tokens

    def fields(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "total_tokens": self.total_tokens,
        }
        if self.reasoning_tokens is not None:
            out["reasoning_tokens"] = self.reasoning_tokens
        if self.cached_tokens is not None:
            out["cached_tokens"] = self.cached_tokens
        return out

    def as_dict(self) -> dict[str, Any]:
        return {"type": "usage", **self.fields()}


class Error(_Event):
    __slots__ = ("message", "code")
    type = "error"

    def __init__(self, message: str, code: str | int | float | None = None) -> None:
        self.message = message
        self.code = code

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "error", "message": self.message}
        if self.code is not None:
            out["code"] = self.code
        return out


class Done(_Event):
    __slots__ = ("finish_reason",)
    type = "done"

    def __init__(self, finish_reason: str | None = None) -> None:
        self.finish_reason = finish_reason

    def as_dict(self) -> dict[str, Any]:
        if self.finish_reason is None:
            return {"type": "done"}
        return {"type": "done", "finish_reason": self.finish_reason}


class ToolCall(_Event):
    """A complete tool (function) call: ``arguments`` is the JSON text the model produced, as given."""

    __slots__ = ("id", "name", "arguments")
    type = "tool_call"

    def __init__(self, id: str, name: str, arguments: str) -> None:  # noqa: A002 - the schema's own key
        self.id = id
        self.name = name
        self.arguments = arguments

    def fields(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "arguments": self.arguments}

    def as_dict(self) -> dict[str, Any]:
        return {"type": "tool_call", **self.fields()}


Event = Union[Content, Reasoning, Tps, Usage, Error, Done, ToolCall]

__all__ = ["Content", "Done", "Error", "Event", "Reasoning", "ToolCall", "Tps", "Usage"]
