"""OpenAI chat-completion chunks (docs/protocols.md#rule-openai-chunk), with llama.cpp's timings and
the end of its own ``/completion`` stream (#rule-llamacpp-timings), and tool-call deltas (#rule-tool-calls).

This is the per-token path of most servers: exact type checks, one lookup per key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..events import Content, Event, Reasoning, Tps
from .fields import error_from, number, usage_from

if TYPE_CHECKING:
    from .normalize import Normalizer


def token_text(value: Any) -> str | None:
    """The content of the OpenAI chunk nearly every token arrives in, or None if ``value`` is not one.

    That chunk: one choice at index 0, no finish reason, a delta without reasoning or tool calls, and
    no usage, error or timings beside it. For it, the chunk rule gives exactly one content event
    (none for "").
    """
    if type(value) is dict and "usage" not in value and "error" not in value and "timings" not in value:
        choices = value.get("choices")
        if type(choices) is list and len(choices) == 1:
            choice = choices[0]
            if type(choice) is dict and choice.get("finish_reason") is None and choice.get("index", 0) == 0:
                delta = choice.get("delta")
                if type(delta) is dict and "reasoning_content" not in delta and "reasoning" not in delta and not delta.get("tool_calls"):
                    text = delta.get("content")
                    if type(text) is str:
                        return text
    return None


def chunk(n: Normalizer, obj: dict[str, Any]) -> list[Event]:
    """Events of one chunk (or of a non-streamed answer, whose choice holds a whole ``message``)."""
    choices = obj.get("choices")
    out: list[Event] = []
    if type(choices) is list:
        for choice in choices:
            if type(choice) is not dict or choice.get("index", 0) != 0:
                continue  # one choice was asked for
            delta = choice.get("delta")
            if type(delta) is not dict:
                delta = choice.get("message")
            if type(delta) is dict and delta:
                text = delta.get("reasoning_content")
                if type(text) is not str:
                    text = delta.get("reasoning")
                if type(text) is str and text:
                    out.append(Reasoning(text))
                text = delta.get("content")
                if type(text) is str and text:
                    out.append(Content(text))
                calls = delta.get("tool_calls")
                if calls:
                    n.tools.openai(calls)
            reason = choice.get("finish_reason")
            if type(reason) is str and reason:
                n.finish_reason = reason
                if n.tools:  # no fragment can follow a finish reason: every call is whole
                    out.extend(n.tools.finish_all())
    if "timings" in obj:
        out.extend(timings(obj))
    usage = obj.get("usage")
    if type(usage) is dict:
        event = usage_from(usage)
        if event is not None:
            out.append(event)
    if obj.get("error") is not None:
        out.append(error_from(obj))
    return out


def timings(obj: dict[str, Any]) -> list[Event]:
    """llama.cpp's ``timings.predicted_per_second`` → tps."""
    found = obj.get("timings")
    if isinstance(found, dict):
        tps = number(found.get("predicted_per_second"))
        if tps is not None:
            return [Tps(tps)]
    return []


# llama.cpp's stop_type, as its own OpenAI-compatible endpoint reports it (a stop word ends as "stop" too)
_LLAMACPP_REASONS = {"eos": "stop", "word": "stop", "limit": "length"}


def completion_end(n: Normalizer, obj: dict[str, Any]) -> list[Event]:
    """The last object of llama.cpp's own ``/completion`` stream (``"stop": true``, no ``[DONE]``): its
    ``stop_type`` is the finish reason, so a clean close after it is a complete reply; its counts are the
    usage and its ``timings`` the rate."""
    stop_type = obj.get("stop_type")
    n.finish_reason = _LLAMACPP_REASONS.get(stop_type, stop_type) if isinstance(stop_type, str) and stop_type else "stop"
    out = timings(obj)
    prompt, predicted = number(obj.get("tokens_evaluated")), number(obj.get("tokens_predicted"))
    if prompt is not None and predicted is not None:
        event = usage_from({"prompt_tokens": prompt, "completion_tokens": predicted})
        if event is not None:
            out.append(event)
    return out


__all__ = ["chunk", "completion_end", "timings", "token_text"]
