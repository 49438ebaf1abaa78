"""The OpenAI token chunk's constant text, so a token costs a string parse, not an object parse.

A server streams every token in the same object, only the content differing::

    {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,
     "delta":{"content":"<token>"},"finish_reason":null}]}

Parsing that whole object was two thirds of the time a 200,000-token stream spent per token. A
``ChunkTemplate`` is cut from one such payload already parsed: the bytes before the content's
string token (``prefix``) and after it (``suffix``). A later payload ``prefix + M + suffix`` in which
``M`` parses on its own as exactly one JSON string is, by JSON's grammar, the same object with that
content: any value may stand at a value position and leave the rest as it was. So the payload's
meaning is known from parsing ``M`` alone. The template is checked once when cut (a probe with a
different string must parse to the same object), which rules out cutting at the wrong ``"content"``
(one inside another string, or a duplicate key that JSON's last-wins rule overrides).

What a payload means does not change with this: the normaliser's tests compare it with parsing
every payload whole.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

_VALUE_START = re.compile(rb'[ \t\r\n]*:[ \t\r\n]*"')
_PROBE = "\x01probe\x02"
_PROBE_TOKEN = b'"\\u0001probe\\u0002"'


def _string_end(raw: bytes, opening: int) -> int:
    """Index of the quote closing the JSON string token that opens at ``opening``, or -1."""
    pos = opening + 1
    while True:
        pos = raw.find(b'"', pos)
        if pos < 0:
            return -1
        backslashes = 0
        while raw[pos - 1 - backslashes] == 0x5C:
            backslashes += 1
        if backslashes % 2 == 0:
            return pos
        pos += 1


class ChunkTemplate:
    """``prefix`` and ``suffix``: a payload is ``prefix + token + suffix``, ``token`` a JSON string."""

    __slots__ = ("prefix", "suffix")

    def __init__(self, prefix: bytes, suffix: bytes) -> None:
        self.prefix = prefix
        self.suffix = suffix

    @classmethod
    def cut(cls, raw: bytes, value: Any, content_of: Callable[[Any], str | None], loads: Callable[[bytes], Any]) -> ChunkTemplate | None:
        """The template of ``raw`` (already parsed to ``value``, whose content ``content_of`` finds), if it has one."""
        key = raw.rfind(b'"content"')
        if key < 0:
            return None
        found = _VALUE_START.match(raw, key + 9)
        if found is None:
            return None
        opening = found.end() - 1
        closing = _string_end(raw, opening)
        if closing < 0:
            return None
        template = cls(raw[:opening], raw[closing + 1 :])
        try:
            probe = loads(template.prefix + _PROBE_TOKEN + template.suffix)
        except ValueError:
            return None
        if content_of(probe) != _PROBE:
            return None
        probe["choices"][0]["delta"]["content"] = content_of(value)
        return template if probe == value else None
