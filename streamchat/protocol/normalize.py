"""One normaliser: an SSE message's data, one WebSocket text frame, or one NDJSON line becomes events.

The rules and the order they are tried in are docs/protocols.md#normalisation and #rule-order; this
module dispatches, the rules of each protocol family live beside it:

- here: the streamchat dialect's named events (#rule-named-events), ``[DONE]`` (#rule-done-marker),
  a string ``content`` (#rule-string-content), data that is not JSON (#rule-plain-text,
  #rule-missing-blank-lines), unknown names and types (#rule-unknown-ignored);
- ``rules_typed``: typed objects (``{"type": "chunk"}`` and the like) (#rule-typed-objects);
- ``rules_openai``: chunks with ``choices``, llama.cpp timings;
- ``rules_anthropic``, ``rules_responses``: their named events (the data's ``type`` decides);
- ``rules_ollama``: NDJSON lines (and the same objects wherever they arrive);
- ``fields``: error objects and usage in every server's names; ``tool_calls``: calls from their pieces.

The rules apply whatever the dialect: a proxy that mixes shapes is still understood. The dialect
changes one thing: in ``query``, data that is not JSON is text.
"""

from __future__ import annotations

from typing import Any

from ..errors import ProtocolError
from ..events import Content, Done, Error, Event, Reasoning, Tps
from . import rules_anthropic, rules_ollama, rules_responses, rules_typed
from .chunk_template import ChunkTemplate
from .fields import error_from, json_value, number, preview, usage_from
from .rules_openai import chunk, completion_end, timings
from .rules_openai import token_text as _token_text
from .strict_json import clean, may_be_too_deep
from .strict_json import fast_loads as _fast_loads
from .tool_calls import OllamaCalls, ToolCallAssembler

NAMED_EVENTS = frozenset({"content", "reasoning", "tps", "usage", "done", "error"})
_OBJECT_START = ("{", b"{")
_TERMINAL = ("error", "done")
_TEXT_DELTA = "response.output_text.delta"


def data_event(name: str) -> bool:
    """Whether an SSE event of this name is read by the data rules: unnamed, or named after its data's
    type by Anthropic or the Responses API."""
    return name == "message" or name in rules_anthropic.EVENT_NAMES or name.startswith("response.")


class Normalizer:
    """Turns decoded messages into events; keeps the little state a stream needs (the finish reason,
    Anthropic's input counts, tool calls being assembled, the token chunk's template).

    ``dialect`` matters for one rule only: in ``query``, data that is not JSON is content text.
    """

    __slots__ = ("dialect", "finish_reason", "input_tokens", "cached_tokens", "tools", "ollama_calls", "_template", "_cut_in")

    def __init__(self, dialect: str = "streamchat") -> None:
        self.dialect = dialect
        self.finish_reason: str | None = None
        self.input_tokens: int | None = None  # from Anthropic's message_start
        self.cached_tokens: int | None = None
        self.tools = ToolCallAssembler()
        self.ollama_calls = OllamaCalls()
        self._template: ChunkTemplate | None = None  # the token chunk's constant text (data_batch)
        self._cut_in = 0

    def end(self, reason: str | None = None) -> list[Event]:
        """The reply is done (with ``reason``, or the one kept): tool calls still pending, then done."""
        if reason is not None:
            self.finish_reason = reason
        done = Done(self.finish_reason)
        return [*self.tools.finish_all(), done] if self.tools else [done]

    # -- entry points -------------------------------------------------------------------------

    def sse(self, event: str, data: str) -> list[Event]:
        """Events from one SSE message (its event name and data)."""
        if data_event(event):
            return self.data(data)
        if event in NAMED_EVENTS:
            return self._named(event, data)
        return []  # an unknown name: its data is not even looked at

    def sse_batch(self, messages: list[Any]) -> tuple[list[Event], bool]:
        """Events from the SSE messages of one network read, up to and including a terminal event
        (error or done; True then). A ProtocolError carries the events before it as ``partial``."""
        if all(message[0] == "message" for message in messages):
            return self.data_batch([message[1] for message in messages])
        out: list[Event] = []
        append = out.append
        fast = _fast_loads
        for message in messages:
            if message[0] == _TEXT_DELTA and not may_be_too_deep(message[1]):
                # the Responses API's per-token event, read inline: what the data rules give for it
                try:
                    value = fast(message[1])
                except (ValueError, StopIteration):
                    value = None
                if (
                    type(value) is dict
                    and value.get("type") == _TEXT_DELTA
                    and "choices" not in value
                    and "error" not in value
                    and "object" not in value
                ):
                    found = value.get("delta")
                    if type(found) is str:
                        if found:
                            append(Content(found))
                        continue
            try:
                events = self.sse(message[0], message[1])
            except ProtocolError as exc:
                exc.partial = out
                raise
            if _until_end(out, events):
                return out, True
        return out, False

    def data_batch(self, payloads: list[bytes] | list[str]) -> tuple[list[Event], bool]:
        """``sse_batch`` for unnamed events given by their data (``SSEDecoder.feed_batch``'s payloads,
        raw bytes decoded here as the decoder would, or str).

        The per-token hot path: the OpenAI chunk nearly every token arrives in (``token_text``) is
        read inline; once one is seen, later ones with the same text around the content cost a
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
                    found = fast(raw[start : len(raw) - fixed + start])
                except (ValueError, StopIteration):
                    found = None
                if type(found) is str:
                    if found:
                        append(Content(found))
                    fits = True
                    continue
            if raw[:1] in _OBJECT_START and not may_be_too_deep(raw):  # (deep or odd JSON: the careful path below)
                try:
                    value = fast(raw)
                except (ValueError, StopIteration):
                    value = None
                found = _token_text(value)
                if found is not None:
                    if found:
                        append(Content(found))
                    if on_bytes and self._learn(raw, value, fits):  # type: ignore[arg-type]
                        prefix, suffix, start, fixed = self._template_parts()
                    fits = False
                    continue
            try:
                events = self.data(raw if type(raw) is str else raw.decode("utf-8", "replace"))
            except ProtocolError as exc:
                exc.partial = out
                raise
            if _until_end(out, events):
                return out, True
        if fits:
            self._cut_in = 0
        return out, False

    def lines_batch(self, lines: list[bytes]) -> tuple[list[Event], bool]:
        """``sse_batch`` for the lines of an NDJSON body (``NDJSONDecoder.feed``'s lines).

        The per-token path of Ollama: a line whose ``message`` holds only text is read inline."""
        out: list[Event] = []
        append = out.append
        fast = _fast_loads
        for raw in lines:
            try:
                if may_be_too_deep(raw):
                    raise ValueError("deep: the careful path")
                value = fast(raw)
            except (ValueError, StopIteration):
                try:
                    events = self.line(raw.decode("utf-8", "replace"))
                except ProtocolError as exc:
                    exc.partial = out
                    raise
            else:
                if type(value) is dict and value.get("done") is False and "error" not in value:
                    message = value.get("message")
                    # role and content, and nothing else: a token (a message without a role may hold
                    # thinking or tool calls beside its content, which the rule below reads)
                    if type(message) is dict and (len(message) == 1 or (len(message) == 2 and "role" in message)):
                        found = message.get("content")
                        if type(found) is str:
                            if found:
                                append(Content(found))
                            continue
                events = self._line(value)
            if _until_end(out, events):
                return out, True
        return out, False

    def line(self, data: str) -> list[Event]:
        """Events from one NDJSON line: Ollama's rule first, then the same rules as any data."""
        try:
            value = json_value(data)
        except ValueError:
            raise ProtocolError(f"malformed stream: a line is not JSON: {preview(data)}") from None
        return self._line(value)

    def _line(self, value: Any) -> list[Event]:
        if type(value) is not dict:
            return []  # a JSON value that is not an object: nothing, as anywhere else
        if value.get("error") is None and rules_ollama.is_line(value):
            return rules_ollama.line(self, value)
        return self.obj(value)

    def data(self, data: str) -> list[Event]:
        """Events from one SSE data payload or one WebSocket text frame."""
        if data == "[DONE]":
            return self.end()
        careful = False
        try:
            if may_be_too_deep(data):
                raise ValueError("deep: the careful path")
            value = _fast_loads(data)  # json_value inlined: this runs once per token
        except (ValueError, StopIteration):
            try:
                # lone surrogates kept: a tool call's arguments may cut a pair between two chunks
                value = json_value(data, keep_surrogates=True)
            except ValueError:
                return self._not_json(data)
            careful = True
        if type(value) is dict:
            events = chunk(self, value) if "choices" in value else self.obj(value)
            return _cleaned(events) if careful else events
        if self.dialect == "query":
            return [Content(data)] if data else []
        return []

    def obj(self, obj: dict[str, Any]) -> list[Event]:
        """Events from one decoded JSON object (in the order of docs/protocols.md#rule-order)."""
        if "choices" in obj:
            return chunk(self, obj)
        if "error" in obj and obj["error"] is not None:
            return [error_from(obj)]
        if obj.get("object") == "error":
            return [error_from(obj)]
        kind = obj.get("type")
        if isinstance(kind, str):
            rule = _TYPED.get(kind)
            return rule(self, obj) if rule is not None else []  # an unknown type is ignored
        content = obj.get("content")
        if isinstance(content, str):
            events: list[Event] = [Content(content)] if content else []
            if obj.get("stop") is True:  # llama.cpp's /completion: its last object
                events += completion_end(self, obj)
            elif "timings" in obj:
                events += timings(obj)
            return events
        if "timings" in obj:
            return timings(obj)
        if rules_ollama.is_line(obj):
            return rules_ollama.line(self, obj)
        return []

    def end_of_stream(self) -> Done | None:
        """A clean close with no done: success only after a finish reason (docs/protocols.md#end-of-stream)."""
        return Done(self.finish_reason) if self.finish_reason is not None else None

    # -- the token chunk's template ---------------------------------------------------------------

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

    # -- the rules of this module -------------------------------------------------------------------

    def _not_json(self, data: str) -> list[Event]:
        if "\n" in data:  # the blank lines between events were left out: one message a line
            try:
                values = [json_value(line) for line in data.split("\n") if line.strip()]
            except ValueError:
                values = None
            if values is not None:
                out: list[Event] = []
                for value in values:
                    if isinstance(value, dict) and _until_end(out, self.obj(value)):
                        break
                return out
        if self.dialect == "query":
            return [Content(data)] if data else []
        if not data.strip():
            # a bare `data:` line: a message with nothing in it, which proxies and gateways send to keep
            # an idle connection open (as two such lines in one message already gave nothing, above)
            return []
        raise ProtocolError(f"malformed stream: event data is not JSON: {preview(data)}")

    def _named(self, event: str, data: str) -> list[Event]:
        try:
            value: Any = json_value(data) if data else {}
        except ValueError:
            if event == "error":
                return [error_from(data)]
            if event == "done":
                return self.end()
            raise ProtocolError(f"malformed stream: {event} data is not JSON: {preview(data)}") from None
        if event == "done":
            reason = value.get("finish_reason") if isinstance(value, dict) else None
            return self.end(reason if isinstance(reason, str) else None)
        if event == "error":
            return [error_from(value)]
        if event == "content" or event == "reasoning":
            if isinstance(value, dict):
                value = value.get("text")
            if not isinstance(value, str) or not value:
                return []
            return [Content(value) if event == "content" else Reasoning(value)]
        if event == "tps":
            tps = number(value.get("tps")) if isinstance(value, dict) else number(value)
            return [Tps(tps)] if tps is not None else []
        usage = usage_from(value)
        return [usage] if usage is not None else []


def _until_end(out: list[Event], events: list[Event]) -> bool:
    """``events`` appended to ``out`` up to and including a terminal one: True if there was one
    (nothing after an error or a done is read: docs/protocols.md#rule-error-ends-reply)."""
    for item in events:
        out.append(item)
        if item.type in _TERMINAL:
            return True
    return False


def _cleaned(events: list[Event]) -> list[Event]:
    """Events of data parsed with lone surrogates kept: each becomes U+FFFD in what is written now
    (a tool call's fragments keep theirs until the call is whole)."""
    out: list[Event] = []
    for event in events:
        if isinstance(event, (Content, Reasoning)):
            event = type(event)(clean(event.text))
        elif isinstance(event, Error):
            event = Error(clean(event.message), clean(event.code))
        elif isinstance(event, Done) and event.finish_reason is not None:
            event = Done(clean(event.finish_reason))
        out.append(event)
    return out


_TYPED = {
    **rules_typed.TYPED,
    **rules_anthropic.TYPED,
    **rules_responses.TYPED,
}


def complete_answer(body: Any, dialect: str = "streamchat") -> list[Event]:
    """Events from a ``200 application/json`` reply to a streaming request (a non-streamed answer,
    docs/protocols.md#non-streamed): the answer's events, then done (``stop`` when it gave no reason)."""
    normalizer = Normalizer(dialect)
    if not isinstance(body, dict):
        raise ProtocolError("malformed reply: the JSON body is not an object")
    if rules_anthropic.is_message(body):
        events = rules_anthropic.message(normalizer, body)
    elif rules_responses.is_response(body):
        events = rules_responses.response_object(normalizer, body)
    else:
        events = normalizer.obj(body)
    if any(event.type in _TERMINAL for event in events):
        return events
    reason = normalizer.finish_reason
    if reason is None and isinstance(body.get("stop_reason"), str):
        reason = body["stop_reason"]
    if not events and reason is None:  # no text, no usage, no call, no reason: some other JSON (a model list)
        raise ProtocolError("malformed reply: the application/json body is no chat answer")
    return [*events, *normalizer.end(reason if reason is not None else "stop")]


__all__ = ["NAMED_EVENTS", "Normalizer", "complete_answer", "data_event", "error_from", "usage_from"]
