"""One request's timeline (send, every token, end) and how a response body fills it.

A streamed reply (``text/event-stream``) is decoded as it arrives, each event stamped with the
arrival time of the read that brought it. A non-streamed reply (``200 application/json``, what some
servers answer a streaming request with) is one answer, measured as ``chat`` measures it: its
events all arrive with the body's last byte, so TTFT is the whole exchange.
"""

from __future__ import annotations

import json
import time
from typing import Any

from ..errors import ProtocolError
from ..protocol.normalize import Normalizer, complete_answer
from ..protocol.sse import SSEDecoder

_TOKEN_EVENTS = ("content", "reasoning")
MAX_JSON_BODY = 10 * 1024 * 1024  # chat's default --max-response-size


class Timeline:
    """One request's timestamps: send, then every token event (perf_counter seconds)."""

    def __init__(self, intended: float, sent: float) -> None:
        self.intended = intended
        self.sent = sent
        self.tokens: list[float] = []
        self.usage_tokens: int | None = None
        self.input_tokens: int | None = None
        self.error: str | None = None
        self.done = False
        self.end = sent

    def record(self, status: str) -> dict[str, Any]:
        from .metrics import tpot_ms

        out: dict[str, Any] = {"status": status, "schedule_lag_ms": (self.sent - self.intended) * 1000.0}
        if status != "ok":
            if self.error:
                out["error"] = self.error
            return out
        ttft = (self.tokens[0] - self.sent) * 1000.0 if self.tokens else None
        e2e = (self.end - self.sent) * 1000.0
        count = self.usage_tokens if self.usage_tokens is not None else len(self.tokens)
        out.update(
            ttft_ms=ttft,
            ttft_from_intended_ms=None if ttft is None else ttft + out["schedule_lag_ms"],
            itl_ms=[(b - a) * 1000.0 for a, b in zip(self.tokens, self.tokens[1:], strict=False)],
            e2e_ms=e2e,
            output_tokens=count,
            tokens_source="usage" if self.usage_tokens is not None else "events",
            tpot_ms=None if ttft is None else tpot_ms(e2e, ttft, count),
        )
        if self.input_tokens is not None:
            out["input_tokens"] = self.input_tokens
        return out


def take(timeline: Timeline, events: list[Any], now: float) -> bool:
    """Fold events into the timeline; True at the end of the reply."""
    for event in events:
        kind = event.type
        if kind in _TOKEN_EVENTS:
            timeline.tokens.append(now)
        elif kind == "usage":
            timeline.usage_tokens = event.output_tokens
            if event.input_tokens:
                timeline.input_tokens = event.input_tokens
        elif kind == "error":
            timeline.error = event.message
            return True
        elif kind == "done":
            timeline.done = True
            return True
    return False


def reply_format(content_type: str | None, first: bytes) -> str:
    """``"sse"`` or ``"json"``: how to read a 2xx body. The one place this is decided.

    By the content type when the transport knows it (parameters such as ``; charset=utf-8`` aside);
    when it does not, by the body's first byte: an event stream never starts with ``{``.
    """
    if content_type is not None:
        media = content_type.split(";", 1)[0].strip().lower()
        if media == "application/json":
            return "json"
        if media == "text/event-stream":
            return "sse"
        raise ProtocolError(f"wrong content type {media or 'none'!r}: expected text/event-stream")
    return "json" if first.lstrip()[:1] == b"{" else "sse"


class ReplyReader:
    """A response body into a timeline: ``feed`` each read with its arrival time, then ``end``."""

    def __init__(self, dialect: str, timeline: Timeline, content_type: str | None = None) -> None:
        self.dialect = dialect
        self.timeline = timeline
        self.content_type = content_type
        self.format: str | None = None
        self.normalizer = Normalizer(dialect)
        self.decoder = SSEDecoder()
        self.pending = b""
        self.body: list[bytes] = []
        self.size = 0
        self.last = timeline.sent

    def feed(self, data: bytes, now: float) -> bool:
        """True once the reply is over (the rest of the body may be discarded)."""
        if self.format == "sse":
            timeline = self.timeline
            for message in self.decoder.feed(data):
                if take(timeline, self.normalizer.sse(message.event, message.data), now):
                    timeline.end = now
                    return True
            return False
        if self.format is None:
            data = self.pending + data
            if self.content_type is None and not data.strip():
                self.pending = data  # the first byte that says which form this is has not come yet
                return False
            self.format = reply_format(self.content_type, data)
            return self.feed(data, now)
        self.body.append(data)
        self.size += len(data)
        self.last = now
        if self.size > MAX_JSON_BODY:
            raise ProtocolError(f"the JSON answer is over {MAX_JSON_BODY} bytes")
        return False

    def end(self) -> None:
        """The body ended: a JSON answer is read now, a stream that ended without done is judged."""
        timeline = self.timeline
        if timeline.done or timeline.error is not None:
            return
        if self.format == "json":
            try:
                value = json.loads(b"".join(self.body))
            except ValueError as exc:
                raise ProtocolError("malformed reply: the application/json body is not JSON") from exc
            take(timeline, complete_answer(value, self.dialect), self.last)
            timeline.end = self.last
            return
        timeline.end = time.perf_counter()
        if self.normalizer.end_of_stream() is not None:
            timeline.done = True
