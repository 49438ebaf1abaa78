"""JSON that a hostile server or file cannot turn into a crash, and JSON out that every parser takes.

In: ``loads`` accepts what ``json.loads`` accepts, with three guards. Nesting deeper than
``MAX_DEPTH`` is refused (``JSONTooDeep``) before the stdlib's recursive parser could overflow
the stack; numbers that are not finite (``NaN``, ``Infinity``, ``1e999``) become ``None``, so a
field that holds one reads as absent; lone surrogates (``"\\ud800"``) become U+FFFD. Duplicate
keys: the last one wins, as in both parsers underneath. orjson parses first; only what it refuses
(the cases above, huge integers, invalid JSON) takes the slow path, so the common case pays nothing.

Out: ``dumps`` writes RFC 8259 JSON: never a bare ``NaN``/``Infinity`` (such a value is left out of
its object, or ``null`` in a list) and never a lone surrogate.
"""

from __future__ import annotations

import json
import math
import re
from itertools import accumulate
from typing import Any

MAX_DEPTH = 256

try:
    from orjson import loads as fast_loads  # refuses NaN, lone surrogates and nesting over 1024
except ImportError:  # pragma: no cover - a platform without orjson wheels: everything takes the slow path

    def fast_loads(data: str | bytes) -> Any:
        raise ValueError("no fast parser")


class JSONTooDeep(ValueError):
    """Nested deeper than MAX_DEPTH."""

    def __init__(self) -> None:
        super().__init__(f"JSON nested deeper than {MAX_DEPTH} levels")


_STRINGS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_DEPTH_STEP = [0] * 256
_DEPTH_STEP[ord("[")] = _DEPTH_STEP[ord("{")] = 1
_DEPTH_STEP[ord("]")] = _DEPTH_STEP[ord("}")] = -1
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def may_be_too_deep(data: str | bytes) -> bool:
    """A quick bound: fewer than MAX_DEPTH brackets cannot nest deeper (two C-level counts)."""
    if type(data) is bytes:
        return data.count(b"[") + data.count(b"{") > MAX_DEPTH
    return data.count("[") + data.count("{") > MAX_DEPTH  # type: ignore[arg-type]


def too_deep(data: str | bytes) -> bool:
    """The real nesting depth of the brackets outside strings, without recursion."""
    if not may_be_too_deep(data):
        return False
    raw = data if type(data) is bytes else data.encode("utf-8", "surrogatepass")  # type: ignore[union-attr]
    outside = _STRINGS.sub(b"", raw)  # type: ignore[arg-type]
    return max(accumulate(map(_DEPTH_STEP.__getitem__, outside)), default=0) > MAX_DEPTH


def clean(value: Any, surrogates: bool = True) -> Any:
    """Non-finite numbers → None, lone surrogates → U+FFFD (unless ``surrogates`` is False), in keys
    and values at any depth."""
    kind = type(value)
    if kind is float:
        return value if math.isfinite(value) else None
    if kind is str:
        return _LONE_SURROGATE.sub("\ufffd", value) if surrogates and _LONE_SURROGATE.search(value) else value
    if kind is list:
        return [clean(item, surrogates) for item in value]
    if kind is dict:
        return {clean(key, surrogates): clean(item, surrogates) for key, item in value.items()}
    return value


def loads(data: str | bytes, keep_surrogates: bool = False) -> Any:
    """``json.loads`` for data from outside: guarded and cleaned (see the module's docstring).

    ``keep_surrogates`` leaves lone surrogates in strings, for a caller that joins strings first
    (tool-call arguments may cut a surrogate pair between two fragments) and cleans the result.
    Raises ``ValueError`` (``JSONTooDeep`` for nesting) for anything that is not JSON; bytes that
    are not UTF-8 raise ``UnicodeDecodeError``, a ValueError too.
    """
    if may_be_too_deep(data) and too_deep(data):  # checked first: no parser underneath ever sees deep nesting
        raise JSONTooDeep()
    try:
        return fast_loads(data)
    except ValueError:
        pass
    return clean(json.loads(data), not keep_surrogates)


def dumps(value: Any, *, ensure_ascii: bool = True) -> str:
    """``json.dumps`` that writes strict RFC 8259 JSON whatever ``value`` holds (see the docstring)."""
    try:
        text = json.dumps(value, ensure_ascii=ensure_ascii, allow_nan=False)
    except ValueError:  # a non-finite number somewhere
        return json.dumps(_finite(value), ensure_ascii=ensure_ascii)
    if ensure_ascii:
        if "\\ud" in text and _has_lone_surrogate(value):
            return json.dumps(clean(value), ensure_ascii=True)
    elif _LONE_SURROGATE.search(text):
        return json.dumps(clean(value), ensure_ascii=False)
    return text


def _has_lone_surrogate(value: Any) -> bool:
    kind = type(value)
    if kind is str:
        return _LONE_SURROGATE.search(value) is not None
    if kind is list:
        return any(_has_lone_surrogate(item) for item in value)
    if kind is dict:
        return any(_has_lone_surrogate(key) or _has_lone_surrogate(item) for key, item in value.items())
    return False


def _finite(value: Any) -> Any:
    """``clean``, but a non-finite number in an object is left out, not written as null."""
    kind = type(value)
    if kind is dict:
        return {clean(k): _finite(v) for k, v in value.items() if not (type(v) is float and not math.isfinite(v))}
    if kind is list:
        return [_finite(item) for item in value]
    return clean(value)


__all__ = ["MAX_DEPTH", "JSONTooDeep", "clean", "dumps", "fast_loads", "loads", "may_be_too_deep", "too_deep"]
