"""A chat turn over HTTP: the request a dialect builds, sent, and its streamed body as a turn's exchange.

Callable from Python without the CLI::

    from streamchat.session.http import ChatTarget, run_http_chat
    reply = run_http_chat(ChatTarget(url, "openai"), ChatRequest(message="Hi", model_id="m"), HTTPOptions(), renderer)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..protocol.body import ReplyDecoder
from .turn import Start, Turn

if TYPE_CHECKING:
    from ..client.http import HTTPOptions, HTTPResponse
    from ..protocol.requests import ChatRequest
    from .output import Renderer
    from .recording import Recorder
    from .reply import Reply


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
        from ..dialects import get as dialect_named

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


class HTTPExchange:
    """A response whose head has arrived, read as a turn reads: its body's chunks, decoded by type."""

    def __init__(self, response: HTTPResponse, dialect: str, recorder: Recorder | None) -> None:
        self.response = response
        self.sent_at = response.sent_at
        self.retry_wait = response.waited
        self.recorder = recorder
        if recorder is not None:  # first: a content type the decoder refuses is recorded, and refused again on replay
            recorder.start(content_type=response.content_type, status=response.status_code)
        self.decoder = ReplyDecoder(response.content_type, dialect)

    def reads(self, before_read: Callable[[], None]) -> Iterator[bytes]:
        self.response.set_before_read(before_read)
        chunks = self.response.chunks()
        return self.recorder.tap(chunks) if self.recorder is not None else chunks

    def cancel(self) -> None:
        pass  # closing the connection is how HTTP says it

    def close(self) -> None:
        self.response.close()


def http_start(target: ChatTarget, request: ChatRequest, opts: HTTPOptions, *, stream: bool = True) -> Start:
    """How a turn sends ``request`` to ``target``: the dialect's request, retried and redirected as the
    client's policies say, up to the response head."""

    def start() -> HTTPExchange:
        from ..client.http import encode_json, send
        from ..dialects import get as dialect_named

        method, url, body = dialect_named(target.dialect).request(request, target.url, stream)
        connection = _with_credentials(opts, target)
        response = send(method, url, connection, None if body is None else encode_json(body), headers=target.public_headers())
        return HTTPExchange(response, target.dialect, target.recorder)

    return start


def _with_credentials(opts: HTTPOptions, target: ChatTarget) -> HTTPOptions:
    from dataclasses import replace

    return replace(opts, headers={**target.request_headers(), **opts.headers})


def run_http_chat(
    target: ChatTarget,
    request: ChatRequest,
    opts: HTTPOptions,
    renderer: Renderer,
    *,
    keep: Callable[[Reply], None] | None = None,
    again: Callable[[Any], Start | None] | None = None,
) -> Reply:
    """Stream one reply; returns it when complete, raises a StreamchatError otherwise (the reply so far
    on ``exc.reply``; the renderer has written everything received, and the failure as data)."""
    return Turn(renderer, keep=keep, again=again).run(http_start(target, request, opts))


class _Recorded:
    """A recording played back as a turn's exchange: the same decoder, no network."""

    def __init__(self, reads: Iterator[Any], decoder: Any, paced: bool) -> None:
        self._reads = reads
        self.decoder = decoder
        self.timed = paced  # played instantly, the arrival times say nothing of the server: no rates
        self.sent_at = time.perf_counter()
        self.retry_wait = 0.0

    def reads(self, before_read: Callable[[], None]) -> Iterator[Any]:
        for read in self._reads:
            before_read()
            yield read

    def cancel(self) -> None:
        pass

    def close(self) -> None:
        pass


def recorded_start(reads: Iterator[Any], decoder: Any, paced: bool) -> Start:
    return lambda: _Recorded(reads, decoder, paced)


def decode_body(content_type: str, chunks: Any, dialect: str, renderer: Renderer) -> Reply:
    """A body received some other way (a capture, a test's bytes) through the same decoding, one turn."""
    return Turn(renderer).run(recorded_start(iter(chunks), ReplyDecoder(content_type, dialect), paced=True))


def replay_chat(recording: Any, renderer: Renderer, *, paced: bool, dialect: str | None = None) -> Reply:
    """``chat --replay``: a recorded response through the same decoder and normaliser, no network."""

    def start() -> _Recorded:  # the decoder is made in the turn: a content type it refuses fails the turn, as data
        return _Recorded(recording.play(paced), ReplyDecoder(recording.content_type, dialect or recording.dialect), paced)

    return Turn(renderer).run(start)


__all__ = ["ChatTarget", "HTTPExchange", "decode_body", "http_start", "recorded_start", "replay_chat", "run_http_chat"]
