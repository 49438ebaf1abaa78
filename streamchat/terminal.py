"""Neutralising what a server sends before it reaches a terminal (SPEC §3).

A hostile server must not drive the user's terminal: C0 controls (but newline and tab), DEL and
C1 controls become visible text, so ``ESC [ 2 J`` prints as ``^[[2J`` instead of clearing the screen.
"""

from __future__ import annotations

import re

_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return "^" + chr(code + 0x40)
    if code == 0x7F:
        return "^?"
    return f"\\x{code:02x}"


def neutralize(text: str) -> str:
    """Visible stand-ins for every control character but ``\\n`` and ``\\t``."""
    return _CONTROL.sub(_visible, text)


def one_line(text: str) -> str:
    """For messages on stderr: no control characters and no line breaks."""
    return neutralize(text.replace("\r\n", " ").replace("\n", " ").replace("\t", " "))
