"""One WebSocket connection: a plain socket driven through websockets' sans-I/O ``ClientProtocol``.

No background thread: the caller's loop reads the socket, so everything decoded from one read is
handled (and flushed) together, pings are sent when a read would wait too long, and a missed pong
or a silent server is noticed on the same clock. Failures become StreamchatErrors here (``docs/protocols.md#ws-close-codes``).
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from websockets.client import ClientProtocol
from websockets.exceptions import InvalidStatus, InvalidURI, PayloadTooBig
from websockets.exceptions import ProtocolError as WebSocketProtocolError
from websockets.frames import Opcode
from websockets.http11 import Response
from websockets.protocol import State
from websockets.uri import parse_uri

from .. import __version__, errors
from ..errors import AuthError, ConnectionLostError, ProtocolError, ServerReportedError, StreamchatError, StreamTimeoutError, UsageError
from .options import ConnectionOptions
from .retry import parse_retry_after
from .status import http_status_error

READ_SIZE = 256 * 1024


@dataclass
class WSOptions(ConnectionOptions):
    connect_timeout: float = 10.0  # what WebSocket chat servers expect a client to allow
    ping_interval: float = 30.0
    max_message_size: int = 50 * 1024 * 1024


def to_ws_url(url: str) -> str:
    """``http→ws``, ``https→wss`` (``docs/protocols.md#websocket-chat``); ws and wss as given."""
    parts = urlsplit(url)
    scheme = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}.get(parts.scheme.lower())
    if scheme is None or not parts.netloc:
        raise UsageError(f"bad URL {url!r}: expected ws://, wss://, http:// or https://HOST[:PORT]/PATH")
    return urlunsplit(parts._replace(scheme=scheme))


def closed_error(protocol: ClientProtocol) -> StreamchatError:
    """The error for a connection that closed before the reply was done (``docs/protocols.md#ws-close-codes``)."""
    if isinstance(protocol.parser_exc, PayloadTooBig):
        limit = protocol.max_message_size
        return errors.BodyTooLargeError(f"a message exceeded --max-message-size ({limit} bytes)")  # too_large, as chat's cap
    if isinstance(protocol.parser_exc, (WebSocketProtocolError, UnicodeDecodeError)):
        # The server broke the protocol (reserved bits set without an extension, a masked frame, a
        # close code no endpoint may send, text that is not UTF-8): we closed with 1002 or 1007.
        return ProtocolError(f"the server broke the WebSocket protocol: {protocol.parser_exc}")
    received = protocol.close_rcvd
    if received is None:
        return ConnectionLostError("connection lost (1006: closed without a close frame)")
    code = received.code
    reason = f": {received.reason}" if received.reason else ""
    closed = f"closed_{code}"  # the failure's code: docs/events.md#failures
    if code in (1000, 1001):
        return ProtocolError(f"connection closed ({code}{reason}) before the reply was done", code=closed)
    if code == 1008:
        return AuthError(f"server closed the connection: policy violation (1008){reason}", code=closed)
    if code == 1009:
        return ProtocolError(f"server closed the connection: message too big (1009){reason}", code=closed)
    if code == 1011:
        return ServerReportedError(f"server error (1011){reason}", code=closed)
    if code in (1002, 1003, 1007):
        return ProtocolError(f"server closed the connection: protocol error ({code}){reason}", code=closed)
    return ConnectionLostError(f"connection closed with code {code}{reason}", code=closed)


class WSConnection:
    """Open with ``open()``; ``send_text``; ``receive()`` returns the text messages of one read."""

    def __init__(self, url: str, opts: WSOptions) -> None:
        self.url = to_ws_url(url)
        self.opts = opts
        try:
            self.uri = parse_uri(self.url)
        except InvalidURI as exc:
            raise UsageError(f"bad URL {url!r}: {exc}") from exc
        except ValueError:  # urllib's word for a port out of range
            raise UsageError(f"bad URL {url!r}: the port must be a number from 0 to 65535") from None
        self.protocol = ClientProtocol(self.uri, max_size=opts.max_message_size)
        self.sock: socket.socket | None = None
        self.before_read: Callable[[], None] = lambda: None
        self.tap: Callable[[list[str]], None] | None = None  # sees every message as read (--record)
        self.leftover: list[str] = []  # messages read past the end of a turn
        self._fragments: list[bytes] = []
        self._partial = b""  # bytes of an incomplete frame
        self._last_data = 0.0
        self._ping_sent: float | None = None
        self._last_ping = 0.0
        self.opened = False
        self._closed = False

    @property
    def closed(self) -> bool:
        """The connection is over (a close frame went both ways, or it was lost)."""
        return self._closed

    # -- opening ---------------------------------------------------------------------------------

    def _where(self) -> str:
        return f"{self.uri.host}:{self.uri.port}"

    def open(self) -> None:
        opts = self.opts
        deadline = time.monotonic() + opts.connect_timeout
        try:
            sock = socket.create_connection((self.uri.host, self.uri.port), timeout=opts.connect_timeout)
        except TimeoutError as exc:
            raise StreamTimeoutError(f"timed out connecting to {self._where()} (--connect-timeout)") from exc
        except OverflowError:  # (a port out of range that reached the socket layer)
            raise UsageError(f"bad URL {self.url!r}: the port must be a number from 0 to 65535") from None
        except OSError as exc:
            raise errors.ConnectFailedError(f"could not connect to {self._where()}: {exc.strerror or exc}") from exc  # no byte came
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.uri.secure:
            sock.settimeout(max(deadline - time.monotonic(), 0.001))
            sock = self._tls(sock)
        self.sock = sock
        request = self.protocol.connect()
        request.headers["User-Agent"] = f"streamchat/{__version__}"
        for name, value in opts.headers.items():
            request.headers[name] = value
        self.protocol.send_request(request)
        self._send_pending()
        while True:
            remaining = deadline - time.monotonic()
            try:
                if remaining <= 0:
                    raise TimeoutError
                data = self._recv(remaining, during="the handshake")
            except TimeoutError:
                raise StreamTimeoutError(
                    f"timed out: no WebSocket handshake answer from {self._where()} within --connect-timeout ({opts.connect_timeout:g} s)"
                ) from None
            if data:
                self.protocol.receive_data(data)
            else:
                self.protocol.receive_eof()
            events = self.protocol.events_received()
            for index, event in enumerate(events):
                if isinstance(event, Response):
                    self._check_handshake(event)
                    self.opened = True
                    self._last_data = self._last_ping = time.monotonic()
                    # Frames that came in the same read as the handshake response are the first
                    # messages: keep them (a fast server's first frames were lost here).
                    self.leftover = self._frames_to_messages(events[index + 1 :] + self.protocol.events_received())
                    if self.tap is not None and self.leftover:
                        self.tap(self.leftover)
                    self._send_pending()  # the answer to a close that came along
                    if self.protocol.state is not State.OPEN:
                        self._closed = True
                    return
            if not data:
                raise ConnectionLostError(f"{self._where()} closed the connection during the WebSocket handshake")

    def _tls(self, sock: socket.socket) -> socket.socket:
        try:
            context = ssl.create_default_context(cafile=self.opts.cacert) if self.opts.cacert else ssl.create_default_context()
        except (OSError, ssl.SSLError) as exc:  # a --cacert that is no CA bundle: the user's to fix (as for chat)
            sock.close()
            raise UsageError(f"cannot load --cacert {self.opts.cacert!r}: {exc}") from exc
        if self.opts.insecure:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        try:
            return context.wrap_socket(sock, server_hostname=self.uri.host)
        except TimeoutError:
            sock.close()
            raise StreamTimeoutError(f"timed out: no TLS handshake from {self._where()} within --connect-timeout") from None
        except (ssl.SSLError, OSError) as exc:
            sock.close()
            raise ConnectionLostError(
                f"TLS error with {self._where()}: {exc}", hint="use --cacert PATH, or --insecure to skip verification"
            ) from exc

    def _check_handshake(self, response: Response) -> None:
        exc = self.protocol.handshake_exc
        if exc is None:
            return
        if isinstance(exc, InvalidStatus):
            status = exc.response.status_code
            retry_after = parse_retry_after(exc.response.headers.get("Retry-After"))
            error = http_status_error(status, exc.response.reason_phrase, exc.response.body or b"", retry_after)
            if status == 403 and not self._sent_credentials():
                # No token was sent, so the token is not what was refused: Starlette, for one,
                # answers 403 to a WebSocket handshake on any path that takes none.
                error.hint = "no token was sent: this path may take no WebSocket (check --url), or the server wants a token"
            elif status == 401 and not self._sent_credentials():
                error.hint = "the server wants a token: STREAMCHAT_TOKEN or --token-file"
            raise error
        raise ProtocolError(f"WebSocket handshake with {self._where()} failed: {exc}")

    def _sent_credentials(self) -> bool:
        from ..secrets import CREDENTIAL_HEADERS

        query = self.uri.resource_name.partition("?")[2]
        return any(name.lower() in CREDENTIAL_HEADERS for name in self.opts.headers) or "token=" in query

    # -- sending ---------------------------------------------------------------------------------

    def _send_pending(self) -> None:
        assert self.sock is not None
        for data in self.protocol.data_to_send():
            if data:
                try:
                    self.sock.sendall(data)
                except OSError as exc:
                    raise ConnectionLostError(f"connection lost while sending: {exc.strerror or exc}") from exc

    def send_text(self, text: str) -> None:
        if self.protocol.state is not State.OPEN:
            raise closed_error(self.protocol) if self.protocol.state is State.CLOSED else ConnectionLostError("the connection is closing")
        self.protocol.send_text(text.encode("utf-8"))
        self._send_pending()

    def close(self, code: int = 1000) -> None:
        """A clean close: send our close frame (once), wait briefly for the server's, then drop the socket."""
        if self.sock is None:
            return
        try:
            if self.protocol.state is State.OPEN:
                self.protocol.send_close(code)
                self._send_pending()
                deadline = time.monotonic() + 1.0
                # The closing handshake is done once the server's close frame is in; waiting for
                # its TCP close as well would only cost time when a server forgets it.
                while self.protocol.close_rcvd is None and self.protocol.state is not State.CLOSED and time.monotonic() < deadline:
                    data = self._recv(deadline - time.monotonic(), during="the close")
                    if data:
                        self.protocol.receive_data(data)
                    else:
                        self.protocol.receive_eof()
                    self.protocol.events_received()
                    self._send_pending()
                    if not data:
                        break
        except (StreamchatError, TimeoutError):
            pass  # the server did not answer our close in time: drop the socket anyway
        finally:
            try:
                self.sock.close()
            finally:
                self.sock = None

    # -- receiving -------------------------------------------------------------------------------

    def _recv(self, timeout: float, during: str) -> bytes:
        assert self.sock is not None
        self.sock.settimeout(max(timeout, 0.001))
        try:
            return self.sock.recv(READ_SIZE)
        except TimeoutError:
            raise
        except ssl.SSLError as exc:
            raise ConnectionLostError(f"TLS error during {during}: {exc}") from exc
        except OSError as exc:
            raise ConnectionLostError(f"connection lost during {during}: {exc.strerror or exc}") from exc

    def receive(self, until: float | None = None) -> list[str]:
        """The text messages completed by the next socket read (maybe none). Raises when closed.

        ``until`` (a ``time.monotonic()`` deadline) makes it return ``[]`` once passed (``--duration``).
        """
        if self.leftover:
            messages, self.leftover = self.leftover, []
            return messages
        if self._closed:
            raise closed_error(self.protocol)
        opts = self.opts
        while True:
            now = time.monotonic()
            if until is not None and now >= until:
                return []
            if now - self._last_data >= opts.read_timeout:
                raise StreamTimeoutError(f"timed out: no data from {self._where()} within --read-timeout ({opts.read_timeout:g} s)")
            wait = self._last_data + opts.read_timeout - now
            if opts.ping_interval > 0:
                if self._ping_sent is not None:
                    pong_due = self._ping_sent + opts.ping_interval
                    if now >= pong_due:
                        raise StreamTimeoutError(f"no pong from {self._where()} within --ping-interval ({opts.ping_interval:g} s)")
                    wait = min(wait, pong_due - now)
                else:
                    next_ping = self._last_ping + opts.ping_interval
                    if now >= next_ping:
                        self._ping_sent = self._last_ping = now
                        self.protocol.send_ping(b"streamchat")
                        self._send_pending()
                        continue
                    wait = min(wait, next_ping - now)
            if until is not None:
                wait = min(wait, until - now)
            self.before_read()
            try:
                data = self._recv(wait, during="the reply")
            except TimeoutError:
                continue
            break
        self._last_data = time.monotonic()
        if data:
            messages = self._split_frames(data)
        else:
            self.protocol.receive_eof()
            messages = self._frames_to_messages(self.protocol.events_received())
        self._send_pending()  # pongs and close replies
        if self.tap is not None and messages:
            self.tap(messages)
        if self.protocol.state is not State.OPEN or not data:
            self._closed = True  # what came with the close is handed over first; the next call raises
            if not messages:
                raise closed_error(self.protocol)
        return messages

    def _split_frames(self, data: bytes) -> list[str]:
        """Whole frames out of the bytes read: plain text frames decoded here, any other frame
        (control, fragment, oversize, masked, bad UTF-8) handed whole to the protocol object.

        The protocol thus only ever sees complete frames and keeps a consistent state, while the
        common case skips its generator-based parser (the per-message hot path).
        """
        buf = self._partial + data if self._partial else data
        size = len(buf)
        pos = 0
        messages: list[str] = []
        limit = self.opts.max_message_size
        protocol = self.protocol
        while size - pos >= 2:
            b0 = buf[pos]
            b1 = buf[pos + 1]
            length = b1 & 0x7F
            head = 2
            if length == 126:
                if size - pos < 4:
                    break
                length = int.from_bytes(buf[pos + 2 : pos + 4], "big")
                head = 4
            elif length == 127:
                if size - pos < 10:
                    break
                length = int.from_bytes(buf[pos + 2 : pos + 10], "big")
                head = 10
            if b1 & 0x80:
                head += 4  # a masked frame (a protocol error from a server): the protocol says so
            end = pos + head + length
            if b0 == 0x81 and not b1 & 0x80 and length <= limit:
                if end > size:
                    break
                try:
                    messages.append(buf[pos + head : end].decode("utf-8"))
                    pos = end
                    continue
                except UnicodeDecodeError:
                    pass
            elif length > limit and end > size:
                end = size  # let the protocol see the header and fail the connection with 1009
            if end > size:
                break
            protocol.receive_data(buf[pos:end])
            messages.extend(self._frames_to_messages(protocol.events_received()))
            pos = end
            if protocol.state is not State.OPEN:
                break
        self._partial = buf[pos:] if pos < size else b""
        return messages

    def _frames_to_messages(self, events: list[object]) -> list[str]:
        messages: list[str] = []
        for frame in events:
            opcode = getattr(frame, "opcode", None)
            if opcode is Opcode.TEXT or opcode is Opcode.BINARY:
                if frame.fin:  # type: ignore[attr-defined]
                    messages.append(bytes(frame.data).decode("utf-8", "replace"))  # type: ignore[attr-defined]
                else:
                    self._fragments = [bytes(frame.data)]  # type: ignore[attr-defined]
            elif opcode is Opcode.CONT:
                self._fragments.append(bytes(frame.data))  # type: ignore[attr-defined]
                if frame.fin:  # type: ignore[attr-defined]
                    messages.append(b"".join(self._fragments).decode("utf-8", "replace"))
                    self._fragments = []
            elif opcode is Opcode.PONG:
                self._ping_sent = None
        return messages


__all__ = ["WSConnection", "WSOptions", "closed_error", "to_ws_url"]
