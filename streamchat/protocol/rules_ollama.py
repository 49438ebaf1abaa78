"""Ollama's native API: one JSON object a line (docs/protocols.md#rule-ollama).

``/api/chat`` lines carry ``message`` (``content``, ``thinking``, ``tool_calls``); ``/api/generate``
lines carry ``response`` and ``thinking`` at the top. The last line has ``"done": true`` with the
counts and durations (nanoseconds), and may still carry text. A non-streamed answer is that last
line alone, with the whole text in it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..events import Content, Event, Reasoning, Tps, Usage
from .fields import count, number

if TYPE_CHECKING:
    from .normalize import Normalizer


def is_line(obj: dict[str, Any]) -> bool:
    """An Ollama object: a boolean ``done`` beside a ``message`` or a ``response``."""
    return type(obj.get("done")) is bool and (type(obj.get("message")) is dict or "response" in obj)


def line(n: Normalizer, obj: dict[str, Any]) -> list[Event]:
    out: list[Event] = []
    message = obj.get("message")
    holder = message if type(message) is dict else obj
    found = holder.get("thinking")
    if type(found) is str and found:
        out.append(Reasoning(found))
    found = holder.get("content") if holder is message else obj.get("response")
    if type(found) is str and found:
        out.append(Content(found))
    calls = holder.get("tool_calls")
    if calls:
        out.extend(n.ollama_calls.events(calls))
    if obj.get("done") is True:
        out.extend(_last(n, obj))
    return out


def _last(n: Normalizer, obj: dict[str, Any]) -> list[Event]:
    """The last line: usage (when a count was sent), the generation rate, done."""
    out: list[Event] = []
    prompt, generated = count(obj.get("prompt_eval_count")), count(obj.get("eval_count"))
    if prompt is not None or generated is not None:  # Ollama leaves a zero count out
        out.append(Usage(prompt or 0, generated or 0))
    duration = number(obj.get("eval_duration"))
    if generated is not None and duration is not None and duration > 0:
        out.append(Tps(generated / (duration / 1e9)))
    reason = obj.get("done_reason")
    return [*out, *n.end(reason if type(reason) is str and reason else None)]


__all__ = ["is_line", "line"]
