"""Tool calls assembled from the pieces each dialect streams them in; one event per complete call.

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
the joined text is put back together so the pair becomes its one character again.
"""

from __future__ import annotations

import json
from typing import Any

from ..events import ToolCall


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def joined(fragments: list[str]) -> str:
    text = "".join(fragments)
    try:
        return text.encode("utf-16", "surrogatepass").decode("utf-16")  # pairs split across fragments, rejoined
    except UnicodeDecodeError:
        return text  # a lone half stays as it came (the renderer makes it U+FFFD)


class _Pending:
    __slots__ = ("id", "name", "fragments", "final")

    def __init__(self, call_id: str, name: str) -> None:
        self.id = call_id
        self.name = name
        self.fragments: list[str] = []
        self.final: str | None = None  # the whole arguments, when the server sent them at the end

    def event(self) -> ToolCall:
        return ToolCall(self.id, self.name, self.final if self.final is not None else joined(self.fragments))


class ToolCallAssembler:
    """Pending calls by key (OpenAI index, Anthropic block index, Responses item id), in arrival order."""

    __slots__ = ("_pending",)

    def __init__(self) -> None:
        self._pending: dict[Any, _Pending] = {}

    def __bool__(self) -> bool:
        return bool(self._pending)

    def start(self, key: Any, call_id: Any, name: Any, arguments: Any = "") -> None:
        call = self._pending.get(key)
        if call is None:
            call = self._pending[key] = _Pending(_text(call_id), _text(name))
        else:  # a repeated start only fills in what was missing
            call.id = call.id or _text(call_id)
            call.name = call.name or _text(name)
        if _text(arguments):
            call.fragments.append(arguments)

    def append(self, key: Any, fragment: Any) -> None:
        if key not in self._pending:
            self.start(key, "", "")
        if _text(fragment):
            self._pending[key].fragments.append(fragment)

    def finish(self, key: Any, arguments: Any = None) -> list[ToolCall]:
        """The call ``key`` is complete (``arguments``: the whole text, if the server sent it)."""
        call = self._pending.pop(key, None)
        if call is None:
            return []
        if isinstance(arguments, str):
            call.final = arguments
        return [call.event()]

    def finish_all(self) -> list[ToolCall]:
        """Every call still pending is complete (the choice finished, or the stream ended)."""
        calls = [call.event() for call in self._pending.values()]
        self._pending.clear()
        return calls

    # -- the OpenAI shape ---------------------------------------------------------------------------

    def openai(self, deltas: Any) -> None:
        """One chunk's ``delta.tool_calls``."""
        if not isinstance(deltas, list):
            return
        for position, item in enumerate(deltas):
            if not isinstance(item, dict):
                continue
            key = item.get("index", position)
            function = item.get("function") if isinstance(item.get("function"), dict) else {}
            self.start(key, item.get("id"), function.get("name"), function.get("arguments"))


def ollama_calls(calls: Any) -> list[ToolCall]:
    """Ollama's ``message.tool_calls``: complete, arguments an object (or, from some servers, text)."""
    out = []
    for number, call in enumerate(calls if isinstance(calls, list) else []):
        if not isinstance(call, dict):
            continue
        function = call.get("function") if isinstance(call.get("function"), dict) else {}
        arguments = function.get("arguments", {})
        text = arguments if isinstance(arguments, str) else json.dumps(arguments, ensure_ascii=False, allow_nan=False, default=str)
        out.append(ToolCall(_text(call.get("id")) or f"call_{number}", _text(function.get("name")), text))
    return out


__all__ = ["ToolCallAssembler", "joined", "ollama_calls"]
