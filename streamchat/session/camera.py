"""``camera``: a camera's frame stream over WebSocket (``docs/protocols.md#camera``).

Frames are checked and written as they come; saving, annotating and forwarding happen here, the
forwarding on a thread behind a bounded queue so a slow backend never stalls the receive loop.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ..client.retry import WS_RETRY_STATUSES, RetryPolicy
from ..env import Environment
from ..errors import ConnectFailedError, ProtocolError, StreamchatError, UsageError, WriteFailedError
from ..protocol import strict_json
from ..protocol.frames import BadFrame, keep_detections, parse_frame
from ..secrets import active
from ..terminal import one_line
from .annotate import annotate
from .forward import Forwarder
from .output import StdoutClosed, stderr_line, write_stdout

DEFAULT_PORT = 7103


def camera_url(url: str, camera_id: str) -> str:
    """``{camera_id}`` templates; no path → ``/ws/stream/{id}``; no port → 7103."""
    if "{camera_id}" in url:
        url = url.replace("{camera_id}", camera_id)
    parts = urlsplit(url)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme.lower(), parts.scheme.lower())
    if scheme not in ("ws", "wss") or not parts.hostname:
        raise UsageError(f"bad URL {url!r}: expected ws://HOST[:PORT] (or wss, http, https)")
    try:
        port = parts.port
    except ValueError:
        raise UsageError(f"bad URL {url!r}: the port must be a number from 0 to 65535") from None
    netloc = parts.netloc if port else f"{parts.netloc}:{DEFAULT_PORT}"
    path = parts.path if parts.path not in ("", "/") else f"/ws/stream/{camera_id}"
    return urlunsplit((scheme, netloc, path, parts.query, ""))


class StrictBadFrame(ProtocolError):
    """With --strict, a bad frame ends the run (status 7), even if the server had closed meanwhile."""


@dataclass
class CameraOptions:
    output: str = "ndjson"
    frames: int | None = None
    duration: float | None = None
    min_confidence: float | None = None
    classes: list[str] = field(default_factory=list)
    save_dir: str | None = None
    annotate: bool = False
    include_frame: bool = False
    strict: bool = False
    forward_url: str | None = None
    token: str | None = None
    retries: int = 5
    quiet: bool = False

    def __post_init__(self) -> None:
        from .inputs import check_finite

        check_finite(self)


@dataclass
class CameraStats:
    frames: int = 0
    bytes: int = 0
    detections: int = 0
    bad: int = 0
    drops: int = 0
    reconnects: int = 0
    latency_total: float = 0.0
    forwarded: int = 0
    forward_dropped: int = 0
    forward_failed: int = 0

    def line(self, elapsed: float, forwarding: bool) -> str:
        fps = self.frames / elapsed if elapsed > 0 else 0.0
        rate = self.bytes / elapsed / 1024 if elapsed > 0 else 0.0
        latency = self.latency_total / self.frames if self.frames else 0.0
        parts = [
            f"{self.frames} frames",
            f"{fps:.1f} fps",
            f"{rate:.1f} KiB/s",
            f"{self.detections} detections",
            f"{self.bad} bad frames",
            f"{self.drops} drops",
            f"{self.reconnects} reconnects",
            f"mean latency {latency:.1f} ms",
        ]
        if forwarding:
            parts.append(f"forwarded {self.forwarded} ({self.forward_dropped} dropped, {self.forward_failed} failed)")
        return "streamchat: " + " · ".join(parts)


class CameraRun:
    def __init__(self, url: str, camera_id: str, ws_opts: Any, opts: CameraOptions, env: Environment) -> None:
        self.url = camera_url(url, camera_id)
        self.camera_id = camera_id
        self.ws_opts = ws_opts
        self.opts = opts
        self.env = env
        self.stats = CameraStats()
        self.seq = 0
        self._out: list[bytes] = []
        self.closed = False  # stdout's reader went away: end quietly, no summary
        self.forwarder = Forwarder(opts.forward_url, opts.token, self.stats) if opts.forward_url else None
        if opts.save_dir:
            check_save_dir(opts.save_dir)

    def flush(self) -> None:
        if self._out:
            data = b"".join(self._out)
            self._out.clear()
            try:
                write_stdout(self.env, data)
            except StreamchatError:
                self.closed = True
                raise
            except StdoutClosed:
                self.closed = True
                raise

    def done(self, started: float) -> bool:
        if self.opts.frames is not None and self.stats.frames >= self.opts.frames:
            return True
        return self.opts.duration is not None and time.monotonic() - started >= self.opts.duration

    def run(self) -> int:
        from ..client.ws import WSConnection

        started = time.monotonic()
        until = started + self.opts.duration if self.opts.duration is not None else None
        failures = 0  # in a row: reset by every good frame
        # (what counts as a drop worth reconnecting for is the camera's own rule, _reconnectable; how long
        # to wait is the one retry policy's)
        policy = RetryPolicy(self.opts.retries, WS_RETRY_STATUSES, sleep=self.ws_opts.sleep)
        connected = False
        try:
            while not self.done(started):
                conn = WSConnection(self.url, self._bounded_by(until))
                conn.before_read = self.flush
                try:
                    conn.open()
                    connected = True
                    while not self.done(started):
                        for text in conn.receive(until):
                            if self.handle(text):
                                failures = 0
                            if self.done(started):
                                break
                except (StrictBadFrame, WriteFailedError):
                    conn.close()
                    raise  # our own end of the run, whatever the connection was doing
                except StreamchatError as exc:
                    # decide from how the server ended it, before our own close adds a close frame
                    received = conn.protocol.close_rcvd
                    reconnectable = _reconnectable(exc, conn, policy)
                    conn.close()
                    clean_end = isinstance(exc, ProtocolError) and received is not None and received.code in (1000, 1001)
                    if clean_end and self.opts.frames is None and self.opts.duration is None:
                        return 0  # the camera ended the stream: that is the end of the run
                    if not reconnectable or failures >= self.opts.retries:
                        raise
                    if conn.opened:
                        self.stats.drops += 1
                    delay = policy.delay(failures, exc)  # 1 s·2ⁿ with jitter, or the server's Retry-After
                    self._note(f"streamchat: {exc.message}; reconnecting in {delay:.1f} s ({failures + 1}/{self.opts.retries})")
                    self.flush()
                    self.ws_opts.sleep(delay if until is None else max(0.0, min(delay, until - time.monotonic())))
                    failures += 1
                    self.stats.reconnects += 1
                    continue
                conn.close(1000)
            if not connected:
                raise ConnectFailedError(f"never connected to {self.url} within --duration ({self.opts.duration:g} s)")
            return 0
        except KeyboardInterrupt:
            from ..errors import InterruptedError_

            self._fail(InterruptedError_("interrupted"))
            raise InterruptedError_("interrupted") from None
        except StdoutClosed:
            raise
        except StreamchatError as exc:
            self._fail(exc)
            raise
        finally:
            if not self.closed:
                self.flush()
            elapsed = time.monotonic() - started  # (the rates are the stream's: the forwarder's drain is not)
            if self.forwarder is not None:
                # what the backend has not taken yet: drained within --duration, else up to 5 s
                self.forwarder.close(wait=5.0 if until is None else max(0.0, until - time.monotonic()))
            if not self.closed:
                self._note(self.stats.line(elapsed, self.forwarder is not None))

    def _bounded_by(self, until: float | None) -> Any:
        """The WebSocket settings, with connecting bounded by what is left of --duration."""
        if until is None:
            return self.ws_opts
        import dataclasses

        left = max(0.001, until - time.monotonic())
        return dataclasses.replace(self.ws_opts, connect_timeout=min(self.ws_opts.connect_timeout, left))

    def _fail(self, exc: StreamchatError) -> None:
        """A run that fails says why as its last NDJSON line, as chat does (``docs/events.md#failures``)."""
        if self.opts.output != "ndjson" or self.closed:
            return
        record: dict[str, Any] = {"type": "error", "message": exc.message, "code": exc.code}
        status = getattr(exc, "status", None)
        if isinstance(status, int):
            record["status"] = status
        self._line(record)

    def _note(self, line: str) -> None:
        if not self.opts.quiet:
            stderr_line(self.env, line)

    def _bad(self, exc: BadFrame) -> bool:
        """A frame that cannot be used: counted and reported; fatal only with --strict."""
        self.stats.bad += 1
        if self.opts.output == "ndjson":
            self._line({"type": "error", "message": str(exc), "code": "bad_frame"})  # with --strict, the run's failure follows
        elif not self.opts.strict:
            self._note(f"streamchat: bad frame: {exc}")
        if self.opts.strict:
            raise StrictBadFrame(f"bad frame: {exc}") from None
        return False

    def _line(self, record: dict[str, Any]) -> None:
        self._out.append(active().text(strict_json.dumps(record)).encode() + b"\n")

    def handle(self, text: str) -> bool:
        """One message: True for a good frame."""
        opts = self.opts
        try:
            frame = parse_frame(text)
            detections = keep_detections(frame.detections, opts.min_confidence, opts.classes)
            data = annotate(frame, detections) if opts.annotate and opts.save_dir else frame.jpeg
        except BadFrame as exc:
            return self._bad(exc)
        self.seq += 1
        stats = self.stats
        stats.frames += 1
        stats.bytes += len(frame.jpeg)
        latency = time.time() * 1000.0 - frame.timestamp
        stats.latency_total += latency
        stats.detections += len(detections)
        path = None
        if opts.save_dir:
            path = os.path.join(opts.save_dir, f"{_safe(self.camera_id)}-{self.seq:06d}.jpg")
            try:
                with open(path, "wb") as fh:
                    fh.write(data)
            except OSError as exc:
                raise WriteFailedError(f"could not save frame {path!r}: {exc.strerror or exc}") from None
        if self.forwarder is not None:
            self.forwarder.submit(frame)
        if opts.output == "mjpeg":
            self._out.append(frame.jpeg)
        elif opts.output == "text":
            found = ", ".join(f"{d['class']} {d['confidence']:.2f}" for d in detections) or "no detections"
            saved = f" → {path}" if path else ""
            line = f"{frame.camera_id} #{self.seq} {frame.width}x{frame.height} {len(frame.jpeg)} B {latency:.0f} ms: {found}{saved}"
            # one line a frame, and the server's camera id and classes cannot drive a terminal
            self._out.append(one_line(active().text(line)).encode("utf-8", "replace") + b"\n")
        else:
            record: dict[str, Any] = {
                "type": "frame",
                "camera_id": frame.camera_id,
                "seq": self.seq,
                "timestamp": frame.timestamp,
                "bytes": len(frame.jpeg),
                "width": frame.width,
                "height": frame.height,
                "latency_ms": round(latency, 1),
                "detections": detections,
            }
            if path is not None:
                record["path"] = path
            if opts.include_frame:
                record["frame"] = frame.encoded
            self._line(record)
        return True


def _reconnectable(exc: StreamchatError, conn: Any, policy: RetryPolicy) -> bool:
    """A drop worth reconnecting for: lost, refused, a handshake status the policy retries (429, 5xx),
    or a close that is not final."""
    from ..errors import AuthError, ConnectionLostError

    if isinstance(exc, AuthError):
        return False
    if isinstance(exc, ConnectionLostError) or policy.retryable(exc):
        return True
    received = conn.protocol.close_rcvd
    return received is not None and received.code in (1000, 1001, 1011, 1012, 1013, 1014)


def check_save_dir(path: str) -> None:
    """``--save-dir`` must take files, known before connecting: made if missing, then probed."""
    import tempfile

    try:
        os.makedirs(path, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".streamchat-probe-"):
            pass
    except OSError as exc:
        raise UsageError(f"cannot write to --save-dir {path!r}: {exc.strerror or exc}") from None


NAME_BYTES = 200  # of a saved frame's name from the camera id: the file system's limit is 255 bytes


def _safe(name: str) -> str:
    """The camera id as part of a file name: no separators, and short enough for the file system (a
    long id is cut, with a digest of the whole, so two long ids still name different files)."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "camera"
    raw = safe.encode("utf-8")
    if len(raw) <= NAME_BYTES:
        return safe
    import hashlib

    return raw[: NAME_BYTES - 13].decode("utf-8", "ignore") + "-" + hashlib.sha256(raw).hexdigest()[:12]


def camera(args: Any, env: Environment, camera_id: str, opts: CameraOptions) -> int:
    """``streamchat camera``: settings checked, then the run (``args``: the connection's ``ChatArgs``)."""
    import dataclasses

    from .settings import check_url, endpoint, resolve_ws

    notice = (lambda line: None) if opts.quiet else (lambda line: stderr_line(env, line))
    ws_opts, token = resolve_ws(args, env, notice)
    if opts.annotate and not opts.save_dir:
        raise UsageError("--annotate draws on saved frames: give --save-dir too")
    if opts.forward_url is not None:
        check_url(opts.forward_url, option="--forward")  # a backend that cannot be POSTed to is a usage error, not a failure a frame
    opts = dataclasses.replace(opts, token=token)
    with endpoint(args.url, "/ws/stream/{camera_id}", notice, ("ws", "wss", "http", "https")) as base:
        if args.url is None:
            base = base.replace("http://", "ws://", 1)
        return CameraRun(base, camera_id, ws_opts, opts, env).run()
