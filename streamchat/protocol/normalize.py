"""One normaliser: an SSE message's data, or one WebSocket text frame, becomes events (SPEC §4).

The rules, in the order they are tried (numbers as in SPEC §4, §12 for Anthropic events):

1. SSE event name ``content|reasoning|tps|usage|done|error`` → that event, fields from the data.
2. data ``[DONE]`` → done.
3. an object with ``choices`` (OpenAI chunk) → content / reasoning / usage / error; the
   ``finish_reason`` is kept for the done.
4. an object with ``error`` (object or string) → error.
8. ``"object": "error"`` (older vLLM) → error; llama.cpp ``timings.predicted_per_second`` → tps.
§12 Anthropic ``message_start`` / ``content_block_delta`` / ``message_delta`` / ``message_stop`` /
   ``error``; ``ping`` and block start/stop are ignored.
5. an object with ``type`` ``chunk|content|reasoning|tps|usage|done|error``.
6. an object with a string ``content``.
7. data that is not JSON: content text in the ``query`` dialect, a protocol error anywhere else.
9. data that is not one JSON value but whose every line is: normalised line by line.
10. unknown event names and ``type`` values are ignored.
"""

from __future__ import annotations

from typing import Any

from ..errors import ProtocolError
from ..events import Content, Done, Error, Event, Reasoning, Tps, Usage
from .chunk_template import ChunkTemplate
from .strict_json import MAX_DEPTH, JSONTooDeep, loads, may_be_too_deep
from .strict_json import fast_loads as _fast_loads

NAMED_EVENTS = frozenset({"content", "reasoning", "tps", "usage", "done", "error"})
# Event names whose data is read by the data rules (Anthropic names its events after their type).
_DATA_EVENTS = frozenset(
    {
        "message",
        "message_start",
        "message_delta",
        "message_stop",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "ping",
    }
)
_OBJECT_START = ("{", b"{")
_FINITE = (float("-inf"), float("inf"))


def _loads(data: str) -> Any:
    """Server JSON, safely (``strict_json.loads``); nesting too deep is a protocol error."""
    try:
        return loads(data)
    except JSONTooDeep:
        raise ProtocolError(f"malformed stream: {_preview(data)} is nested deeper than {MAX_DEPTH} levels") from None


def _int(value: Any) -> int | None:
    """A count, or None: not a number, or not finite (values from ``strict_json`` never are; others may be)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or value in _FINITE:
        return None
    return int(value)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or value in _FINITE:
        return None
    return value


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _token_text(value: Any) -> str | None:
    """The content of the OpenAI chunk nearly every token arrives in, or None if ``value`` is not one.

    That chunk: one choice at index 0, no finish reason, a delta without reasoning, and no usage,
    error or timings beside it. For it, rule 3 gives exactly one content event (none for "").
    """
    if type(value) is dict and "usage" not in value and "error" not in value and "timings" not in value:
        choices = value.get("choices")
        if type(choices) is list and len(choices) == 1:
            choice = choices[0]
            if type(choice) is dict and choice.get("finish_reason") is None and choice.get("index", 0) == 0:
                delta = choice.get("delta")
                if type(delta) is dict and "reasoning_content" not in delta and "reasoning" not in delta:
                    text = delta.get("content")
                    if type(text) is str:
                        return text
    return None


def error_from(obj: Any) -> Error:
    """An error event from any of the error shapes servers send (SPEC §4 rules 4 and 8, §12)."""
    if isinstance(obj, str):
        return Error(obj or "unknown error")
    if not isinstance(obj, dict):
        return Error("unknown error")
    inner = obj.get("error", obj)
    if isinstance(inner, str):
        return Error(inner or "unknown error", _code(obj.get("code")))
    if not isinstance(inner, dict):
        inner = obj
    message = inner.get("message")
    if not isinstance(message, str) or not message:
        message = obj.get("message") if isinstance(obj.get("message"), str) else None
    if not message:
        detail = inner.get("detail") or inner.get("type")
        message = detail if isinstance(detail, str) and detail else "unknown error"
    code = _code(inner.get("code"))
    if code is None:
        code = _code(obj.get("code")) if inner is not obj else None
    if code is None and inner is not obj and obj.get("type") == "error" and isinstance(inner.get("type"), str):
        code = inner["type"]  # Anthropic: {"type": "error", "error": {"type", "message"}}
    return Error(message, code)


def _code(value: Any) -> str | int | float | None:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)) or value != value or value in _FINITE:
        return None
    return value


def usage_from(obj: Any, input_default: int | None = None, cached_default: int | None = None) -> Usage | None:
    """A usage event from OpenAI (prompt/completion), our own or Anthropic (input/output) names."""
    if not isinstance(obj, dict):
        return None
    inp = _int(obj.get("input_tokens"))
    if inp is None:
        inp = _int(obj.get("prompt_tokens"))
    if inp is None:
        inp = input_default
    out = _int(obj.get("output_tokens"))
    if out is None:
        out = _int(obj.get("completion_tokens"))
    reasoning = _int(obj.get("reasoning_tokens"))
    if reasoning is None:
        for key in ("completion_tokens_details", "output_tokens_details"):
            details = obj.get(key)
            if isinstance(details, dict) and reasoning is None:
                reasoning = _int(details.get("reasoning_tokens"))
    cached = _int(obj.get("cached_tokens"))
    if cached is None:
        for key in ("prompt_tokens_details", "input_tokens_details"):
            details = obj.get(key)
            if isinstance(details, dict) and cached is None:
                cached = _int(details.get("cached_tokens"))
    if cached is None:
        cached = _int(obj.get("prompt_cache_hit_tokens"))  # DeepSeek
    if cached is None:
        cached = _int(obj.get("cache_read_input_tokens"))  # Anthropic
    if cached is None:
        cached = cached_default
    return Usage(inp or 0, out or 0, _int(obj.get("total_tokens")), reasoning, cached)


class Normalizer:
    """Turns decoded messages into events; keeps the little state a stream needs.

    ``dialect`` matters for one rule only: in ``query``, data that is not JSON is content text.
    """

    __slots__ = ("dialect", "finish_reason", "_input_tokens", "_cached_tokens", "_template", "_cut_in")

    def __init__(self, dialect: str = "streamchat") -> None:
        self.dialect = dialect
        self.finish_reason: str | None = None
        self._input_tokens: int | None = None  # from Anthropic's message_start
        self._cached_tokens: int | None = None
        self._template: ChunkTemplate | None = None  # the token chunk's constant text (data_batch)
        self._cut_in = 0

    # -- entry points -------------------------------------------------------------------------

    def sse(self, event: str, data: str) -> list[Event]:
        """Events from one SSE message (its event name and data)."""
        if event == "message" or event in _DATA_EVENTS:
            return self.data(data)
        if event in NAMED_EVENTS:
            return self._named(event, data)
        return []  # rule 10

    def sse_batch(self, messages: list[Any]) -> tuple[list[Event], bool]:
        """Events from the SSE messages of one network read, up to and including a terminal event
        (error or done; True then). A ProtocolError carries the events before it as ``partial``."""
        if all(message[0] == "message" for message in messages):
            return self.data_batch([message[1] for message in messages])
        out: list[Event] = []
        for message in messages:
            try:
                events = self.sse(message[0], message[1])
            except ProtocolError as exc:
                exc.partial = out  # type: ignore[attr-defined]
                raise
            for item in events:
                out.append(item)
                if item.type == "error" or item.type == "done":
                    return out, True
        return out, False

    def data_batch(self, payloads: list[bytes] | list[str]) -> tuple[list[Event], bool]:
        """``sse_batch`` for unnamed events given by their data (``SSEDecoder.feed_batch``'s payloads,
        raw bytes decoded here as the decoder would, or str).

        The per-token hot path: the OpenAI chunk nearly every token arrives in (see ``_token_text``)
        is read inline; once one is seen, later ones with the same text around the content cost a
        string parse (``ChunkTemplate``). Every other payload goes through ``data``.
        """
        out: list[Event] = []
        append = out.append
        fast = _fast_loads
        on_bytes = bool(payloads) and type(payloads[0]) is bytes  # all bytes or all str
        prefix, suffix, start, fixed = self._template_parts() if on_bytes else (None, b"", 0, 0)
        fits = False
        for raw in payloads:
            if prefix is not None and raw.startswith(prefix) and raw.endswith(suffix) and len(raw) > fixed:  # type: ignore[arg-type]
                try:
                    text = fast(raw[start : len(raw) - fixed + start])
                except (ValueError, StopIteration):
                    text = None
                if type(text) is str:
                    if text:
                        append(Content(text))
                    fits = True
                    continue
            if raw[:1] in _OBJECT_START and not may_be_too_deep(raw):  # (deep or odd JSON: the careful path below)
                try:
                    value = fast(raw)
                except (ValueError, StopIteration):
                    value = None
                text = _token_text(value)
                if text is not None:
                    if text:
                        append(Content(text))
                    if on_bytes and self._learn(raw, value, fits):  # type: ignore[arg-type]
                        prefix, suffix, start, fixed = self._template_parts()
                    fits = False
                    continue
            try:
                events = self.data(raw if type(raw) is str else raw.decode("utf-8", "replace"))
            except ProtocolError as exc:
                exc.partial = out  # type: ignore[attr-defined]
                raise
            for item in events:
                append(item)
                if item.type == "error" or item.type == "done":
                    return out, True
        if fits:
            self._cut_in = 0
        return out, False

    def _template_parts(self) -> tuple[bytes | None, bytes, int, int]:
        template = self._template
        if template is None:
            return None, b"", 0, 0
        # matched with the token's opening quote: the fast parser is only ever given a string there
        # (never, say, deep nesting), at no cost per token
        prefix = template.prefix + b'"'
        return prefix, template.suffix, len(template.prefix), len(template.prefix) + len(template.suffix)

    def _learn(self, raw: bytes, value: Any, fitted: bool) -> bool:
        """A token chunk the template did not fit: cut a new template from it now if the template had
        been fitting (``created`` changed, say), else every 64th time (for servers whose chunks all
        differ). True when the template changed."""
        if fitted:
            self._cut_in = 0
        if self._cut_in > 0:
            self._cut_in -= 1
            return False
        self._template = ChunkTemplate.cut(raw, value, _token_text, _fast_loads)
        self._cut_in = 64
        return True

    def data(self, data: str) -> list[Event]:
        """Events from one SSE data payload or one WebSocket text frame."""
        if data == "[DONE]":
            return [Done(self.finish_reason)]
        try:
            if may_be_too_deep(data):
                raise ValueError("deep: the careful path")
            value = _fast_loads(data)  # _loads inlined: this runs once per token
        except (ValueError, StopIteration):
            try:
                value = _loads(data)
            except ValueError:
                return self._not_json(data)
        if type(value) is dict:
            if "choices" in value:
                return self._openai(value)
            return self.obj(value)
        if self.dialect == "query":
            return [Content(data)] if data else []
        return []

    def obj(self, obj: dict[str, Any]) -> list[Event]:
        """Events from one decoded JSON object (rules 3–6, 8, §12)."""
        if "choices" in obj:
            return self._openai(obj)
        if "error" in obj and obj["error"] is not None:
            return [error_from(obj)]
        if obj.get("object") == "error":
            return [error_from(obj)]
        kind = obj.get("type")
        if isinstance(kind, str):
            return self._typed(kind, obj)
        content = obj.get("content")
        if isinstance(content, str):
            return [Content(content)] if content else []
        if "timings" in obj:
            return self._timings(obj)
        return []

    def end_of_stream(self) -> Done | None:
        """A clean close with no done: success only after a finish reason (SPEC §4)."""
        return Done(self.finish_reason) if self.finish_reason is not None else None

    # -- rules --------------------------------------------------------------------------------

    def _not_json(self, data: str) -> list[Event]:
        if "\n" in data:  # rule 9: the blank lines between events were left out
            try:
                values = [_loads(line) for line in data.split("\n") if line.strip()]
            except ValueError:
                values = None
            if values is not None:
                out: list[Event] = []
                for value in values:
                    if isinstance(value, dict):
                        out.extend(self.obj(value))
                        if out and isinstance(out[-1], (Error, Done)):
                            break
                return out
        if self.dialect == "query":
            return [Content(data)] if data else []
        raise ProtocolError(f"malformed stream: event data is not JSON: {_preview(data)}")

    def _named(self, event: str, data: str) -> list[Event]:
        try:
            value: Any = _loads(data) if data else {}
        except ValueError:
            if event == "error":
                return [error_from(data)]
            if event == "done":
                return [Done(self.finish_reason)]
            raise ProtocolError(f"malformed stream: {event} data is not JSON: {_preview(data)}") from None
        if event == "done":
            reason = value.get("finish_reason") if isinstance(value, dict) else None
            if isinstance(reason, str):
                self.finish_reason = reason
            return [Done(self.finish_reason)]
        if event == "error":
            return [error_from(value)]
        if event == "content" or event == "reasoning":
            if isinstance(value, dict):
                value = value.get("text")
            if not isinstance(value, str) or not value:
                return []
            return [Content(value) if event == "content" else Reasoning(value)]
        if event == "tps":
            tps = _number(value.get("tps")) if isinstance(value, dict) else _number(value)
            return [Tps(tps)] if tps is not None else []
        usage = usage_from(value)
        return [usage] if usage is not None else []

    def _openai(self, obj: dict[str, Any]) -> list[Event]:
        # The per-token hot path: exact type checks, one lookup per key.
        choices = obj.get("choices")
        out: list[Event] = []
        if type(choices) is list:
            for choice in choices:
                if type(choice) is not dict or choice.get("index", 0) != 0:
                    continue
                delta = choice.get("delta")
                if type(delta) is not dict:
                    delta = choice.get("message")  # a non-streamed answer's shape
                if type(delta) is dict and delta:
                    text = delta.get("reasoning_content")
                    if type(text) is not str:
                        text = delta.get("reasoning")
                    if type(text) is str and text:
                        out.append(Reasoning(text))
                    text = delta.get("content")
                    if type(text) is str and text:
                        out.append(Content(text))
                reason = choice.get("finish_reason")
                if type(reason) is str and reason:
                    self.finish_reason = reason
        if "timings" in obj:
            out.extend(self._timings(obj))
        usage = obj.get("usage")
        if type(usage) is dict:
            event = usage_from(usage)
            if event is not None:
                out.append(event)
        if obj.get("error") is not None:
            out.append(error_from(obj))
        return out

    def _timings(self, obj: dict[str, Any]) -> list[Event]:
        timings = obj.get("timings")
        if isinstance(timings, dict):
            tps = _number(timings.get("predicted_per_second"))
            if tps is not None:
                return [Tps(tps)]
        return []

    def _typed(self, kind: str, obj: dict[str, Any]) -> list[Event]:
        if kind == "chunk" or kind == "content":
            text = _text(obj.get("text"))
            if not text and kind == "content":
                text = _text(obj.get("content"))
            return [Content(text)] if text else []
        if kind == "content_block_delta":
            return self._anthropic_delta(obj.get("delta"))
        if kind == "reasoning":
            text = _text(obj.get("text"))
            return [Reasoning(text)] if text else []
        if kind == "done":
            reason = obj.get("finish_reason")
            if isinstance(reason, str):
                self.finish_reason = reason
            return [Done(self.finish_reason)]
        if kind == "error":
            return [error_from(obj)]
        if kind == "tps":
            tps = _number(obj.get("tps"))
            return [Tps(tps)] if tps is not None else []
        if kind == "usage":
            usage = usage_from(obj.get("usage") if isinstance(obj.get("usage"), dict) else obj)
            return [usage] if usage is not None else []
        if kind == "message_start":
            message = obj.get("message")
            usage = message.get("usage") if isinstance(message, dict) else None
            if isinstance(usage, dict):
                self._input_tokens = _int(usage.get("input_tokens"))
                self._cached_tokens = _int(usage.get("cache_read_input_tokens"))
            return []
        if kind == "message_delta":
            delta = obj.get("delta")
            if isinstance(delta, dict) and isinstance(delta.get("stop_reason"), str):
                self.finish_reason = delta["stop_reason"]
            usage = obj.get("usage")
            if isinstance(usage, dict):
                event = usage_from(usage, self._input_tokens, self._cached_tokens)
                return [event] if event is not None else []
            return []
        if kind == "message_stop":
            return [Done(self.finish_reason)]
        return []  # ping, content_block_start/stop and unknown types (rule 10)

    @staticmethod
    def _anthropic_delta(delta: Any) -> list[Event]:
        if not isinstance(delta, dict):
            return []
        kind = delta.get("type")
        if kind == "text_delta":
            text = _text(delta.get("text"))
            return [Content(text)] if text else []
        if kind == "thinking_delta":
            text = _text(delta.get("thinking"))
            return [Reasoning(text)] if text else []
        return []


def _preview(data: str, limit: int = 60) -> str:
    text = data if len(data) <= limit else data[:limit] + "…"
    return repr(text)


def complete_answer(body: Any, dialect: str = "streamchat") -> list[Event]:
    """Events from a ``200 application/json`` reply to a streaming request (a non-streamed answer)."""
    normalizer = Normalizer(dialect)
    if not isinstance(body, dict):
        raise ProtocolError("malformed reply: the JSON body is not an object")
    if body.get("type") == "message" and isinstance(body.get("content"), list):
        events = _anthropic_message(body)
    else:
        events = normalizer.obj(body)
    if any(isinstance(e, (Error, Done)) for e in events):
        return events
    reason = normalizer.finish_reason
    if reason is None and isinstance(body.get("stop_reason"), str):
        reason = body["stop_reason"]
    return [*events, Done(reason if reason is not None else "stop")]


def _anthropic_message(body: dict[str, Any]) -> list[Event]:
    out: list[Event] = []
    for block in body.get("content", []):
        if isinstance(block, dict):
            if block.get("type") == "thinking" and _text(block.get("thinking")):
                out.append(Reasoning(block["thinking"]))
            elif block.get("type") == "text" and _text(block.get("text")):
                out.append(Content(block["text"]))
    usage = usage_from(body.get("usage"))
    if usage is not None:
        out.append(usage)
    return out
