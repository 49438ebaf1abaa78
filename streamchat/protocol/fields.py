"""Reading a server's JSON values the way every normaliser rule does: counts, rates, codes, errors, usage.

A value a rule cannot use is treated as absent, never as an error: a count that is not a finite number,
a code that is neither a string nor a number, ``null`` anywhere (docs/protocols.md#rule-empty-and-absent).
"""

from __future__ import annotations

from typing import Any

from ..errors import ProtocolError
from ..events import Error, Usage
from .strict_json import MAX_DEPTH, JSONTooDeep, loads

_FINITE = (float("-inf"), float("inf"))


def json_value(data: str, keep_surrogates: bool = False) -> Any:
    """Server JSON, safely (``strict_json.loads``); nesting too deep is a protocol error, anything
    else that is not JSON a ValueError."""
    try:
        return loads(data, keep_surrogates)
    except JSONTooDeep:
        raise ProtocolError(f"malformed stream: {preview(data)} is nested deeper than {MAX_DEPTH} levels") from None


def count(value: Any) -> int | None:
    """A token count, or None: not a number, or not finite (values from ``strict_json`` never are; others may be)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or value in _FINITE:
        return None
    return int(value)


def number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or value in _FINITE:
        return None
    return value


def text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def code(value: Any) -> str | int | float | None:
    """An error code as the server gave it (string or number), or None."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)) or value != value or value in _FINITE:
        return None
    return value


def preview(data: str, limit: int = 60) -> str:
    return repr(data if len(data) <= limit else data[:limit] + "…")


def error_from(obj: Any) -> Error:
    """An error event from any of the shapes servers send (docs/protocols.md#rule-error-objects)."""
    if isinstance(obj, str):
        return Error(obj or "unknown error")
    if not isinstance(obj, dict):
        return Error("unknown error")
    inner = obj.get("error", obj)
    if isinstance(inner, str):
        return Error(inner or "unknown error", code(obj.get("code")))
    if not isinstance(inner, dict):
        inner = obj
    message = inner.get("message")
    if not isinstance(message, str) or not message:
        message = obj.get("message") if isinstance(obj.get("message"), str) else None
    if not message:
        detail = inner.get("detail") or inner.get("type")
        message = detail if isinstance(detail, str) and detail else _validation_errors(detail) or "unknown error"
    found = code(inner.get("code"))
    if found is None:
        found = code(obj.get("code")) if inner is not obj else None
    if found is None and inner is not obj and obj.get("type") == "error" and isinstance(inner.get("type"), str):
        found = inner["type"]  # Anthropic: {"type": "error", "error": {"type", "message"}}
    return Error(message, found)


def _validation_errors(detail: Any) -> str | None:
    """FastAPI's 422 body, ``{"detail": [{"loc": ["body", "messages"], "msg": "Field required"}, ...]}``:
    ``body.messages: Field required; ...`` (what the server found wrong, as it said it)."""
    if not isinstance(detail, list):
        return None
    said = []
    for item in detail[:5]:
        if isinstance(item, dict) and isinstance(item.get("msg"), str):
            where = ".".join(str(part) for part in item["loc"]) if isinstance(item.get("loc"), list) else ""
            said.append(f"{where}: {item['msg']}" if where else item["msg"])
    return "; ".join(said) or None


def _first_count(obj: dict[str, Any], *keys: str) -> int | None:
    for key in keys:
        value = count(obj.get(key))
        if value is not None:
            return value
    return None


def _detail(obj: dict[str, Any], key: str, *holders: str) -> int | None:
    for holder in holders:
        details = obj.get(holder)
        if isinstance(details, dict):
            value = count(details.get(key))
            if value is not None:
                return value
    return None


def usage_from(obj: Any, input_default: int | None = None, cached_default: int | None = None) -> Usage | None:
    """A usage event from any server's names (docs/protocols.md#rule-usage): ours and Anthropic's and
    the Responses API's (input/output), OpenAI's (prompt/completion), Ollama's (eval counts)."""
    if not isinstance(obj, dict):
        return None
    inp = _first_count(obj, "input_tokens", "prompt_tokens", "prompt_eval_count")
    if inp is None:
        inp = input_default
    out = _first_count(obj, "output_tokens", "completion_tokens", "eval_count")
    reasoning = count(obj.get("reasoning_tokens"))
    if reasoning is None:
        reasoning = _detail(obj, "reasoning_tokens", "completion_tokens_details", "output_tokens_details")
    cached = count(obj.get("cached_tokens"))
    if cached is None:
        cached = _detail(obj, "cached_tokens", "prompt_tokens_details", "input_tokens_details")
    if cached is None:
        cached = _first_count(obj, "prompt_cache_hit_tokens", "cache_read_input_tokens")  # DeepSeek, Anthropic
    if cached is None:
        cached = cached_default
    total = count(obj.get("total_tokens"))
    if inp is None and out is None and total is None and reasoning is None and cached is None:
        return None  # every count absent, null or not finite: usage not known, not zero (docs/events.md#event-usage)
    return Usage(inp or 0, out or 0, total, reasoning, cached)


__all__ = ["code", "count", "error_from", "json_value", "number", "preview", "text", "usage_from"]
