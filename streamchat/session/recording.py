"""``--record FILE`` and ``--replay FILE``: a response as received, with arrival times, and played back.

A recording is NDJSON. The first line describes it; each further line is one network read::

    {"streamchat_recording": 1, "transport": "sse", "dialect": "openai", "url": "...", "content_type": "text/event-stream", "status": 200}
    {"t": 0.0312, "text": "data: {...}\\n\\n"}        # SSE: the body bytes of one read (after HTTP chunk framing),
    {"t": 0.0415, "b64": "..."}                      #      as text when they are valid UTF-8, else base64
    {"t": 0.0520, "frames": ["{...}", "{...}"]}      # WebSocket: the text messages completed by one read

``t`` is seconds since the request was sent. Only the response is kept: never a request header, so
never the Authorization header; URL query parameters that carry credentials are redacted, and the
token itself is replaced wherever it might appear. Every line is flushed as it is written, so a
failed or interrupted run leaves a recording of everything received up to that point.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..errors import UsageError, WriteFailedError
from ..protocol import strict_json
from ..secrets import REDACTED, Scrubber, active

VERSION = 1
_SECRET_PARAMS = {"token", "access_token", "api_key", "apikey", "key", "auth", "password", "sig", "signature"}


def redact_url(url: str, token: str | None = None) -> str:
    parts = urlsplit(url)
    query = [(k, REDACTED if k.lower() in _SECRET_PARAMS else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    netloc = parts.netloc
    if "@" in netloc:  # user:password@host
        netloc = REDACTED + "@" + netloc.rsplit("@", 1)[1]
    out = urlunsplit(parts._replace(netloc=netloc, query=urlencode(query, safe="<>")))
    return out.replace(token, REDACTED) if token else out


class Recorder:
    """Writes a recording as the response arrives. Credentials are scrubbed from the raw bytes
    before they are encoded (text or base64), across read boundaries too. A write that fails (a
    full disk) stops the recording but not the reply: ``close()`` then raises ``WriteFailedError``."""

    def __init__(self, path: str, transport: str, dialect: str, url: str, token: str | None = None) -> None:
        self.path = path
        self.token = token
        self.scrubber = Scrubber(*active().secrets, token)
        self._body = self.scrubber.bytes_stream()
        self.failed: str | None = None
        self.closed = False
        try:
            self._file: BinaryIO | None = open(path, "wb")  # noqa: SIM115 - closed by close()
        except OSError as exc:
            raise UsageError(f"cannot write the recording {path!r}: {exc.strerror or exc}") from None
        self.t0 = time.perf_counter()
        self.head: dict[str, Any] = {
            "streamchat_recording": VERSION,
            "transport": transport,
            "dialect": dialect,
            "url": redact_url(url, token),
        }
        self._head_written = False

    def start(self, **response: Any) -> None:
        """The response head is in: write the description line (content type, status)."""
        self.head.update(response)
        self._write(self.head)
        self._head_written = True

    def _write(self, obj: dict[str, Any]) -> None:
        if self._file is None:
            return
        line = self.scrubber.text(strict_json.dumps(obj, ensure_ascii=False)) + "\n"
        try:
            self._file.write(line.encode("utf-8"))
            self._file.flush()
        except OSError as exc:
            self.failed = exc.strerror or str(exc)
            self._drop_file()

    def _drop_file(self) -> None:
        file, self._file = self._file, None
        try:
            if file is not None:
                file.close()
        except OSError:
            pass  # what the buffer held is lost with the rest

    def _ensure_head(self) -> None:
        if not self._head_written:
            self.start()

    def chunk(self, data: bytes) -> None:
        self._entry(self._body.feed(data))

    def _entry(self, data: bytes) -> None:
        if not data:
            return
        self._ensure_head()
        entry: dict[str, Any] = {"t": round(time.perf_counter() - self.t0, 6)}
        try:
            entry["text"] = data.decode("utf-8")
        except UnicodeDecodeError:
            entry["b64"] = base64.b64encode(data).decode("ascii")
        self._write(entry)

    def tap(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        for data in chunks:
            self.chunk(data)
            yield data

    def frames(self, messages: list[str]) -> None:
        if messages:
            self._ensure_head()
            self._write({"t": round(time.perf_counter() - self.t0, 6), "frames": [self.scrubber.text(m) for m in messages]})

    def close(self, *, quiet: bool = False) -> None:
        """The end: what scrubbing held back, then the file closed. Raises ``WriteFailedError`` if a
        write failed (unless ``quiet``: the run is failing for another reason, which it reports).
        Closing again only says again whether a write failed."""
        if not self.closed:
            self.closed = True
            self._entry(self._body.close())
            self._ensure_head()
            if self._file is not None:
                try:
                    self._file.close()
                except OSError as exc:
                    self.failed = self.failed or exc.strerror or str(exc)
                self._file = None
        if not quiet:
            self.check()

    def check(self) -> None:
        """Raises ``WriteFailedError`` if a write has failed so far."""
        if self.failed:
            raise WriteFailedError(f"could not write the recording {self.path!r}: {self.failed}")


class Recording:
    """A recording read back: its description and its reads, in order."""

    def __init__(self, path: str, stdin: Any = None) -> None:
        from .inputs import json_object, read_file_bytes

        raw = read_file_bytes(path, "recording", stdin).decode("utf-8", "replace").split("\n")
        if not raw:
            raise UsageError(f"{path}: an empty recording")
        entries = []
        for number, line in enumerate(raw, 1):
            if not line.strip():
                continue
            entries.append((number, json_object(line, f"{path}:{number}", "recording entry")))
        number, head = entries[0]
        if head.get("streamchat_recording") != VERSION:
            raise UsageError(f"{path}:{number}: not a streamchat recording (made with --record)")
        self.head = head
        self.transport = str(head.get("transport", "sse"))
        self.dialect = str(head.get("dialect", "streamchat"))
        self.content_type = str(head.get("content_type", "text/event-stream"))
        self.entries: list[tuple[float, Any]] = []
        for number, entry in entries[1:]:
            t = entry.get("t")
            if not isinstance(t, int | float):
                raise UsageError(f"{path}:{number}: entry without a time 't'")
            if "text" in entry:
                self.entries.append((float(t), str(entry["text"]).encode("utf-8")))
            elif "b64" in entry:
                try:
                    self.entries.append((float(t), base64.b64decode(entry["b64"], validate=True)))
                except ValueError:
                    raise UsageError(f"{path}:{number}: bad base64") from None
            elif isinstance(entry.get("frames"), list):
                self.entries.append((float(t), [str(f) for f in entry["frames"]]))
            else:
                raise UsageError(f"{path}:{number}: entry with none of text, b64, frames")

    def play(self, paced: bool) -> Iterator[Any]:
        """The reads in order; ``paced`` waits until each one's original arrival time."""
        start = time.perf_counter()
        for t, data in self.entries:
            if paced:
                delay = start + t - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            yield data
