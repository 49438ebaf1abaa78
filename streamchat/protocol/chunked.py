"""Incremental decoder of HTTP/1.1 ``Transfer-Encoding: chunked`` bodies (RFC 9112 §7.1), on bytes.

Why our own: h11 turns every HTTP chunk into one event and one trip through httpcore and httpx, and
a token stream sends one chunk per token. This decoder takes whatever one socket read delivered and
returns all the payload in it at once, so the SSE decoder downstream sees many events per call.
"""

from __future__ import annotations

from itertools import repeat

from ..errors import ProtocolError

_SIZE, _DATA, _DATA_END, _TRAILER, _DONE = range(5)
MAX_LINE = 8192


class ChunkedDecoder:
    """``feed(bytes) -> bytes`` of payload; ``done`` once the last chunk and the trailers are read."""

    __slots__ = ("_buf", "_state", "_remaining")

    def __init__(self) -> None:
        self._buf = b""
        self._state = _SIZE
        self._remaining = 0

    @property
    def done(self) -> bool:
        return self._state == _DONE

    @staticmethod
    def _whole_chunks(buf: bytes, out: list[bytes]) -> int:
        """The common case without a Python loop: ``size CRLF data CRLF`` pairs whose data holds no CRLF.

        One split, then the sizes checked against the lengths list against list (a token stream is
        one chunk per token: a loop per chunk was a fifth of a chat's time). Returns how far it got;
        the careful state machine takes over from there.
        """
        pieces = buf.split(b"\r\n")
        pairs = (len(pieces) - 1) // 2  # the last piece may be incomplete
        heads = pieces[0 : 2 * pairs : 2]
        datas = pieces[1 : 2 * pairs : 2]
        lengths = list(map(len, datas))
        try:
            sizes = list(map(int, heads, repeat(16)))
            ok = sizes == lengths and 0 not in sizes and b"".join(heads).isalnum()
        except ValueError:
            ok = False
        if not ok:
            pairs = ChunkedDecoder._plain_prefix(heads, lengths)
            del datas[pairs:]
        out.extend(datas)
        return sum(map(len, heads[:pairs])) + sum(lengths[:pairs]) + 4 * pairs

    @staticmethod
    def _plain_prefix(heads: list[bytes], lengths: list[int]) -> int:
        """How many leading pairs are plain, whole, non-final chunks."""
        for index, (head, length) in enumerate(zip(heads, lengths, strict=True)):
            try:
                if length == 0 or int(head, 16) != length or not head.isalnum():
                    return index
            except ValueError:
                return index
        return len(heads)

    def feed(self, data: bytes) -> bytes:
        """The payload of the chunks ``data`` completes or continues. Bad framing raises ProtocolError
        with the payload of the same read before it as ``body_before`` (it is still output)."""
        out: list[bytes] = []
        try:
            return self._feed(data, out)
        except ProtocolError as exc:
            exc.body_before = b"".join(out)
            raise

    def _feed(self, data: bytes, out: list[bytes]) -> bytes:
        buf = self._buf + data if self._buf else data
        pos = 0
        size = len(buf)
        state = self._state
        remaining = self._remaining
        find = buf.find
        split_done = False
        while True:
            if state == _SIZE and not split_done:
                split_done = True  # once a feed: where it stopped, the careful path is needed
                pos += self._whole_chunks(buf[pos:] if pos else buf, out)
            if state == _SIZE:
                # Fast path: a whole chunk (size line, data, CRLF) already in the buffer.
                end = find(b"\r\n", pos)
                if end > pos:
                    try:
                        length = int(buf[pos:end], 16)
                    except ValueError:
                        length = 0  # extensions or junk: the careful path below decides
                    start = end + 2
                    stop = start + length
                    if length > 0 and stop + 2 <= size and buf[stop : stop + 2] == b"\r\n" and buf[pos:end].isalnum():
                        out.append(buf[start:stop])
                        pos = stop + 2
                        continue
            if state == _DATA:
                take = size - pos if size - pos < remaining else remaining
                if take:
                    out.append(buf[pos : pos + take])
                    pos += take
                    remaining -= take
                if remaining:
                    break
                state = _DATA_END
            if state == _DATA_END:
                if size - pos < 2:
                    break
                if buf[pos : pos + 2] != b"\r\n":
                    raise ProtocolError("malformed chunked body: no CRLF after a chunk")
                pos += 2
                state = _SIZE
                continue  # the read began inside a chunk: the rest may still go in one split
            if state == _SIZE:
                end = _line_end(buf, pos, "chunk size")
                if end < 0:
                    break
                line = buf[pos:end].split(b";", 1)[0].strip()
                pos = end + 2
                try:
                    remaining = int(line, 16)
                except ValueError:
                    raise ProtocolError(f"malformed chunked body: bad chunk size {line[:20]!r}") from None
                if remaining < 0 or not line.isalnum():
                    raise ProtocolError(f"malformed chunked body: bad chunk size {line[:20]!r}")
                state = _DATA if remaining else _TRAILER
                continue
            if state == _TRAILER:
                end = _line_end(buf, pos, "trailer")
                if end < 0:
                    break
                line = buf[pos:end]
                pos = end + 2
                if not line:
                    state = _DONE
                continue
            break  # _DONE: anything after the body is not ours
        self._state = state
        self._remaining = remaining
        self._buf = buf[pos:] if state != _DONE else b""
        return b"".join(out) if len(out) != 1 else out[0]


def _line_end(buf: bytes, pos: int, what: str) -> int:
    """Where the CRLF-ended line at ``pos`` ends, or -1 while it is incomplete but not yet too long."""
    end = buf.find(b"\r\n", pos)
    if end < 0 and len(buf) - pos > MAX_LINE:
        raise ProtocolError(f"malformed chunked body: {what} line too long")
    return end
