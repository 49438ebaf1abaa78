"""A reply's body → events, chosen by its content type (docs/protocols.md#content-types): the one
verdict ``chat`` and ``bench`` share. An event stream and an NDJSON body are decoded as they arrive;
a JSON answer when it has all arrived.

Sans-I/O: ``feed`` takes the payload of one network read and gives the events decoded from it, and
whether the reply ended (done or an error event: nothing after it is read). At the end of the body,
``close`` gives the last events or says the stream was truncated; when the connection is lost instead,
``after_cut`` says whether the reply was complete anyway (a finish reason had arrived: a server may cut
the connection right after its last chunk, as llama.cpp's does after ``[DONE]``).
"""

from __future__ import annotations

from ..errors import ProtocolError, TruncatedError
from ..events import Done, Event
from . import strict_json
from .ndjson import NDJSONDecoder
from .normalize import Normalizer, complete_answer
from .sse import SSEDecoder

STREAM_TYPES = ("text/event-stream",)
LINES_TYPES = ("application/x-ndjson",)  # Ollama's native API
ANSWER_TYPES = ("application/json",)


class ReplyDecoder:
    __slots__ = ("dialect", "normalizer", "_sse", "_lines", "_answer", "_feed")

    def __init__(self, content_type: str, dialect: str) -> None:
        self.dialect = dialect
        self.normalizer = Normalizer(dialect)
        self._sse: SSEDecoder | None = None
        self._lines: NDJSONDecoder | None = None
        self._answer: list[bytes] | None = None
        if content_type in STREAM_TYPES:
            self._sse = SSEDecoder()
            self._feed = self._sse.feed_batch
        elif content_type in LINES_TYPES:
            self._lines = NDJSONDecoder()
        elif content_type in ANSWER_TYPES:
            self._answer = []  # a complete, non-streamed answer: decoded when it has all arrived
        else:
            raise ProtocolError(
                f"wrong content type {content_type or 'none'!r}: expected text/event-stream, application/x-ndjson or application/json"
            )

    def feed(self, data: bytes) -> tuple[list[Event], bool]:
        """Events from one read's payload, and True once the reply has ended.

        A ``ProtocolError`` carries the events decoded before the bad data as ``partial``."""
        if self._answer is not None:
            self._answer.append(data)
            return [], False
        if self._lines is not None:
            return self.normalizer.lines_batch(self._lines.feed(data))
        payloads, messages = self._feed(data)
        events: list[Event] = []
        ended = False
        normalizer = self.normalizer
        try:
            if payloads:
                events, ended = normalizer.data_batch(payloads)
            if messages and not ended:
                more, ended = normalizer.sse_batch(messages)
                events += more
        except ProtocolError as exc:
            exc.partial = events + exc.partial
            raise
        return events, ended

    def close(self) -> list[Event]:
        """The body ended cleanly: the last events (a non-streamed answer's, or a done after a finish
        reason); a stream that ends otherwise is truncated."""
        if self._answer is not None:
            raw = b"".join(self._answer)
            try:
                value = strict_json.loads(raw)
            except ValueError as exc:
                raise ProtocolError(f"malformed reply: the application/json body is not JSON ({exc})") from None
            return complete_answer(value, self.dialect)
        events: list[Event] = []
        if self._sse is not None:
            self._sse.close()
        elif self._lines is not None:  # a last line without its line end counts
            events, ended = self.normalizer.lines_batch(self._lines.close())
            if ended:
                return events
        done = self.normalizer.end_of_stream()
        if done is None:
            raise TruncatedError("stream truncated: the connection closed before done")
        return [*events, done]

    def after_cut(self) -> Done | None:
        """The connection was lost or went silent mid-body: the done that completes the reply anyway
        (a finish reason had arrived), or None (the failure stands)."""
        if self._answer is not None:
            return None
        return self.normalizer.end_of_stream()


__all__ = ["ANSWER_TYPES", "LINES_TYPES", "STREAM_TYPES", "ReplyDecoder"]
