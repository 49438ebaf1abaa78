"""Tool calls assembled from the pieces each dialect streams them in; one event per complete call
(docs/protocols.md#rule-tool-calls).

- OpenAI: ``delta.tool_calls`` items keyed by ``index`` (several calls may interleave); the id and name
  come once, the arguments in fragments. A call is complete when the choice finishes (or the stream
  ends): only then is it known that no fragment is left.
- Anthropic: a ``tool_use`` content block (``content_block_start``), ``input_json_delta`` fragments,
  complete at its ``content_block_stop``.
- Responses: a ``function_call`` output item, ``response.function_call_arguments.delta`` fragments,
  complete at ``.done`` (which carries the whole arguments) or the item's ``output_item.done``.
- Ollama: ``message.tool_calls``, each complete, its arguments an object (serialised here).

Fragments are joined as text. A server may cut a character outside the Basic Multilingual Plane
between two fragments (each then holds half of a UTF-16 surrogate pair, escaped in its JSON string):
the joined text is put back together so the pair becomes its one character again. For that the
normaliser hands fragments over with lone surrogates intact; a half left alone becomes U+FFFD here.
"""

from __future__ import annotations

import json
from typing import Any

from ..events import ToolCall
from .strict_json import clean


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def joined(fragments: list[str]) -> str:
    """The fragments as one text, surrogate pairs split across them rejoined, lone halves U+FFFD."""
    text = "".join(fragments)
    try:
        return text.encode("utf-16", "surrogatepass").decode("utf-16")
    except UnicodeDecodeError:  # a half without its partner
        return clean(text)


def serialised(arguments: Any) -> str:
    """Arguments a server sent as an object (Ollama, whole Anthropic blocks) as JSON text."""
    if isinstance(arguments, str):
        return clean(arguments)
    return json.dumps(clean(arguments), ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=str)


class _Pending:
    __slots__ = ("id", "name", "fragments", "final", "fallback")

    def __init__(self, call_id: str, name: str) -> None:
        self.id = call_id
        self.name = name
        self.fragments: list[str] = []
        self.final: str | None = None  # the whole arguments, when the server sent them at the end
        self.fallback = ""  # what the arguments are if no fragment ever comes (a block's initial input)

    def event(self) -> ToolCall:
        if self.final is not None:
            arguments = clean(self.final)
        elif self.fragments:
            arguments = joined(self.fragments)
        else:
            arguments = self.fallback
        return ToolCall(clean(self.id), clean(self.name), arguments)


class ToolCallAssembler:
    """Pending calls in arrival order. A call is known by one key or several (a Responses item by its
    output index and its item id): ``keys`` name it however the next event will."""

    __slots__ = ("_pending", "_alias", "_fresh", "_finished")

    def __init__(self) -> None:
        self._pending: dict[Any, _Pending] = {}
        self._alias: dict[Any, Any] = {}  # every key of a pending call -> the key it is stored under
        self._fresh = 0  # for calls that must not take over an earlier call's key
        self._finished: set[Any] = set()  # the keys of calls already written (a Responses item is closed twice)

    def __bool__(self) -> bool:
        return bool(self._pending)

    def _find(self, keys: tuple[Any, ...]) -> Any:
        for key in keys:
            if key in self._alias:
                return self._alias[key]
        return None

    def start(self, keys: tuple[Any, ...], call_id: Any, name: Any, arguments: Any = "", fallback: str = "") -> None:
        """A call begins (or, when its key is known, is completed by what this piece adds)."""
        key = self._find(keys)
        if key is None:
            key = keys[0]
            self._pending[key] = _Pending(_text(call_id), _text(name))
        call = self._pending[key]
        call.id = call.id or _text(call_id)  # a repeated start only fills in what was missing
        call.name = call.name or _text(name)
        call.fallback = call.fallback or fallback
        for alias in keys:
            self._alias.setdefault(alias, key)
        if _text(arguments):
            call.fragments.append(arguments)

    def append(self, keys: tuple[Any, ...], fragment: Any) -> None:
        if self._find(keys) is None:
            self.start(keys, "", "")
        if _text(fragment):
            self._pending[self._find(keys)].fragments.append(fragment)

    def finish(self, keys: tuple[Any, ...], arguments: Any = None) -> list[ToolCall]:
        """The call is complete (``arguments``: the whole text, if the server sent it)."""
        key = self._find(keys)
        if key is None:
            return []
        call = self._pending.pop(key)
        for alias in [alias for alias, target in self._alias.items() if target == key]:
            del self._alias[alias]
            if alias[-1] is not None:
                self._finished.add(alias)
        if isinstance(arguments, str):
            call.final = arguments
        return [call.event()]

    def pending(self, keys: tuple[Any, ...]) -> bool:
        """Is a call known by one of these keys being assembled?"""
        return self._find(keys) is not None

    def finished(self, keys: tuple[Any, ...]) -> bool:
        """Was a call known by one of these keys already written?"""
        return any(key in self._finished for key in keys if key[-1] is not None)

    def finish_all(self) -> list[ToolCall]:
        """Every call still pending is complete (the choice finished, or the reply ended)."""
        calls = [call.event() for call in self._pending.values()]
        self._pending.clear()
        self._alias.clear()
        return calls

    # -- the OpenAI shape ---------------------------------------------------------------------------

    def openai(self, deltas: Any) -> None:
        """One chunk's ``delta.tool_calls`` (or a whole message's ``tool_calls``)."""
        if not isinstance(deltas, list):
            return
        for position, item in enumerate(deltas):
            if not isinstance(item, dict):
                continue
            index = item.get("index", position)
            function = item.get("function") if isinstance(item.get("function"), dict) else {}
            call_id, name = _text(item.get("id")), _text(function.get("name"))
            key = ("openai", index if isinstance(index, int) and not isinstance(index, bool) else position)
            pending = self._pending.get(self._alias.get(key))
            if pending is not None and call_id and name and pending.id and call_id != pending.id:
                # a second call under the same index (servers that number every call 0): a new call,
                # the earlier one keeps its place in the order
                self._fresh += 1
                earlier, renamed = self._alias.pop(key), ("earlier", self._fresh)
                self._pending = {renamed if k == earlier else k: v for k, v in self._pending.items()}
                self._alias[renamed] = renamed
            self.start((key,), call_id, name, function.get("arguments"))


class OllamaCalls:
    """Ollama's ``tool_calls``: each call whole, its arguments an object. A call without an id is
    numbered ``call_0``, ``call_1``, ... in the order the reply gives them."""

    __slots__ = ("_numbered",)

    def __init__(self) -> None:
        self._numbered = 0

    def events(self, calls: Any) -> list[ToolCall]:
        out = []
        for call in calls if isinstance(calls, list) else []:
            if not isinstance(call, dict):
                continue
            function = call.get("function") if isinstance(call.get("function"), dict) else {}
            call_id = _text(call.get("id"))
            if not call_id:
                call_id = f"call_{self._numbered}"
                self._numbered += 1
            out.append(ToolCall(clean(call_id), clean(_text(function.get("name"))), serialised(function.get("arguments", {}))))
        return out


__all__ = ["OllamaCalls", "ToolCallAssembler", "joined", "serialised"]
