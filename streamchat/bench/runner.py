"""The bench load generator: asyncio, monotonic timestamps taken at byte arrival, before parsing.

A closed loop runs ``concurrency`` lanes back to back; an open loop (``rate``) starts each request at
its intended arrival time. Timers start at the intended time as well as the actual one, so time spent
queued in the client shows up as ``schedule_lag_ms`` (no coordinated omission). Connections are
never capped below the concurrency; an event-loop lag probe says whether the client itself was too
busy to measure well. Warmup requests run first and stay out of the records and the wall time.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import socket
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..client.connection import Endpoint
from ..client.http import endpoint_of
from ..client.redirects import REDIRECT_STATUSES, Hop, next_hop
from ..dialects import get as dialect_named
from ..dialects.streamchat import ws_frame
from ..errors import ConnectFailedError, ConnectionLostError, HTTPStatusError, StreamchatError, StreamTimeoutError
from ..protocol.body import ReplyDecoder
from ..protocol.http1 import ResponseHead, encode_request
from ..protocol.normalize import Normalizer
from ..protocol.requests import ChatRequest
from .failures import error_kind
from .http1 import ConnectionPool
from .timeline import Timeline, take

INCOMPLETE = "incomplete"  # still running when --duration + --grace ran out


@dataclass
class LoadSpec:
    """One process's share of the load; plain data, so it crosses to worker processes as JSON."""

    url: str
    dialect: str = "streamchat"
    transport: str = "sse"  # sse, ws (a WebSocket a request) or socketio (Open WebUI's channel, a socket a request)
    requests: int | None = 100  # None: no count, --duration ends the run
    concurrency: int | None = 8  # None with --rate: no cap on requests in flight
    rate: float | None = None
    arrival: str = "poisson"
    duration: float | None = None  # stop sending after this; requests still running at duration + grace are ended
    grace: float = 30.0
    warmup: int = 0
    prompts: list[ChatRequest] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    read_timeout: float = 60.0
    connect_timeout: float = 10.0
    max_response_size: int = 10 * 1024 * 1024  # a response body over this: too_large, as in chat
    max_message_size: int = 50 * 1024 * 1024  # one WebSocket message over this: too_large (closed 1009)
    retries: int = 0  # retries before the first response byte (--retries); a failed request is a measurement
    insecure: bool = False  # TLS: no certificate verification
    cacert: str | None = None  # TLS: this CA bundle instead of the system's
    seed: int = 0
    first_id: int = 0  # this share's first record id (workers hold disjoint blocks)
    phase: float = 0.0  # seconds before this share's first arrival (constant arrivals across workers)

    def to_json(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["prompts"] = [p.fields() for p in self.prompts]
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LoadSpec:
        from ..protocol.validation import chat_request

        return cls(**{**data, "prompts": [chat_request(p, "bench prompt") for p in data.get("prompts", [])]})


class _TimelineSink:
    """A response's body into a request's timeline, through the decoder ``chat`` uses."""

    def __init__(self, dialect: str, timeline: Timeline) -> None:
        self.dialect = dialect
        self.timeline = timeline
        self.decoder: ReplyDecoder | None = None

    def start(self, head: ResponseHead) -> None:
        self.decoder = ReplyDecoder(head.content_type, self.dialect)

    def body(self, payload: bytes, now: float) -> bool:
        events, ended = self.decoder.feed(payload)  # type: ignore[union-attr]
        if take(self.timeline, events, now) or ended:
            self.timeline.end = now
            return True
        return False

    def end(self, now: float) -> None:
        self.timeline.end = now
        take(self.timeline, self.decoder.close(), now)  # type: ignore[union-attr]

    def complete_after_cut(self, now: float) -> bool:
        """The connection failed mid-body: True if the reply had ended anyway (a finish reason)."""
        done = self.decoder.after_cut() if self.decoder is not None else None
        if done is None:
            return False
        self.timeline.end = now
        take(self.timeline, [done], now)
        return True


async def _sse_request(pools: Pools, spec: LoadSpec, request: ChatRequest, timeline: Timeline) -> None:
    method, url, body = dialect_named(spec.dialect).request(request, spec.url, True)
    public = {
        "Accept": "text/event-stream",
        "Accept-Encoding": "identity",
        "User-Agent": "streamchat-bench",
        **dialect_named(spec.dialect).headers,
    }
    payload = None
    if body is not None:
        payload = json.dumps(body).encode()
        public["Content-Type"] = "application/json"
    hop = Hop(method, url, payload)
    fresh = False
    while True:
        where, target = endpoint_of(hop.url)
        pool = pools.get(where)
        headers = {**public, **spec.headers} if hop.with_credentials else public
        sink = _TimelineSink(spec.dialect, timeline)
        conn = await pool.acquire(fresh)
        if conn.absolute_form:
            target = hop.url
            if conn.proxy_authorization:
                headers = {**headers, "Proxy-Authorization": conn.proxy_authorization}
        try:
            await conn.exchange(
                encode_request(hop.method, where.authority, target, headers, hop.body),
                hop.method,
                sink,
                spec.read_timeout,
                spec.max_response_size,
            )
        except HTTPStatusError as exc:
            pool.release(conn)  # its body was read: the connection may serve another request
            if exc.status not in REDIRECT_STATUSES:
                raise
            hop = next_hop(url, hop, exc.status, exc.location)
            continue
        except ConnectFailedError:
            pool.discard(conn)
            if conn.exchanges > 1 and not fresh:  # a kept-alive connection the server had closed while idle
                fresh = True
                continue
            raise
        except (ConnectionLostError, StreamTimeoutError, OSError):
            pool.discard(conn)
            if not sink.complete_after_cut(time.perf_counter()):
                raise
            return
        except BaseException:
            pool.discard(conn)
            raise
        pool.release(conn)
        return


class Pools:
    """One connection pool per endpoint (a redirect may point elsewhere)."""

    def __init__(self, spec: LoadSpec) -> None:
        self.spec = spec
        self._pools: dict[Endpoint, ConnectionPool] = {}

    def get(self, where: Endpoint) -> ConnectionPool:
        pool = self._pools.get(where)
        if pool is None:
            spec = self.spec
            pool = self._pools[where] = ConnectionPool(where, spec.connect_timeout, insecure=spec.insecure, cacert=spec.cacert)
        return pool

    def close(self) -> None:
        for pool in self._pools.values():
            pool.close()


async def _ws_request(spec: LoadSpec, request: ChatRequest, timeline: Timeline, tls: Any) -> None:
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    from ..client.ws import closed_error, to_ws_url

    normalizer = Normalizer("streamchat")
    # A short close timeout: a server that never answers the close must not hold the lane (or the end of the run).
    options = {"max_size": spec.max_message_size, "open_timeout": spec.connect_timeout, "close_timeout": 1.0, "ssl": tls}
    async with connect(to_ws_url(spec.url), additional_headers=spec.headers, **options) as ws:
        await ws.send(json.dumps(ws_frame(request)))
        while True:
            try:
                text = await asyncio.wait_for(ws.recv(), spec.read_timeout)
            except ConnectionClosed:
                # the same kind ws-chat gives the same close: connection_lost (1006), closed_NNNN, too_large
                raise closed_error(ws.protocol) from None
            except TimeoutError:
                raise StreamTimeoutError(f"no data for {spec.read_timeout:g} s") from None
            now = time.perf_counter()
            if take(timeline, normalizer.data(text if isinstance(text, str) else text.decode()), now):
                timeline.end = now
                return


async def _loop_lag(samples: list[float], stop: asyncio.Event, period: float = 0.005) -> None:
    while not stop.is_set():
        start = time.perf_counter()
        await asyncio.sleep(period)
        samples.append((time.perf_counter() - start - period) * 1000.0)


def _indices(count: int | None) -> Iterator[int]:
    return itertools.count() if count is None else iter(range(count))


class _Load:
    """Runs requests for one spec; each finished measured request becomes a record."""

    def __init__(self, spec: LoadSpec, on_record: Callable[[dict[str, Any]], None] | None) -> None:
        self.spec = spec
        self.on_record = on_record
        self.records: list[dict[str, Any]] = []
        self.pools = None
        if spec.transport == "sse":
            endpoint_of(spec.url)  # a URL that is not http(s) is refused before anything starts
            self.pools = Pools(spec)
        self.tls = None
        if spec.transport == "ws" and spec.url.split(":", 1)[0].lower() in ("https", "wss"):
            from ..client.tls import client_context

            self.tls = client_context(spec.insecure, spec.cacert)
        self.deadline: float | None = None  # no request starts after this
        self.end_by: float | None = None  # requests still running now are ended
        self.start = time.perf_counter()  # of the measured part: records' start_s count from here

    def _send(self, request: ChatRequest, timeline: Timeline) -> Awaitable[None]:
        if self.pools is not None:
            return _sse_request(self.pools, self.spec, request, timeline)
        if self.spec.transport == "socketio":
            from .openwebui import socketio_request

            return socketio_request(self.spec, request, timeline)
        return _ws_request(self.spec, request, timeline, self.tls)

    async def _attempts(self, request: ChatRequest, timeline: Timeline) -> None:
        """The exchange, tried again (``--retries``) while no response byte came and the failure is one
        chat retries (a refused connection, 429, 5xx); times then count from the attempt that succeeded."""
        if not self.spec.retries:
            return await self._send(request, timeline)
        from ..client.retry import RETRY_STATUSES, WS_RETRY_STATUSES, RetryPolicy

        policy = RetryPolicy(self.spec.retries, WS_RETRY_STATUSES if self.spec.transport == "ws" else RETRY_STATUSES)
        attempt = 0
        while True:
            try:
                return await self._send(request, timeline)
            except (StreamchatError, OSError) as exc:
                error = exc if isinstance(exc, StreamchatError) else None  # (a refused connection is a plain OSError here)
                again = policy.retryable(error) if error is not None else isinstance(exc, ConnectionRefusedError | socket.gaierror)
                if timeline.tokens or attempt >= policy.retries or not again:
                    raise
                await asyncio.sleep(policy.delay(attempt, error))
                attempt += 1
                timeline.sent = time.perf_counter()

    async def _bounded(self, request: ChatRequest, timeline: Timeline) -> bool:
        """The exchange, ended at ``end_by``; False when it was still running then."""
        task = asyncio.ensure_future(self._attempts(request, timeline))
        assert self.end_by is not None
        done, _ = await asyncio.wait((task,), timeout=max(self.end_by - time.perf_counter(), 0.0))
        if done:
            task.result()
            return True
        task.cancel()
        await asyncio.wait((task,), timeout=1.0)  # time to drop its connection
        task.add_done_callback(lambda t: t.cancelled() or t.exception())  # (nothing left to report)
        return False

    async def one(self, index: int, intended: float, measured: bool) -> None:
        spec = self.spec
        request = spec.prompts[(spec.first_id + index) % len(spec.prompts)]
        timeline = Timeline(intended, time.perf_counter())
        try:
            if self.end_by is not None:
                finished = await self._bounded(request, timeline)
            else:
                await self._attempts(request, timeline)
                finished = True
            if not finished:
                status = INCOMPLETE
                timeline.error = "still running when --duration and --grace were over"
            else:
                status = "ok" if timeline.done else ("server_error" if timeline.error else "truncated")
        except Exception as exc:  # noqa: BLE001 - every failure is a counted kind, never a crash
            text = str(exc)
            status = text if text.startswith("http_") else error_kind(exc)
            timeline.error = text or type(exc).__name__
        if measured:
            record = {"id": spec.first_id + index, "start_s": timeline.sent - self.start, **timeline.record(status)}
            self.records.append(record)
            if self.on_record is not None:
                self.on_record(record)

    def _expired(self) -> bool:
        return self.deadline is not None and time.perf_counter() >= self.deadline

    async def closed_loop(self, count: int | None, concurrency: int, measured: bool) -> None:
        """``concurrency`` lanes; a lane's next request is intended the moment its last one ended."""
        indices = _indices(count)

        async def lane() -> None:
            intended = time.perf_counter()
            for index in indices:  # shared: each index is taken by exactly one lane
                if measured and self._expired():
                    return
                await self.one(index, intended, measured)
                intended = time.perf_counter()

        await asyncio.gather(*(lane() for _ in range(concurrency if count is None else min(concurrency, count))))

    async def open_loop(self, count: int | None, rate: float, start: float) -> None:
        """Arrivals at intended times; a request waiting for a free slot keeps its intended time."""
        spec = self.spec
        rng = random.Random(spec.seed)
        cap = asyncio.Semaphore(spec.concurrency) if spec.concurrency else None
        tasks: set[asyncio.Future[None]] = set()

        async def arrive(index: int, intended: float) -> None:
            if cap is None:
                await self.one(index, intended, True)
                return
            async with cap:
                if not self._expired():
                    await self.one(index, intended, True)

        offset = spec.phase
        for index in _indices(count):
            if index:
                offset += rng.expovariate(rate) if spec.arrival == "poisson" else 1.0 / rate
            intended = start + offset
            delay = intended - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if self._expired():
                break
            task = asyncio.ensure_future(arrive(index, intended))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        if tasks:
            await asyncio.gather(*tasks)


async def run_load(
    spec: LoadSpec,
    on_record: Callable[[dict[str, Any]], None] | None = None,
    before_measure: Callable[[], Awaitable[None]] | None = None,
) -> tuple[list[dict[str, Any]], float, list[float]]:
    """Warm up, then run the measured load; returns (records, measured wall seconds, loop-lag samples in ms).

    ``before_measure`` is awaited between the two (worker processes wait there for a common start).
    """
    load = _Load(spec, on_record)
    try:
        if spec.warmup:
            if spec.duration:  # the warmup is bounded as the measured part is: a stalled server cannot hold it
                load.end_by = time.perf_counter() + spec.duration + spec.grace
            await load.closed_loop(spec.warmup, spec.concurrency or 8, measured=False)
            load.end_by = None
        if before_measure is not None:
            await before_measure()
        lag: list[float] = []
        stop = asyncio.Event()
        probe = asyncio.ensure_future(_loop_lag(lag, stop))
        start = load.start = time.perf_counter()
        if spec.duration:
            load.deadline = start + spec.duration
            load.end_by = load.deadline + spec.grace
        if spec.rate:
            await load.open_loop(spec.requests, spec.rate, start)
        else:
            await load.closed_loop(spec.requests, spec.concurrency or 8, measured=True)
        wall = time.perf_counter() - start
        stop.set()
        await probe
    finally:
        if load.pools is not None:
            load.pools.close()
    return load.records, wall, lag
