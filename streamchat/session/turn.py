"""One chat turn, start to end: the only place that knows the order of its steps.

Every transport (an HTTP stream, a WebSocket turn, Open WebUI's Socket.IO channel, a recording played
back) hands the turn an ``Exchange``: the reads of one request's answer and the decoder that turns them
into events. The turn then always does the same thing, in the same order:

1. begin: a new ``Reply`` and ``renderer.begin``;
2. stream: each read decoded, its events scrubbed into the reply and rendered (the renderer flushes
   before each blocking read, so output leaves once per network read);
3. end of stream: ``done``, or a clean close after a finish reason, or a failure (a reply that had
   ended is complete whatever the connection does next: ``docs/protocols.md#end-of-stream``);
4. another try, while nothing has been shown (``again``: a WebSocket turn sent anew, the hybrid
   mode's non-streaming fallback);
5. a server error event becomes a failure; ``keep`` runs for a completed reply (the ``-C`` append),
   and may fail too (``write_failed``);
6. end: ``renderer.end(reply, failure)`` writes the final output, a failed run's error as data
   (``docs/events.md#failures``) and, for a completed one, the report line;
7. the failure, if any, is raised with the reply attached; checks (``--expect``...) are the caller's,
   after the output is complete.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import (
    ConnectionLostError,
    InterruptedError_,
    ProtocolError,
    ServerReportedError,
    StreamchatError,
    StreamTimeoutError,
    UsageError,
)
from ..events import Done, Event
from .reply import Reply

if TYPE_CHECKING:
    from .output import Renderer


class Decoder(Protocol):
    """Reads into events (``protocol/body.py``'s ``ReplyDecoder`` for HTTP bodies, and the like)."""

    def feed(self, read: Any) -> tuple[list[Event], bool]: ...

    def close(self) -> list[Event]: ...

    def after_cut(self) -> Done | None: ...


class Exchange(Protocol):
    """One request's answer, being read. ``sent_at`` (perf_counter) is when the request that got it was
    sent; ``retry_wait`` the seconds spent waiting between attempts before it."""

    sent_at: float
    retry_wait: float
    decoder: Decoder

    def reads(self, before_read: Callable[[], None]) -> Iterator[Any]: ...

    def cancel(self) -> None:
        """The user interrupted (Ctrl-C): tell the server if the protocol has a way."""

    def close(self) -> None: ...


Start = Callable[[], Exchange]  # sends the request (retrying as the retry policy says) and returns its answer


@dataclass
class Turn:
    renderer: Renderer
    number: int | None = None  # ws-chat's turn number, in multi-turn runs
    again: Callable[[StreamchatError], Start | None] | None = None  # another try while nothing was shown
    keep: Callable[[Reply], None] | None = None  # what a completed reply is kept in (the -C file)

    def run(self, start: Start) -> Reply:
        renderer = self.renderer
        t0 = time.perf_counter()
        reply = Reply(t0)
        renderer.begin(t0, self.number)
        failure: StreamchatError | None = None
        try:
            self._stream_with_retries(start, reply)
            if reply.error is not None:
                raise ServerReportedError(describe(reply.error.message, reply.error.code), code=reply.error.code)
            if self.keep is not None:
                self.keep(reply)
        except KeyboardInterrupt:
            failure = InterruptedError_("interrupted")
        except StreamchatError as exc:
            failure = exc
        finally:
            reply.t_end = time.perf_counter()
            if not renderer.stdout_closed:
                renderer.end(reply, failure)
        if failure is not None:
            failure.reply = reply
            raise failure
        return reply

    def _stream_with_retries(self, start: Start, reply: Reply) -> None:
        while True:
            try:
                self._stream(start, reply)
                return
            except StreamchatError as exc:
                if self.again is None or reply.events or isinstance(exc, (UsageError, InterruptedError_)):
                    raise
                retry = self.again(exc)
                if retry is None:
                    raise
                start = retry

    def _stream(self, start: Start, reply: Reply) -> None:
        renderer = self.renderer
        exchange = start()
        try:
            # Times count from the attempt that succeeded: waits between retries are not TTFT.
            reply.t_start = exchange.sent_at
            renderer.sent(exchange.sent_at)
            reply.retry_wait += exchange.retry_wait
            reply.timed = getattr(exchange, "timed", True)
            decoder = exchange.decoder
            emit, clock = renderer.emit, time.perf_counter
            try:
                for read in exchange.reads(renderer.flush):
                    now = clock()
                    try:
                        events, ended = decoder.feed(read)
                    except ProtocolError as exc:
                        emit(reply, exc.partial, now)  # what came before the bad data is kept
                        raise
                    if events:
                        emit(reply, events, now)
                    if ended:
                        return
                emit(reply, decoder.close(), clock())
            except (ConnectionLostError, StreamTimeoutError):
                done = decoder.after_cut()
                if done is None:
                    raise
                emit(reply, [done], clock())  # the reply had ended: the connection's fate after it does not matter
        except KeyboardInterrupt:
            exchange.cancel()
            raise
        finally:
            exchange.close()


def describe(message: str, code: object) -> str:
    """A server's error message, with its code when the message does not already say it."""
    return f"{message} ({code})" if code is not None and str(code) not in message else message


__all__ = ["Decoder", "Exchange", "Start", "Turn", "describe"]
