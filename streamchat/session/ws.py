"""Chat turns over one WebSocket connection: ``docs/protocols.md#websocket-chat``.

``WSSession`` keeps one connection for every turn and the growing history. Each turn is a ``Turn``
(``turn.py``) whose exchange is one request frame and the text messages that answer it. A turn whose
connection fails before it produced any output is sent again on a new connection, as the retry policy
allows (never one that produced output: no line is ever printed twice); ``--retries N`` counts every
attempt of the turn, handshakes and drops alike.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from ..errors import ConnectionLostError, ProtocolError, ServerReportedError, StreamchatError, TruncatedError
from ..events import Done, Event
from ..protocol.normalize import Normalizer
from .http import recorded_start
from .turn import Start, Turn

if TYPE_CHECKING:
    from ..client.ws import WSConnection, WSOptions
    from ..protocol.requests import ChatRequest, HistoryMessage
    from .output import Renderer
    from .recording import Recorder, Recording
    from .reply import Reply

_TERMINAL = ("error", "done")


class MessageDecoder:
    """A read's text messages into events, up to the turn's terminal event; what follows it is handed
    back (``leftover``) for the next turn."""

    def __init__(self) -> None:
        self.normalizer = Normalizer("streamchat")
        self.leftover: list[str] = []

    def feed(self, messages: list[str]) -> tuple[list[Event], bool]:
        batch: list[Event] = []
        norm = self.normalizer.data
        for index, text in enumerate(messages):
            try:
                events = norm(text)
            except ProtocolError as exc:
                exc.partial = batch
                raise
            for i, event in enumerate(events):
                if event.type in _TERMINAL:
                    batch.extend(events[: i + 1])
                    self.leftover = messages[index + 1 :]
                    return batch, True
            batch.extend(events)
        return batch, False

    def close(self) -> list[Event]:
        # Only a recording runs out (a live connection ends in a close, reported as such): a clean end
        # before done, named as an HTTP stream that ends early is named.
        raise TruncatedError("the messages ended before the reply was done")

    def after_cut(self) -> Done | None:
        return None  # a WebSocket turn ends with its done or error message, nothing else


class WSExchange:
    """One turn's answer on the session's connection (which stays open after it)."""

    def __init__(self, conn: WSConnection) -> None:
        self.conn = conn
        self.decoder = MessageDecoder()
        self.sent_at = time.perf_counter()
        self.retry_wait = 0.0

    def reads(self, before_read: Callable[[], None]) -> Iterator[list[str]]:
        self.conn.before_read = before_read
        while True:
            yield self.conn.receive()

    def cancel(self) -> None:
        pass  # the caller closes with 1000 (a single turn) or drains the answer (interactive)

    def close(self) -> None:
        if self.decoder.leftover:
            self.conn.leftover = self.decoder.leftover + self.conn.leftover


class WSSession:
    def __init__(
        self,
        url: str,
        opts: WSOptions,
        renderer: Renderer,
        on_turn_done: Callable[[ChatRequest, Reply], None] | None = None,
        keep: Callable[[ChatRequest], Callable[[Reply], None] | None] | None = None,
    ) -> None:
        self.url = url
        self.opts = opts
        self.renderer = renderer
        self.conn: WSConnection | None = None
        self.history: list[HistoryMessage] = []
        self.on_turn_done = on_turn_done
        self.keep = keep  # the -C keeper of a turn's request
        self.connections = 0
        self.recorder: Recorder | None = None  # --record: every message as read, across reconnects

    def _connect(self) -> WSConnection:
        from ..client.ws import WSConnection

        conn = WSConnection(self.url, self.opts)
        if self.recorder is not None:
            conn.tap = self.recorder.frames
        try:
            conn.open()
        except StreamchatError:
            conn.close()
            raise
        self.connections += 1
        return conn

    def close(self, code: int = 1000) -> None:
        if self.conn is not None:
            self.conn.close(code)
            self.conn = None

    def turn(self, request: ChatRequest, turn_no: int | None = None) -> Reply:
        """Send one request (with the session's history) and stream its reply; raises on failure."""
        from ..client.retry import WS_RETRY_STATUSES, RetryPolicy
        from ..dialects.streamchat import ws_frame
        from ..protocol.requests import HistoryMessage

        if not request.history and self.history:
            request = dataclasses.replace(request, history=list(self.history))
        frame = json.dumps(ws_frame(request), ensure_ascii=False)
        policy = RetryPolicy(self.opts.retries, WS_RETRY_STATUSES, sleep=self.opts.sleep)
        attempt = 0

        def start() -> WSExchange:
            if self.conn is None:
                self.conn = self._connect()
            self.conn.send_text(frame)
            exchange = WSExchange(self.conn)
            exchange.retry_wait = policy.waited
            return exchange

        def again(exc: StreamchatError) -> Start | None:
            nonlocal attempt
            connected = self.conn is not None
            if not (isinstance(exc, ConnectionLostError) or policy.retryable(exc)) or attempt >= policy.retries:
                return None
            self.close()
            what = "reconnecting" if connected else "retrying"
            delay = policy.delay(attempt, exc)
            self.opts.notice(f"streamchat: {exc.message}; {what} in {delay:.1f} s ({attempt + 1}/{policy.retries})")
            policy.sleep(delay)
            policy.waited += delay
            attempt += 1
            return start

        keep = self.keep(request) if self.keep is not None else None
        try:
            reply = Turn(self.renderer, turn_no, again=again, keep=keep).run(start)
        except StreamchatError as exc:
            # A server's error message leaves the connection usable for the next turn; anything else ends it.
            if not isinstance(exc, ServerReportedError) or self.conn is None or self.conn.closed:
                self.close()
            raise
        self.history.append(HistoryMessage(role="user", content=request.message, images=request.images or None))
        self.history.append(HistoryMessage(role="assistant", content=reply.content))
        if self.on_turn_done is not None:
            self.on_turn_done(request, reply)
        return reply

    def drain(self) -> None:
        """After a cancelled answer: read and drop the rest of that turn, so the next one starts clean."""
        if self.conn is None:
            return
        normalizer = Normalizer("streamchat")
        try:
            while True:
                for text in self.conn.receive():
                    if any(e.type in _TERMINAL for e in normalizer.data(text)):
                        return
        except (StreamchatError, KeyboardInterrupt):
            self.close()


class _Reads:
    """The recording's reads, with room to put back the messages a turn left after its end."""

    def __init__(self, source: Iterator[list[str]]) -> None:
        self.source = source
        self.pending: list[list[str]] = []

    def __iter__(self) -> _Reads:
        return self

    def __next__(self) -> list[str]:
        return self.pending.pop(0) if self.pending else next(self.source)

    def push(self, read: list[str]) -> None:
        self.pending.insert(0, read)


def replay_ws(recording: Recording, renderer: Renderer, *, paced: bool) -> list[Reply]:
    """``ws-chat --replay``: recorded messages through the same decoder, one reply a turn. A recording
    with no message at all (the live run failed before any) is still one turn: one that ends before done."""
    turns = _recorded_turns(recording)
    reads = _Reads(recording.play(paced))
    replies: list[Reply] = []
    number = 0
    while True:
        try:
            reads.push(next(reads))
        except StopIteration:
            if number:
                return replies
        number += 1
        decoder = MessageDecoder()
        turn = Turn(renderer, number if turns > 1 else None)  # numbered as a multi-turn run numbers them
        replies.append(turn.run(recorded_start(reads, decoder, paced)))
        if decoder.leftover:
            reads.push(decoder.leftover)


def _recorded_turns(recording: Recording) -> int:
    """How many turns a recording answers (its done and error messages). A message that does not decode
    ends its turn (played, it fails the turn with the failure written as data) and the run with it."""
    counter = Normalizer("streamchat")
    turns = 0
    try:
        for _, read in recording.entries:
            for text in read:
                turns += sum(1 for event in counter.data(text) if event.type in _TERMINAL)
    except ProtocolError:
        turns += 1
    return turns


__all__ = ["MessageDecoder", "WSExchange", "WSSession", "replay_ws"]
