"""The OpenAI Responses API: its named stream events (docs/protocols.md#rule-responses), function-call
items (#rule-tool-calls), and the response object a non-streamed request gets (#non-streamed).

The stream has no ``[DONE]``: it ends with ``response.completed``, ``response.incomplete`` or
``response.failed`` (or an ``error`` event). Every other ``response.*`` event (``created``,
``in_progress``, ``content_part.added``, the ``.done`` events of text, ...) gives nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..events import Content, Error, Event, Reasoning
from .fields import error_from, text, usage_from

if TYPE_CHECKING:
    from .normalize import Normalizer


def _keys(obj: dict[str, Any], item: dict[str, Any] | None = None) -> tuple[Any, ...]:
    """The keys a function-call item may be named by: its output index, then its item id (servers
    differ in which of the two they repeat on the argument events)."""
    keys: list[Any] = []
    index = obj.get("output_index")
    if isinstance(index, int) and not isinstance(index, bool):
        keys.append(("responses", index))
    ident = item.get("id") if item is not None else obj.get("item_id")
    if isinstance(ident, str) and ident:
        keys.append(("responses", ident))
    return tuple(keys) or (("responses", None),)


def _content(n: Normalizer, obj: dict[str, Any]) -> list[Event]:
    found = text(obj.get("delta"))
    return [Content(found)] if found else []


def _reasoning(n: Normalizer, obj: dict[str, Any]) -> list[Event]:
    found = text(obj.get("delta"))
    return [Reasoning(found)] if found else []


def _response(obj: dict[str, Any]) -> dict[str, Any]:
    response = obj.get("response")
    return response if isinstance(response, dict) else {}


def _ending(n: Normalizer, response: dict[str, Any], reason: str | None) -> list[Event]:
    """Calls still pending, usage, done: the reply is over."""
    ended = n.end(reason)
    usage = usage_from(response.get("usage"))
    return [*ended[:-1], usage, ended[-1]] if usage is not None else ended


def _completed(n: Normalizer, obj: dict[str, Any]) -> list[Event]:
    return _ending(n, _response(obj), "stop")


def _incomplete(n: Normalizer, obj: dict[str, Any]) -> list[Event]:
    response = _response(obj)
    details = response.get("incomplete_details")
    reason = details.get("reason") if isinstance(details, dict) else None
    return _ending(n, response, reason if isinstance(reason, str) and reason else None)


def _failed(n: Normalizer, obj: dict[str, Any]) -> list[Event]:
    error = _response(obj).get("error")
    return [error_from({"error": error}) if isinstance(error, dict) else Error("the response failed")]


def _item(obj: dict[str, Any]) -> dict[str, Any] | None:
    item = obj.get("item")
    return item if isinstance(item, dict) and item.get("type") == "function_call" else None


def _item_added(n: Normalizer, obj: dict[str, Any]) -> list[Event]:
    item = _item(obj)
    if item is not None:  # call_id is what a client answers the call with; the item id is the stream's
        n.tools.start(_keys(obj, item), item.get("call_id") or item.get("id"), item.get("name"), item.get("arguments"))
    return []


def _arguments_delta(n: Normalizer, obj: dict[str, Any]) -> list[Event]:
    n.tools.append(_keys(obj), obj.get("delta"))
    return []


def _arguments_done(n: Normalizer, obj: dict[str, Any]) -> list[Event]:
    return n.tools.finish(_keys(obj), obj.get("arguments")) if n.tools else []


def _item_done(n: Normalizer, obj: dict[str, Any]) -> list[Event]:
    """The item is whole: the call it carries, unless ``arguments.done`` already wrote it (a call sent
    only here, with no ``added`` or deltas before, is written now)."""
    item = _item(obj)
    keys = _keys(obj, item) if item is not None else ()
    if item is None or n.tools.finished(keys):
        return []
    n.tools.start(keys, item.get("call_id") or item.get("id"), item.get("name"))  # fills in what was missing
    return n.tools.finish(keys, item.get("arguments"))


TYPED = {
    "response.output_text.delta": _content,
    "response.reasoning_text.delta": _reasoning,
    "response.reasoning_summary_text.delta": _reasoning,
    "response.completed": _completed,
    "response.incomplete": _incomplete,
    "response.failed": _failed,
    "response.output_item.added": _item_added,
    "response.function_call_arguments.delta": _arguments_delta,
    "response.function_call_arguments.done": _arguments_done,
    "response.output_item.done": _item_done,
}


def is_response(body: dict[str, Any]) -> bool:
    return body.get("object") == "response" and "output" in body


def _parts(item: dict[str, Any], key: str, kinds: tuple[str, ...]) -> list[str]:
    parts = item.get(key)
    found = [part.get("text") for part in parts if isinstance(part, dict) and part.get("type") in kinds] if isinstance(parts, list) else []
    return [part for part in found if isinstance(part, str) and part]


def response_object(n: Normalizer, body: dict[str, Any]) -> list[Event]:
    """A whole response: its output items in order, then usage and the end its status says."""
    out: list[Event] = []
    for position, item in enumerate(body["output"] if isinstance(body["output"], list) else []):
        if not isinstance(item, dict):
            continue
        kind = item.get("type")
        if kind == "message":
            out.extend(Content(part) for part in _parts(item, "content", ("output_text",)))
        elif kind == "reasoning":
            parts = _parts(item, "content", ("reasoning_text",)) or _parts(item, "summary", ("summary_text",))
            out.extend(Reasoning(part) for part in parts)
        elif kind == "function_call":
            keys = (("responses", position),)
            n.tools.start(keys, item.get("call_id") or item.get("id"), item.get("name"))
            out.extend(n.tools.finish(keys, text(item.get("arguments"))))
    status = body.get("status")
    if status == "failed":
        return [*out, *_failed(n, {"response": body})]
    ending = _incomplete if status == "incomplete" else _completed
    return [*out, *ending(n, {"response": body})]


__all__ = ["TYPED", "is_response", "response_object"]
