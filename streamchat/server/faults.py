"""Fault knobs, asked per request with ``X-Streamchat-Fault`` or ``?fault=`` (SPEC §10).

``drop-after=N``     abort the connection after N content tokens (no clean end)
``stall-after=N``    stop sending after N tokens and hold the connection open
``error-after=N``    send the dialect's error event after N tokens, then end
``status=C``         answer HTTP C (with ``retry-after=S``)
``count=K``          the faults apply to the first K requests (connections) carrying them only
``id=NAME``          no effect but to give a ``count`` its own tally
``garbage``          send bytes that are not a valid event before the reply
``oversize[=BYTES]`` stream more content than the client's cap (default 11 MiB)
``content-type=T``   answer 200 with another content type
``empty``            answer 200 text/event-stream with an empty body
``json``             answer a streaming request with one complete JSON body (OpenAI endpoint)
``close-after=N``    (WebSocket) close after N tokens with ``code=C`` (default 1000)
``on-turn=K``        (WebSocket) apply the faults to turn K of the connection only
``backend-error``, ``foreign``, ``call=TYPE``  (Open WebUI socket mode) see server/openwebui.py
``bad-base64=N``, ``not-jpeg=N``, ``missing=N``  (camera) frame N broken that way
``escape``           put terminal escape sequences in the content (what a hostile server does)
Several knobs are joined with ``;`` or ``,``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from ..errors import UsageError


@dataclass
class Fault:
    spec: str = ""
    drop_after: int | None = None
    stall_after: int | None = None
    error_after: int | None = None
    status: int | None = None
    retry_after: str | None = None
    count: int | None = None
    garbage: bool = False
    oversize: int | None = None
    content_type: str | None = None
    empty: bool = False
    escape: bool = False
    json: bool = False
    close_after: int | None = None
    close_code: int | None = None
    on_turn: int | None = None
    backend_error: bool = False
    foreign: bool = False
    call: str | None = None
    bad_base64: int | None = None
    not_jpeg: int | None = None
    missing: int | None = None

    @property
    def active(self) -> bool:
        return bool(self.spec)


def parse_fault(spec: str | None) -> Fault:
    fault = Fault(spec=(spec or "").strip())
    for item in fault.spec.replace(",", ";").split(";"):
        item = item.strip()
        if not item:
            continue
        key, _, value = item.partition("=")
        key = key.strip().lower()
        value = value.strip()
        try:
            if key == "drop-after":
                fault.drop_after = int(value)
            elif key == "stall-after":
                fault.stall_after = int(value)
            elif key == "error-after":
                fault.error_after = int(value)
            elif key == "status":
                fault.status = int(value)
            elif key == "retry-after":
                fault.retry_after = value
            elif key == "count":
                fault.count = int(value)
            elif key == "garbage":
                fault.garbage = True
            elif key == "oversize":
                fault.oversize = int(value) if value else 11 * 1024 * 1024
            elif key == "content-type":
                fault.content_type = value
            elif key == "empty":
                fault.empty = True
            elif key == "escape":
                fault.escape = True
            elif key == "json":
                fault.json = True
            elif key == "close-after":
                fault.close_after = int(value)
            elif key == "code":
                fault.close_code = int(value)
            elif key == "on-turn":
                fault.on_turn = int(value)
            elif key == "id":
                pass  # part of `spec`, which keys the count
            elif key == "backend-error":
                fault.backend_error = True
            elif key == "foreign":
                fault.foreign = True
            elif key == "call":
                fault.call = value or "confirmation"
            elif key == "bad-base64":
                fault.bad_base64 = int(value)
            elif key == "not-jpeg":
                fault.not_jpeg = int(value)
            elif key == "missing":
                fault.missing = int(value)
            else:
                raise UsageError(f"unknown fault {key!r}")
        except ValueError as exc:
            raise UsageError(f"fault {item!r}: {value!r} is not a number") from exc
    return fault


class FaultCounter:
    """How many requests each ``status`` fault has answered, for ``count=K``."""

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
    """Raised inside a streaming body to make the server abort the connection mid-reply."""
