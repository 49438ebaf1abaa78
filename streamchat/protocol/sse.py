"""Incremental ``text/event-stream`` decoder, exactly as the WHATWG HTML standard's algorithm.

https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation

It works on bytes: line ends are ASCII, so lines are split before any UTF-8 decoding and a
multi-byte character split across reads is never a problem; each field value is decoded once
(invalid sequences become U+FFFD, as the standard's UTF-8 decode does).

One addition: an ``error:`` field line, which the standard ignores, is an ``error`` event of its own
(llama.cpp's server reports a failure mid-stream that way).
"""

from __future__ import annotations

from typing import NamedTuple

_BOM = b"\xef\xbb\xbf"


class SSEMessage(NamedTuple):
    """One dispatched event: ``event`` is ``"message"`` when the stream named none."""

    event: str
    data: str
    id: str = ""
    retry: int | None = None


class SSEDecoder:
    """``feed(bytes) -> list[SSEMessage]``; ``close()`` at EOF discards an unterminated event."""

    __slots__ = ("_pending", "_after_cr", "_bom_checked", "_data", "_event", "_last_id", "_retry")

    def __init__(self) -> None:
        self._pending = b""  # bytes of an incomplete line (after CR/CRLF were turned into LF)
        self._after_cr = False  # the previous chunk ended in CR: a leading LF belongs to it
        self._bom_checked = False
        self._data: list[bytes] = []
        self._event = b""
        self._last_id = ""  # persists across events, as the standard says
        self._retry: int | None = None

    def feed(self, chunk: bytes) -> list[SSEMessage]:
        lines = self._complete_lines(chunk)
        return self._lines(lines[:-1].split(b"\n")) if lines else []

    def feed_batch(self, chunk: bytes) -> tuple[list[bytes], list[SSEMessage]]:
        """``feed``, split in two for the hot path: ``(payloads, messages)``.

        When every event completed by this chunk is plain (one ``data: `` line, no event name, no
        other field or comment: what OpenAI-compatible servers send for every token), ``payloads``
        holds their data as raw bytes, found with a few C-level counts and one split instead of a
        Python loop over lines. ``messages`` are the events ``feed`` gives for the rest (all of them
        when the chunk is not all plain). Together, in order, they are exactly ``feed``'s events: a
        payload stands for ``SSEMessage("message", payload.decode("utf-8", "replace"))`` with the
        decoder's ``id`` and ``retry``, which a plain event leaves as they were. A read of events that
        are each one ``event:`` and one ``data:`` line is split the same way, into ``messages``.
        """
        lines = self._complete_lines(chunk)
        if not lines:
            return [], []
        payloads: list[bytes] = []
        if lines[:7] == b"event: " and not self._data and not self._event:
            end = lines.rfind(b"\n\n") + 2
            named = self._named_events(lines[:end]) if end > 2 else None
            if named is not None:
                # The lines of an event the next read completes wait with the incomplete line (already
                # LF-ended), unread: the next read then starts at an event again and can take this path.
                # Reading them later changes nothing: their only effect is on that event.
                self._pending = lines[end:] + self._pending
                return [], named
        if lines[:6] == b"data: " and not self._data and not self._event:
            end = lines.rfind(b"\n\n") + 2
            if end > 2:
                block = lines[:end]
                events = block.count(b"\n\ndata: ") + 1
                # Each event accounts for exactly two LFs (its line end and the blank line): any other
                # line (a comment, a field, a second data line) makes the count come out higher.
                if block.count(b"\n") == 2 * events:
                    payloads = block[6:-2].split(b"\n\ndata: ")
                    lines = lines[end:]
        return payloads, (self._lines(lines[:-1].split(b"\n")) if lines else [])

    def _named_events(self, block: bytes) -> list[SSEMessage] | None:
        """The events of ``block`` (whole events, ending with a blank line) when every one is
        ``event: NAME`` and one ``data: `` line (what the Responses API and Anthropic send for every
        token), split with C-level calls instead of the loop over lines; None when any is not."""
        last_id, retry = self._last_id, self._retry
        out: list[SSEMessage] = []
        for event in block[7:-2].split(b"\n\nevent: "):
            name, found, data = event.partition(b"\ndata: ")
            if not found or b"\n" in name or b"\n" in data:
                return None
            out.append(_message((name.decode("utf-8", "replace") if name else "message", data.decode("utf-8", "replace"), last_id, retry)))
        return out

    def _complete_lines(self, chunk: bytes) -> bytes:
        """The whole lines the stream now holds, LF-terminated (b"" if none); keeps the rest pending."""
        if not chunk:
            return b""
        if self._after_cr:
            self._after_cr = False
            if chunk[:1] == b"\n":
                chunk = chunk[1:]
        if b"\r" in chunk:
            self._after_cr = chunk[-1:] == b"\r"
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        if self._pending:
            chunk = self._pending + chunk
        if not self._bom_checked:
            if len(chunk) < 3 and _BOM.startswith(chunk):
                self._pending = chunk  # could still be a BOM: wait for more bytes
                return b""
            self._bom_checked = True
            if chunk.startswith(_BOM):
                chunk = chunk[3:]
        end = chunk.rfind(b"\n") + 1
        self._pending = chunk[end:]
        return chunk[:end]

    def close(self) -> list[SSEMessage]:
        """End of stream: an event not terminated by a blank line is discarded (WHATWG)."""
        self._pending = b""
        self._data = []
        self._event = b""
        return []

    def _lines(self, lines: list[bytes]) -> list[SSEMessage]:
        out: list[SSEMessage] = []
        data = self._data
        for line in lines:
            if line[:6] == b"data: ":  # the common line, first
                data.append(line[6:])
                continue
            if not line:
                if data:
                    raw = data[0] if len(data) == 1 else b"\n".join(data)
                    event = self._event.decode("utf-8", "replace") if self._event else "message"
                    out.append(_message((event, raw.decode("utf-8", "replace"), self._last_id, self._retry)))
                    data = self._data = []
                self._event = b""
                continue
            colon = line.find(b":")
            if colon == 0:
                continue  # a comment
            if colon < 0:
                field, value = line, b""
            else:
                field = line[:colon]
                value = line[colon + 1 :]
                if value[:1] == b" ":
                    value = value[1:]
            if field == b"data":
                data.append(value)
            elif field == b"event":
                self._event = value
            elif field == b"id":
                if b"\x00" not in value:
                    self._last_id = value.decode("utf-8", "replace")
            elif field == b"retry":
                if value and value.isdigit() and len(value) <= 18:  # (Python refuses int() of 4,301+ digits)
                    self._retry = int(value)
            elif field == b"error" and value:
                # The one field WHATWG would ignore that is read: llama.cpp's server writes a failure as
                # `error: {json}` (then `data: [DONE]`), and ignoring it would make the failure a success.
                out.append(_message(("error", value.decode("utf-8", "replace"), self._last_id, self._retry)))
        return out


def _message(fields: tuple[str, str, str, int | None]) -> SSEMessage:
    return tuple.__new__(SSEMessage, fields)


def decode_all(payload: bytes, split: int | None = None) -> list[SSEMessage]:
    """Decode a whole stream (fed in pieces of ``split`` bytes when given): for tests and replay."""
    decoder = SSEDecoder()
    out: list[SSEMessage] = []
    step = split or max(1, len(payload))
    for i in range(0, len(payload), step):
        out.extend(decoder.feed(payload[i : i + step]))
    out.extend(decoder.close())
    return out
