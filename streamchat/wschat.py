"""Chat turns over one WebSocket connection (seed websocket-streaming, SPEC §7).

``WSSession`` keeps one connection for every turn and the growing history; a turn whose connection
fails before it produced any output is sent again on a new connection (never one that produced
output, so no line is ever printed twice).
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from .errors import ConnectionLostError, InterruptedError_, ProtocolError, ServerReportedError, StreamchatError
from .events import Event
from .protocol.normalize import Normalizer
from .reply import Reply

if TYPE_CHECKING:
    from .client.ws import WSConnection, WSOptions
    from .output import Renderer
    from .protocol.requests import ChatRequest, HistoryMessage
    from .recording import Recorder, Recording

_TERMINAL = ("error", "done")


def _retryable(exc: StreamchatError) -> bool:
    return isinstance(exc, ConnectionLostError) or bool(getattr(exc, "retryable", False))


class WSSession:
    def __init__(
        self, url: str, opts: WSOptions, renderer: Renderer, on_turn_done: Callable[[ChatRequest, Reply], None] | None = None
    ) -> None:
        self.url = url
        self.opts = opts
        self.renderer = renderer
        self.conn: WSConnection | None = None
        self.history: list[HistoryMessage] = []
        self.on_turn_done = on_turn_done
        self.connections = 0
        self.recorder: Recorder | None = None  # --record: every message as read, across reconnects

    # -- the connection --------------------------------------------------------------------------

    def _connect(self) -> WSConnection:
        """One connection attempt (the turn's loop retries: one count for handshakes and drops)."""
        from .client.ws import WSConnection

        conn = WSConnection(self.url, self.opts)
        if self.recorder is not None:
            conn.tap = self.recorder.frames
        try:
            conn.open()
        except StreamchatError:
            conn.close()
            raise
        self.connections += 1
        conn.before_read = self.renderer.flush
        return conn

    def close(self, code: int = 1000) -> None:
        if self.conn is not None:
            self.conn.close(code)
            self.conn = None

    # -- one turn --------------------------------------------------------------------------------

    def turn(self, request: ChatRequest, turn_no: int | None = None) -> Reply:
        """Send one request (with the session's history) and stream its reply; raises on failure."""
        from .client.retry import backoff_delay
        from .dialects.streamchat import ws_frame
        from .protocol.requests import HistoryMessage

        if not request.history and self.history:
            request = dataclasses.replace(request, history=list(self.history))
        frame = json.dumps(ws_frame(request), ensure_ascii=False)
        attempt = 0
        while True:
            t0 = time.perf_counter()
            reply = Reply(t0)
            self.renderer.begin(t0, turn_no)
            try:
                if self.conn is None:
                    self.conn = self._connect()
                self.conn.send_text(frame)
                self._stream(reply)
            except KeyboardInterrupt as exc:
                reply.t_end = time.perf_counter()
                self.renderer.end(reply)
                raise InterruptedError_("interrupted") from exc
            except StreamchatError as exc:
                # --retries N: at most N + 1 attempts of this turn, handshakes and drops alike
                if reply.events == 0 and _retryable(exc) and attempt < self.opts.retries:
                    connected = self.conn is not None
                    self.close()
                    delay = backoff_delay(attempt, getattr(exc, "retry_after", None))
                    again = "reconnecting" if connected else "retrying"
                    self.opts.notice(f"streamchat: {exc.message}; {again} in {delay:.1f} s ({attempt + 1}/{self.opts.retries})")
                    self.opts.sleep(delay)
                    attempt += 1
                    continue
                reply.t_end = time.perf_counter()
                self.renderer.end(reply)
                if not isinstance(exc, ServerReportedError) or self.conn is None or self.conn._closed:
                    self.close()
                raise
            reply.t_end = time.perf_counter()
            self.renderer.end(reply)
            if reply.error is not None:
                code = reply.error.code
                message = reply.error.message
                raise ServerReportedError(f"{message} ({code})" if code is not None and str(code) not in message else message, code=code)
            self.history.append(HistoryMessage(role="user", content=request.message, images=request.images or None))
            self.history.append(HistoryMessage(role="assistant", content=reply.content))
            if self.on_turn_done is not None:
                self.on_turn_done(request, reply)
            return reply

    def _stream(self, reply: Reply) -> None:
        assert self.conn is not None
        conn = self.conn
        normalizer = Normalizer("streamchat")
        norm = normalizer.data
        renderer = self.renderer
        while True:
            messages = conn.receive()
            now = time.perf_counter()
            batch: list[Event] = []
            try:
                for index, text in enumerate(messages):
                    events = norm(text)
                    for i, event in enumerate(events):
                        if event.type in _TERMINAL:
                            batch.extend(events[: i + 1])
                            conn.leftover = messages[index + 1 :] + conn.leftover
                            renderer.emit(reply, batch, now)
                            return
                    batch.extend(events)
            except ProtocolError:
                renderer.emit(reply, batch, now)
                raise
            if batch:
                renderer.emit(reply, batch, now)

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


def replay_ws(recording: Recording, renderer: Renderer, *, paced: bool) -> list[Reply]:
    """``ws-chat --replay``: recorded messages through the same normaliser, one reply a turn."""
    counter = Normalizer("streamchat")
    turns = sum(1 for _, read in recording.entries for text in read for e in counter.data(text) if e.type in _TERMINAL)
    normalizer = Normalizer("streamchat")
    replies: list[Reply] = []
    messages: list[str] = []
    reads = recording.play(paced)
    turn = 0
    while True:
        if not messages:
            batch_in = next(reads, None)
            if batch_in is None:
                return replies
            messages = list(batch_in)
        turn += 1
        t0 = time.perf_counter()
        reply = Reply(t0)
        renderer.begin(t0, turn if turns > 1 else None)  # numbered as a multi-turn run numbers them
        ended = False
        try:
            while not ended:
                now = time.perf_counter()
                batch: list[Event] = []
                while messages and not ended:
                    for event in normalizer.data(messages.pop(0)):
                        batch.append(event)
                        if event.type in _TERMINAL:
                            ended = True
                            break
                renderer.emit(reply, batch, now)
                if not ended:
                    more = next(reads, None)
                    if more is None:
                        raise ProtocolError("the recording ends before the reply was done")
                    messages = list(more)
        except KeyboardInterrupt as exc:
            raise InterruptedError_("interrupted") from exc
        finally:
            reply.t_end = time.perf_counter()
            renderer.end(reply)
        if reply.error is not None:
            raise ServerReportedError(reply.error.message, code=reply.error.code)
        replies.append(reply)
