"""One chat turn over HTTP: request → stream → decoder → normaliser → reply + renderer.

Callable from Python without the CLI::

    from streamchat.chat import ChatTarget, run_http_chat
    reply = run_http_chat(ChatTarget(url), ChatRequest(message="Hi"), HTTPOptions(), renderer)
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .errors import ConnectionLostError, InterruptedError_, ProtocolError, ServerReportedError, StreamchatError, StreamTimeoutError
from .events import Event
from .protocol.body import ReplyDecoder
from .reply import Reply

if TYPE_CHECKING:
    from .client.http import HTTPOptions
    from .output import Renderer
    from .protocol.requests import ChatRequest
    from .recording import Recorder, Recording


@dataclass
class ChatTarget:
    url: str
    dialect: str = "streamchat"
    token: str | None = None
    auth_scheme: str = "bearer"
    headers: list[tuple[str, str]] = field(default_factory=list)
    recorder: Recorder | None = None  # --record: keeps the response body as received

    def public_headers(self) -> dict[str, str]:
        """What the dialect needs on every request, redirects to other hosts included."""
        from .dialects import get as dialect_named

        return dict(dialect_named(self.dialect).headers)

    def request_headers(self) -> dict[str, str]:
        """The credentials (the token, and every ``-H`` header, which win): sent to the URL's own
        scheme, host and port only, never to a host a redirect points at."""
        headers: dict[str, str] = {}
        if self.token:
            if self.auth_scheme == "x-api-key":
                headers["x-api-key"] = self.token
            elif self.auth_scheme == "bearer":
                headers["Authorization"] = f"Bearer {self.token}"
        for name, value in self.headers:
            headers[name] = value
        return headers


def _emit(reply: Reply, renderer: Renderer, events: list[Event], now: float) -> None:
    renderer.emit(reply, events, now)


def run_http_chat(
    target: ChatTarget,
    req: ChatRequest,
    opts: HTTPOptions,
    renderer: Renderer,
    *,
    stream: bool = True,
    finalize: bool = True,
) -> Reply:
    """Stream one reply; returns it when complete, raises a StreamchatError otherwise.

    The renderer has been given everything received before any failure (partial output is kept).
    ``stream=False`` asks for one JSON answer (the hybrid fallback). ``finalize=False`` leaves
    ``renderer.end`` to the caller, who finds the reply on the exception (``exc.reply``) too.
    """
    from .client.http import open_stream
    from .dialects import get as dialect_named

    method, url, body = dialect_named(target.dialect).request(req, target.url, stream)
    opts.headers = {**target.request_headers(), **opts.headers}
    with _reply_scope(renderer, finalize) as reply:
        with open_stream(method, url, opts, body, headers=target.public_headers()) as response:
            # Times count from the attempt that succeeded: waits between retries are not TTFT.
            reply.t_start = renderer.t0 = response.sent_at
            reply.retry_wait = response.waited
            response.set_before_read(renderer.flush)
            chunks = response.chunks()
            recorder = target.recorder
            if recorder is not None:
                recorder.start(content_type=response.content_type, status=response.status_code)
                chunks = recorder.tap(chunks)
            read_body(response.content_type, chunks, target.dialect, reply, renderer)
    return reply


def replay_chat(recording: Recording, renderer: Renderer, *, paced: bool, dialect: str | None = None) -> Reply:
    """``--replay``: a recorded response through the same decoder and normaliser, no network."""
    with _reply_scope(renderer, True) as reply:
        read_body(recording.content_type, recording.play(paced), dialect or recording.dialect, reply, renderer)
    return reply


@contextmanager
def _reply_scope(renderer: Renderer, finalize: bool) -> Iterator[Reply]:
    """A reply being received: failures carry it (``exc.reply``); the renderer is ended either way."""
    t0 = time.perf_counter()
    reply = Reply(t0)
    renderer.begin(t0)
    try:
        yield reply
    except KeyboardInterrupt as exc:
        interrupted = InterruptedError_("interrupted")
        interrupted.reply = reply  # type: ignore[attr-defined]
        raise interrupted from exc
    except StreamchatError as exc:
        exc.reply = reply  # type: ignore[attr-defined]
        raise
    finally:
        reply.t_end = time.perf_counter()
        if finalize:
            finish(reply, renderer)


def read_body(content_type: str, chunks: Iterable[bytes], dialect: str, reply: Reply, renderer: Renderer) -> None:
    """A response body into the reply, by its content type; raises unless it ended with done."""
    decoder = ReplyDecoder(content_type, dialect)
    clock = time.perf_counter
    try:
        for chunk in chunks:
            now = clock()
            try:
                events, ended = decoder.feed(chunk)
            except ProtocolError as exc:
                _emit(reply, renderer, getattr(exc, "partial", []), now)
                raise
            if events:
                _emit(reply, renderer, events, now)
            if ended:
                break
        else:
            _emit(reply, renderer, decoder.close(), clock())
    except (ConnectionLostError, StreamTimeoutError):
        done = decoder.after_cut()
        if done is None:
            raise
        _emit(reply, renderer, [done], clock())  # the reply had ended: what the socket does after it does not matter
    if reply.error is not None:
        raise ServerReportedError(_describe(reply.error.message, reply.error.code), code=reply.error.code)


def _describe(message: str, code: object) -> str:
    return f"{message} ({code})" if code is not None and str(code) not in message else message


def finish(reply: Reply, renderer: Renderer) -> None:
    if not renderer.stdout_closed:
        renderer.end(reply)


__all__ = ["ChatTarget", "read_body", "replay_chat", "run_http_chat"]
