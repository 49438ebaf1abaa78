"""The one exception tree of streamchat; every failure a user can see is one of these.

Foreign exceptions (httpx, websockets, OSError, pydantic) are translated into this tree at the
boundary where they happen (``raise ... from exc``); the CLI prints ``streamchat: error: ...``
and exits with the class's ``exit_code`` (SPEC §5)::

    StreamchatError                 1
    ├── ServerReportedError         1   an error event, an in-band error object, WebSocket 1011
    ├── UsageError                  2   bad option, unreadable/malformed input file, bad URL
    │   └── WriteFailedError        2   stdout, a -C or --record file could not be written
    ├── ConnectionLostError         3   refused, DNS, TLS, reset, WebSocket 1006
    ├── StreamTimeoutError          4   connect timeout, read timeout (silence)
    ├── AuthError                   5   HTTP 401/403, WebSocket 1008
    ├── HTTPStatusError             6   any other HTTP error status
    ├── ProtocolError               7   malformed stream, wrong content type, truncation, size cap
    ├── CheckFailedError            8   --expect / --max-ttft / --min-tps / bench compare
    └── InterruptedError_         130   Ctrl-C / SIGTERM
"""

from __future__ import annotations


class StreamchatError(Exception):
    """Base class: ``str(exc)`` is the one-line message, ``hint`` an optional second line."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class ServerReportedError(StreamchatError):
    exit_code = 1

    def __init__(self, message: str, *, code: object = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.code = code


class UsageError(StreamchatError):
    exit_code = 2


class WriteFailedError(UsageError):
    """Output the user asked for could not be written (a full disk, a closed stdout): ``write_failed``."""

    code = "write_failed"


class ConnectionLostError(StreamchatError):
    exit_code = 3


class StreamTimeoutError(StreamchatError):
    exit_code = 4


class AuthError(StreamchatError):
    exit_code = 5


class HTTPStatusError(StreamchatError):
    exit_code = 6

    def __init__(self, message: str, *, status: int, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status


class ProtocolError(StreamchatError):
    exit_code = 7


class CheckFailedError(StreamchatError):
    exit_code = 8


class InterruptedError_(StreamchatError):  # noqa: N801 - the builtin InterruptedError means EINTR
    exit_code = 130


__all__ = [
    "AuthError",
    "CheckFailedError",
    "ConnectionLostError",
    "HTTPStatusError",
    "InterruptedError_",
    "ProtocolError",
    "ServerReportedError",
    "StreamTimeoutError",
    "StreamchatError",
    "UsageError",
    "WriteFailedError",
]
