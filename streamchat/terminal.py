"""Neutralising what a server sends before it reaches a terminal.

A hostile server must not drive the user's terminal: C0 controls (but newline and tab), DEL and
C1 controls become visible text, so ``ESC [ 2 J`` prints as ``^[[2J`` instead of clearing the
screen and an OSC 52 sequence cannot write the clipboard. The bidirectional overrides and isolates
(U+202A–U+202E, U+2066–U+2069), which reorder how the rest of a line is shown, print as
``<U+202E>``.
"""

from __future__ import annotations

import re

_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# What ends a line somewhere: a notice must stay one line whatever the server's message holds.
_LINE_BREAKS = re.compile("[\r\n\t\x0b\x0c\x1c-\x1e\x85\u2028\u2029]+")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return "^" + chr(code + 0x40)
    if code == 0x7F:
        return "^?"
    if code <= 0x9F:
        return f"\\x{code:02x}"
    return f"<U+{code:04X}>"


def neutralize(text: str) -> str:
    """Visible stand-ins for every control character but ``\\n`` and ``\\t``, and for bidi overrides."""
    return _CONTROL.sub(_visible, text)


def one_line(text: str) -> str:
    """For messages on stderr: no control characters, no bidi overrides, no line breaks."""
    return neutralize(_LINE_BREAKS.sub(" ", text).strip())
