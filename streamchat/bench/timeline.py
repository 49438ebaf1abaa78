"""One request's timeline (send, every token, end) and how events fill it.

A streamed reply's events are stamped with the arrival time of the read that brought them. A
non-streamed reply (``200 application/json``, what some servers answer a streaming request with) is
one answer, decoded when its last byte arrives (``protocol/body.py``), so its TTFT is the whole
exchange, as ``chat`` measures it.
"""

from __future__ import annotations

from typing import Any

_TOKEN_EVENTS = ("content", "reasoning")  # TTFT is the first of them, as chat measures it (tool calls are not tokens)


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
