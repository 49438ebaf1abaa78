"""What one reply amounted to: its text, usage, end and timing (pure bookkeeping, no I/O)."""

from __future__ import annotations

from typing import Any

from ..events import Done, Error, Event, ToolCall, Tps, Usage


class TextBuffer:
    """Many small strings kept as few: every 1,024 parts are joined into one.

    A 200,000-token reply as 200,000 str objects cost about 13 MB over its 1.3 MB of text; joined
    in blocks it costs little more than the text itself (benchmarks/memory.py).
    """

    __slots__ = ("_blocks", "_parts")
    BLOCK = 1024

    def __init__(self) -> None:
        self._blocks: list[str] = []
        self._parts: list[str] = []

    def append(self, text: str) -> None:
        parts = self._parts
        parts.append(text)
        if len(parts) >= self.BLOCK:
            self._blocks.append("".join(parts))
            parts.clear()

    def extend(self, texts: list[str]) -> None:
        parts = self._parts
        parts.extend(texts)
        if len(parts) >= self.BLOCK:
            self._blocks.append("".join(parts))
            parts.clear()

    def __str__(self) -> str:
        return "".join(self._blocks) + "".join(self._parts)


class Reply:
    """Accumulates events as they arrive; times are ``time.perf_counter()`` seconds."""

    def __init__(self, t_start: float, keep_text: bool = True) -> None:
        self.t_start = t_start
        self.t_first: float | None = None
        self.t_last: float | None = None
        self.t_end: float | None = None
        self.keep_text = keep_text
        self.content_parts = TextBuffer()
        self.reasoning_parts = TextBuffer()
        self.content_events = 0
        self.events = 0
        self.tool_calls: list[dict[str, str]] = []  # each complete call's id, name and arguments
        self.usage: Usage | None = None
        self.tps: float | None = None
        self.finish_reason: str | None = None
        self.error: Error | None = None
        self.done = False
        self.retry_wait = 0.0  # seconds spent waiting between attempts before the reply began
        self.timed = True  # False for a recording played instantly: its times say nothing, so no rates

    def add(self, events: list[Event], now: float) -> None:
        texts = [event.text for event in events if event.type == "content"]  # type: ignore[union-attr]
        if texts and len(texts) == len(events):  # a read of tokens only: the hot path, in bulk
            self.events += len(texts)
            self.content_events += len(texts)
            if self.keep_text:
                self.content_parts.extend(texts)
            if self.t_first is None:
                self.t_first = now
            self.t_last = now
            return
        for event in events:
            self.events += 1
            kind = event.type
            if kind == "content":
                self.content_events += 1
                text = event.text  # type: ignore[union-attr]
                if self.keep_text:
                    self.content_parts.append(text)
                if self.t_first is None:
                    self.t_first = now
                self.t_last = now
            elif kind == "reasoning":
                if self.keep_text:
                    self.reasoning_parts.append(event.text)  # type: ignore[union-attr]
                if self.t_first is None:
                    self.t_first = now
                self.t_last = now
            elif isinstance(event, Usage):
                self.usage = event
            elif isinstance(event, Tps):
                self.tps = event.tps
            elif isinstance(event, Done):
                self.done = True
                self.finish_reason = event.finish_reason
            elif isinstance(event, Error):
                self.error = event
            elif isinstance(event, ToolCall):
                self.tool_calls.append(event.fields())

    @property
    def content(self) -> str:
        return str(self.content_parts)

    @property
    def reasoning(self) -> str:
        return str(self.reasoning_parts)

    @property
    def output_tokens(self) -> int:
        """Server usage when given, else the number of content events."""
        return self.usage.output_tokens if self.usage is not None else self.content_events

    def ttft_ms(self) -> float | None:
        return None if self.t_first is None else (self.t_first - self.t_start) * 1000.0

    def total_ms(self) -> float:
        end = self.t_end if self.t_end is not None else self.t_start
        return (end - self.t_start) * 1000.0

    def client_tps(self) -> float | None:
        """Output tokens over the time from the first token to the last one: only when that means
        something (at least 2 tokens over at least 1 ms, from a live stream or a paced replay)."""
        if not self.timed or self.t_first is None or self.t_last is None or self.t_last - self.t_first < 0.001:
            return None
        tokens = self.output_tokens
        if tokens < 2:
            return None
        return (tokens - 1) / (self.t_last - self.t_first)

    def summary(self) -> dict[str, Any]:
        """The ``-o json`` object (docs/events.md): ``tool_calls`` is always there, ``[]`` when none."""
        ttft = self.ttft_ms()
        client_tps = self.client_tps()
        error = None
        if self.error is not None:
            error = {"message": self.error.message}
            if self.error.code is not None:
                error["code"] = self.error.code
        return {
            "content": self.content,
            "reasoning": self.reasoning,
            "finish_reason": self.finish_reason,
            "usage": self.usage.fields() if self.usage is not None else None,
            "tps": self.tps,
            "error": error,
            "done": self.done,
            "timing": {
                "ttft_ms": None if ttft is None else round(ttft, 1),
                "total_ms": round(self.total_ms(), 1),
                "client_tps": None if client_tps is None else round(client_tps, 1),
                "events": self.events,
            },
            "tool_calls": list(self.tool_calls),
        }

    def report_line(self) -> str:
        """``streamchat: 10 in → 150 out · 42.5 tok/s · first token 120 ms · 3.51 s``."""
        parts = []
        if self.usage is not None:
            parts.append(f"{self.usage.input_tokens} in → {self.usage.output_tokens} out")
        if self.tps is not None:
            parts.append(f"{self.tps:.1f} tok/s")
        else:
            measured = self.client_tps()
            if measured is not None:
                parts.append(f"{measured:.1f} tok/s measured")
        ttft = self.ttft_ms()
        if ttft is not None:
            parts.append(f"first token {ttft:.0f} ms")
        parts.append(f"{self.total_ms() / 1000.0:.2f} s")
        if self.retry_wait:
            parts.append(f"after {self.retry_wait:.1f} s of retry waits")
        return "streamchat: " + " · ".join(parts)
