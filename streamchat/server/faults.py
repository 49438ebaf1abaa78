"""Fault knobs, asked per request with ``X-Streamchat-Fault`` or ``?fault=`` (never by default).

Several knobs are joined with ``;`` or ``,``; each is ``name`` or ``name=value``. The table ``KNOBS``
is the whole language: what each knob is called, which field of ``Fault`` it sets, and how its value
is read. Which transports act on which knob is said where they act (README: the fault table).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import UsageError

OVERSIZE_DEFAULT = 11 * 1024 * 1024  # over every client's default response cap (10 MiB)


@dataclass
class Fault:
    spec: str = ""
    drop_after: int | None = None  # abort the connection after N tokens (no clean end)
    stall_after: int | None = None  # stop sending after N tokens, keep the connection open
    error_after: int | None = None  # the dialect's error event after N tokens
    close_after: int | None = None  # (WebSocket) close after N tokens with close_code
    close_code: int | None = None
    status: int | None = None  # answer HTTP C instead of the reply
    retry_after: str | None = None
    count: int | None = None  # the faults apply to the first K requests carrying them only
    on_turn: int | None = None  # (WebSocket) the faults apply to turn K only
    garbage: bool = False  # bytes that are not a valid event before the reply
    oversize: int | None = None  # more content than the client's cap
    content_type: str | None = None  # 200 with another content type
    empty: bool = False  # 200 with an empty body
    escape: bool = False  # terminal escape sequences in the content
    json: bool = False  # one complete JSON body for a streaming request
    backend_error: bool = False  # (Open WebUI socket) chat:message:error
    foreign: bool = False  # (Open WebUI socket) another message id's events first
    call: str | None = None  # (Open WebUI socket) a server call before the reply
    bad_base64: int | None = None  # (camera) frame N has invalid base64
    not_jpeg: int | None = None  # (camera) frame N is not a JPEG
    missing: int | None = None  # (camera) frame N lacks a field

    def stop_at(self, sent: int, last: bool, actions: tuple[str, ...] | None = None) -> str | None:
        """The fault that ends a stream before item ``sent`` (0-based), if any: ``drop``, ``close``,
        ``stall`` or ``error``. At the ``last`` point, where only the clean end would follow, every
        such knob fires even when the reply was shorter than its N: the end never comes cleanly."""
        for action in actions or STOPS:
            after = getattr(self, f"{action}_after")
            if after is not None and (sent >= after or last):
                return action
        return None


STOPS = ("drop", "close", "stall", "error")  # checked in this order at each point


@dataclass(frozen=True)
class Knob:
    field: str
    read: Callable[[str], Any]
    when_bare: Any = None  # the value of ``name`` given without ``=value`` (None: a value is required)


def _number(value: str) -> int:
    return int(value)


def _text(value: str) -> str:
    return value


def _status(value: str) -> int:
    """A final HTTP status: a 1xx is no answer (the client waits for the real one) and below 100 or
    over 599 the server could send no response at all, only drop the connection."""
    try:
        status = int(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a number") from None
    if not 200 <= status <= 599:
        raise ValueError(f"{status} is not an HTTP status from 200 to 599")
    return status


FLAGS = {"true": True, "1": True, "yes": True, "on": True, "false": False, "0": False, "no": False, "off": False}


def _flag(value: str) -> bool:
    """``garbage=false`` turns the knob off (``bool("false")`` would have turned it on)."""
    try:
        return FLAGS[value.lower()]
    except KeyError:
        raise ValueError(f"{value!r} is not true or false") from None


KNOBS: dict[str, Knob] = {
    "drop-after": Knob("drop_after", _number),
    "stall-after": Knob("stall_after", _number),
    "error-after": Knob("error_after", _number),
    "close-after": Knob("close_after", _number),
    "code": Knob("close_code", _number),
    "status": Knob("status", _status),
    "retry-after": Knob("retry_after", _text),
    "count": Knob("count", _number),
    "on-turn": Knob("on_turn", _number),
    "id": Knob("spec", lambda value: None),  # no effect but to give a `count` its own tally (it is part of `spec`)
    "garbage": Knob("garbage", _flag, True),
    "oversize": Knob("oversize", _number, OVERSIZE_DEFAULT),
    "content-type": Knob("content_type", _text),
    "empty": Knob("empty", _flag, True),
    "escape": Knob("escape", _flag, True),
    "json": Knob("json", _flag, True),
    "backend-error": Knob("backend_error", _flag, True),
    "foreign": Knob("foreign", _flag, True),
    "call": Knob("call", _text, "confirmation"),
    "bad-base64": Knob("bad_base64", _number),
    "not-jpeg": Knob("not_jpeg", _number),
    "missing": Knob("missing", _number),
}


def parse_fault(spec: str | None) -> Fault:
    fault = Fault(spec=(spec or "").strip())
    for item in fault.spec.replace(",", ";").split(";"):
        name, has_value, value = (part.strip() for part in item.partition("="))
        if not name:
            continue
        knob = KNOBS.get(name.lower())
        if knob is None:
            raise UsageError(f"unknown fault {name.lower()!r}")
        if knob.field == "spec":
            continue
        if not value and knob.when_bare is not None:
            setattr(fault, knob.field, knob.when_bare)
            continue
        try:
            setattr(fault, knob.field, knob.read(value))
        except ValueError as exc:
            reason = str(exc) if knob.read in (_status, _flag) else f"{value!r} is not a number"
            raise UsageError(f"fault {item.strip()!r}: {reason}") from exc
    return fault


class FaultCounter:
    """How many requests each fault with ``count=K`` has met."""

    def __init__(self) -> None:
        self._seen: dict[str, int] = {}
        self._lock = threading.Lock()

    def take(self, fault: Fault) -> bool:
        """True while this fault still applies: always, or for the first ``count`` requests carrying it."""
        if fault.count is None:
            return True
        with self._lock:
            seen = self._seen.get(fault.spec, 0)
            self._seen[fault.spec] = seen + 1
            return seen < fault.count


class DropConnection(Exception):
    """Raised by an endpoint to make the server abort the connection mid-reply (no clean end)."""
