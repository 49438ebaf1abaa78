"""Typed objects: an object whose string ``type`` names its event (docs/protocols.md#rule-typed-objects),
as the WebSocket chat, the prompt dialect and servers that put the type in the data rather than in the
SSE event name send them. Anthropic's and the Responses API's types have their own modules; any other
type is ignored.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..events import Content, Event, Reasoning, Tps
from .fields import error_from, number, text, usage_from

if TYPE_CHECKING:
    from .normalize import Normalizer


def _typed_text(n: Normalizer, obj: dict[str, Any]) -> list[Event]:
    found = text(obj.get("text"))
    if not found and obj.get("type") == "content":
        found = text(obj.get("content"))  # a content string stands in for a missing text
    return [Content(found)] if found else []


def _typed_reasoning(n: Normalizer, obj: dict[str, Any]) -> list[Event]:
    found = text(obj.get("text"))
    return [Reasoning(found)] if found else []


def _typed_done(n: Normalizer, obj: dict[str, Any]) -> list[Event]:
    reason = obj.get("finish_reason")
    return n.end(reason if isinstance(reason, str) else None)


def _typed_tps(n: Normalizer, obj: dict[str, Any]) -> list[Event]:
    tps = number(obj.get("tps"))
    return [Tps(tps)] if tps is not None else []


def _typed_usage(n: Normalizer, obj: dict[str, Any]) -> list[Event]:
    usage = usage_from(obj.get("usage") if isinstance(obj.get("usage"), dict) else obj)
    return [usage] if usage is not None else []


def _typed_error(n: Normalizer, obj: dict[str, Any]) -> list[Event]:
    return [error_from(obj)]


TYPED = {
    "chunk": _typed_text,
    "content": _typed_text,
    "reasoning": _typed_reasoning,
    "done": _typed_done,
    "error": _typed_error,
    "tps": _typed_tps,
    "usage": _typed_usage,
}

__all__ = ["TYPED"]
