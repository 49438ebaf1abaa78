"""The bench load generator: asyncio, one task per request, monotonic timestamps at byte arrival.

Timers start at the intended send time as well as the actual one (coordinated omission shows up as
``schedule_lag_ms``); the connection pool is sized to the concurrency; an event-loop lag probe says
whether the client itself was too busy to measure well.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from dataclasses import dataclass, field
from typing import Any

from ..errors import StreamchatError
from ..protocol.normalize import Normalizer
from ..protocol.requests import ChatRequest, http_request, ws_frame
from ..protocol.sse import SSEDecoder

_TOKEN_EVENTS = ("content", "reasoning")


@dataclass
class LoadSpec:
    url: str
    dialect: str = "streamchat"
    transport: str = "sse"
    requests: int = 100
    concurrency: int = 8
    rate: float | None = None
    arrival: str = "poisson"
    duration: float | None = None
    warmup: int = 0
    prompts: list[ChatRequest] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    read_timeout: float = 60.0
    connect_timeout: float = 10.0
    seed: int = 0


def _error_kind(exc: BaseException) -> str:
    if isinstance(exc, StreamchatError):
        return type(exc).__name__.replace("Error", "").replace("_", "").lower() or "error"
    if isinstance(exc, asyncio.TimeoutError | TimeoutError):
        return "timeout"
    name = type(exc).__name__
    if "Timeout" in name:
        return "timeout"
    if "Connect" in name or "Closed" in name or isinstance(exc, OSError):
        return "connection"
    return "protocol"


class Timeline:
    """One request's timestamps: send, then every token event (perf_counter seconds)."""

    def __init__(self, intended: float, sent: float) -> None:
        self.intended = intended
        self.sent = sent
        self.tokens: list[float] = []
        self.usage_tokens: int | None = None
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
        return out


def _take(timeline: Timeline, events: list[Any], now: float) -> bool:
    """Fold events into the timeline; True at the end of the reply."""
    for event in events:
        kind = event.type
        if kind in _TOKEN_EVENTS:
            timeline.tokens.append(now)
        elif kind == "usage":
            timeline.usage_tokens = event.output_tokens
        elif kind == "error":
            timeline.error = event.message
            return True
        elif kind == "done":
            timeline.done = True
            return True
    return False


async def _sse_request(client: Any, spec: LoadSpec, request: ChatRequest, timeline: Timeline) -> None:
    method, url, body = http_request(spec.dialect, spec.url, request)
    normalizer = Normalizer(spec.dialect)
    decoder = SSEDecoder()
    headers = {"Accept": "text/event-stream", "Accept-Encoding": "identity", **spec.headers}
    async with client.stream(method, url, json=body, headers=headers) as response:
        if response.status_code >= 400:
            await response.aread()
            raise RuntimeError(f"http_{response.status_code}")
        async for chunk in response.aiter_raw():
            now = time.perf_counter()
            for message in decoder.feed(chunk):
                if _take(timeline, normalizer.sse(message.event, message.data), now):
                    timeline.end = now
                    return
        done = normalizer.end_of_stream()
        timeline.end = time.perf_counter()
        if done is not None:
            timeline.done = True


async def _ws_request(spec: LoadSpec, request: ChatRequest, timeline: Timeline) -> None:
    from websockets.asyncio.client import connect

    from ..client.ws import to_ws_url

    normalizer = Normalizer("streamchat")
    async with connect(to_ws_url(spec.url), additional_headers=spec.headers, max_size=None, open_timeout=spec.connect_timeout) as ws:
        await ws.send(json.dumps(ws_frame(request)))
        while True:
            text = await asyncio.wait_for(ws.recv(), spec.read_timeout)
            now = time.perf_counter()
            if _take(timeline, normalizer.data(text if isinstance(text, str) else text.decode()), now):
                timeline.end = now
                return


async def _loop_lag(samples: list[float], stop: asyncio.Event, period: float = 0.005) -> None:
    while not stop.is_set():
        start = time.perf_counter()
        await asyncio.sleep(period)
        samples.append((time.perf_counter() - start - period) * 1000.0)


async def run_load(spec: LoadSpec, on_record: Any = None) -> tuple[list[dict[str, Any]], float, list[float]]:
    """Run the load; returns (records of measured requests, wall seconds, event-loop lag samples in ms)."""
    import httpx

    rng = random.Random(spec.seed)
    total = spec.warmup + spec.requests
    limits = httpx.Limits(max_connections=spec.concurrency + 8, max_keepalive_connections=spec.concurrency + 8)
    timeout = httpx.Timeout(spec.read_timeout, connect=spec.connect_timeout)
    semaphore = asyncio.Semaphore(spec.concurrency)
    records: list[dict[str, Any]] = []
    lag: list[float] = []
    stop = asyncio.Event()
    probe = asyncio.ensure_future(_loop_lag(lag, stop))
    start = time.perf_counter()
    deadline = start + spec.duration if spec.duration else None

    async with httpx.AsyncClient(limits=limits, timeout=timeout, trust_env=False, http2=False) as client:

        async def one(index: int, intended: float) -> None:
            delay = intended - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            async with semaphore:
                if deadline is not None and time.perf_counter() > deadline:
                    return
                request = spec.prompts[index % len(spec.prompts)]
                timeline = Timeline(intended, time.perf_counter())
                try:
                    if spec.transport == "ws":
                        await _ws_request(spec, request, timeline)
                    else:
                        await _sse_request(client, spec, request, timeline)
                    status = "ok" if timeline.done else ("server_error" if timeline.error else "truncated")
                except Exception as exc:  # noqa: BLE001 - every failure is a counted kind, never a crash
                    text = str(exc)
                    status = text if text.startswith("http_") else _error_kind(exc)
                    timeline.error = text or type(exc).__name__
                if index >= spec.warmup:
                    record = {"id": index - spec.warmup, **timeline.record(status)}
                    records.append(record)
                    if on_record is not None:
                        on_record(record)

        tasks = []
        offset = 0.0
        for index in range(total):
            if spec.rate:
                gap = rng.expovariate(spec.rate) if spec.arrival == "poisson" else 1.0 / spec.rate
                offset += gap if index else 0.0
                intended = start + offset
            else:
                intended = time.perf_counter()  # closed loop: intended = when a slot is asked for
            tasks.append(asyncio.ensure_future(one(index, intended)))
        await asyncio.gather(*tasks)
    wall = time.perf_counter() - start
    stop.set()
    await probe
    return records, wall, lag
