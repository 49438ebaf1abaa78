"""The chunked-body decoder: every split point, extensions, trailers, malformed framing."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamchat.errors import ProtocolError
from streamchat.protocol.chunked import ChunkedDecoder


def encode(parts: list[bytes], ext: bytes = b"", trailers: bytes = b"") -> bytes:
    body = b"".join(b"%x%s\r\n%s\r\n" % (len(p), ext, p) for p in parts if p)
    return body + b"0\r\n" + trailers + b"\r\n"


def decode(payload: bytes, cuts: list[int]) -> tuple[bytes, bool]:
    decoder = ChunkedDecoder()
    out = []
    pos = 0
    for cut in sorted(cuts) + [len(payload)]:
        out.append(decoder.feed(payload[pos:cut]))
        pos = cut
    return b"".join(out), decoder.done


PARTS = [b"data: a\n\n", b"data: b\r\n\r\n", b"x" * 300, b"\r\n", b"\xe4\xb8\x96"]


@pytest.mark.parametrize("ext, trailers", [(b"", b""), (b";name=value", b""), (b"", b"X-Trailer: 1\r\n")])
def test_every_split_point(ext, trailers):
    payload = encode(PARTS, ext, trailers)
    for cut in range(len(payload) + 1):
        assert decode(payload, [cut]) == (b"".join(PARTS), True)


def test_byte_by_byte():
    payload = encode(PARTS)
    assert decode(payload, list(range(len(payload)))) == (b"".join(PARTS), True)


def test_not_done_until_the_last_chunk():
    payload = encode(PARTS)
    data, done = decode(payload[:-5], [])
    assert not done and data == b"".join(PARTS)


def test_upper_case_hex_sizes():
    assert ChunkedDecoder().feed(b"A\r\n0123456789\r\n0\r\n\r\n") == b"0123456789"


@pytest.mark.parametrize("bad", [b"zz\r\nabc\r\n", b"3\r\nabcX\r\n", b"-1\r\n\r\n", b"1" * 9000])
def test_malformed_framing_is_a_protocol_error(bad):
    with pytest.raises(ProtocolError):
        ChunkedDecoder().feed(bad)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=40), max_size=10), st.lists(st.integers(0, 400), max_size=6))
def test_random_parts_random_splits(parts, cuts):
    payload = encode(parts)
    cuts = [c for c in cuts if c <= len(payload)]
    assert decode(payload, cuts) == (b"".join(parts), True)
