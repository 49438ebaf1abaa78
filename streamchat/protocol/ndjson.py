"""Incremental decoder of newline-delimited JSON bodies (Ollama's native API): bytes in, lines out.

Sans-I/O like the SSE decoder: ``feed`` takes one read's bytes and returns the complete lines in it
(a line split across reads is held until its end arrives); ``close`` returns a last line the body did
not end with a newline. Lines are split on LF only (a CR before it is dropped): a JSON text never holds
a raw LF, while U+2028 and other Unicode line breaks may appear inside strings. Blank lines are skipped.
"""

from __future__ import annotations


class NDJSONDecoder:
    __slots__ = ("_pending",)

    def __init__(self) -> None:
        self._pending = b""

    def feed(self, data: bytes) -> list[bytes]:
        buf = self._pending + data if self._pending else data
        end = buf.rfind(b"\n")
        if end < 0:
            self._pending = buf
            return []
        self._pending = buf[end + 1 :]
        return [line.rstrip(b"\r") for line in buf[:end].split(b"\n") if line.strip()]

    def close(self) -> list[bytes]:
        last, self._pending = self._pending.rstrip(b"\r"), b""
        return [last] if last.strip() else []


__all__ = ["NDJSONDecoder"]
