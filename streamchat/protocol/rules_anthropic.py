"""Anthropic's message events (docs/protocols.md#rule-anthropic), tool-use blocks among them
(#rule-tool-calls), and its non-streamed message (#non-streamed).

Each event's SSE name repeats its data's ``type``; the data decides. ``ping`` and the start and stop
of text and thinking blocks give nothing, nor do the blocks of tools the server runs itself
(``server_tool_use``, ``mcp_tool_use`` and their results).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..events import Content, Event, Reasoning
from .fields import count, text, usage_from
from .tool_calls import serialised

if TYPE_CHECKING:
    from .normalize import Normalizer

# The event names whose data the data rules read (any other name but the streamchat dialect's is ignored).
EVENT_NAMES = frozenset(
    {"message_start", "message_delta", "message_stop", "content_block_start", "content_block_delta", "content_block_stop", "ping"}
)


def _block_key(obj: dict[str, Any]) -> tuple[Any, ...]:
    return (("anthropic", obj.get("index")),)


def message_start(n: Normalizer, obj: dict[str, Any]) -> list[Event]:
    """Nothing yet: the input counts are remembered for the usage ``message_delta`` brings."""
    message = obj.get("message")
    usage = message.get("usage") if isinstance(message, dict) else None
    if isinstance(usage, dict):
        n.input_tokens = count(usage.get("input_tokens"))
        n.cached_tokens = count(usage.get("cache_read_input_tokens"))
    return []


def block_start(n: Normalizer, obj: dict[str, Any]) -> list[Event]:
    block = obj.get("content_block")
    if isinstance(block, dict) and block.get("type") == "tool_use":
        given = block.get("input")
        # the input streams as input_json_delta; what the block starts with stands when none comes
        n.tools.start(_block_key(obj), block.get("id"), block.get("name"), fallback=serialised(given) if isinstance(given, dict) else "")
    return []


def block_delta(n: Normalizer, obj: dict[str, Any]) -> list[Event]:
    delta = obj.get("delta")
    if not isinstance(delta, dict):
        return []
    kind = delta.get("type")
    if kind == "text_delta":
        found = text(delta.get("text"))
        return [Content(found)] if found else []
    if kind == "thinking_delta":
        found = text(delta.get("thinking"))
        return [Reasoning(found)] if found else []
    if kind == "input_json_delta" and n.tools.pending(_block_key(obj)):
        # only a tool_use block's input is a call for the client: a server_tool_use or mcp_tool_use
        # block (web search, say) streams its input the same way, but the server runs that tool itself
        n.tools.append(_block_key(obj), delta.get("partial_json"))
    return []


def block_stop(n: Normalizer, obj: dict[str, Any]) -> list[Event]:
    return n.tools.finish(_block_key(obj)) if n.tools else []


def message_delta(n: Normalizer, obj: dict[str, Any]) -> list[Event]:
    delta = obj.get("delta")
    if isinstance(delta, dict) and isinstance(delta.get("stop_reason"), str):
        n.finish_reason = delta["stop_reason"]
    usage = obj.get("usage")
    if isinstance(usage, dict):
        event = usage_from(usage, n.input_tokens, n.cached_tokens)
        return [event] if event is not None else []
    return []


def message_stop(n: Normalizer, obj: dict[str, Any]) -> list[Event]:
    return n.end()


TYPED = {
    "message_start": message_start,
    "content_block_start": block_start,
    "content_block_delta": block_delta,
    "content_block_stop": block_stop,
    "message_delta": message_delta,
    "message_stop": message_stop,
}


def is_message(body: dict[str, Any]) -> bool:
    return body.get("type") == "message" and isinstance(body.get("content"), list)


def message(n: Normalizer, body: dict[str, Any]) -> list[Event]:
    """A whole (non-streamed) message: its blocks in order, then usage; ``stop_reason`` is kept."""
    out: list[Event] = []
    for block in body["content"]:
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "thinking" and text(block.get("thinking")):
            out.append(Reasoning(block["thinking"]))
        elif kind == "text" and text(block.get("text")):
            out.append(Content(block["text"]))
        elif kind == "tool_use":
            n.tools.start((("anthropic", len(out)),), block.get("id"), block.get("name"), fallback=serialised(block.get("input", {})))
            out.extend(n.tools.finish_all())
    usage = usage_from(body.get("usage"))
    if usage is not None:
        out.append(usage)
    if isinstance(body.get("stop_reason"), str):
        n.finish_reason = body["stop_reason"]
    return out


__all__ = ["EVENT_NAMES", "TYPED", "is_message", "message"]
