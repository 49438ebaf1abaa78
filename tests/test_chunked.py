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


@pytest.mark.parametrize(
    "bad",
    [
        b"zz\r\nabc\r\n",
        b"3\r\nabcX\r\n",
        b"-1\r\n\r\n",
        b"1" * 9000,
        # sizes int(x, 16) takes but HTTP does not, followed by more chunks (the split fast path's case)
        b"+3\r\nabc\r\n3\r\ndef\r\n",
        b"0_3\r\nabc\r\n3\r\ndef\r\n",
        b"3\r\nabc\r\n-0\r\n\r\n",
    ],
)
def test_malformed_framing_is_a_protocol_error(bad):
    with pytest.raises(ProtocolError):
        ChunkedDecoder().feed(bad)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=40), max_size=10), st.lists(st.integers(0, 400), max_size=6))
def test_random_parts_random_splits(parts, cuts):
    payload = encode(parts)
    cuts = [c for c in cuts if c <= len(payload)]
    assert decode(payload, cuts) == (b"".join(parts), True)


_token_part = st.one_of(
    st.binary(max_size=30),
    st.sampled_from([b"\r\n", b"\r", b"\n", b"data: {}\n\n", b"data: x\r\n\r\n", b"0\r\n", b"\r\n\r\n"]),
    st.text(max_size=8).map(lambda t: b"data: " + t.encode() + b"\n\n"),
)


@st.composite
def token_bodies(draw):
    """Many small chunks, as a token stream sends them, size lines in any valid spelling."""
    parts = [p for p in draw(st.lists(st.lists(_token_part, min_size=1, max_size=3).map(b"".join), max_size=40)) if p]
    spelled = []
    for part in parts:
        size = draw(st.sampled_from(["%x", "%X", "0%x", "%x;ext=1", "%x ;a"])) % len(part)
        spelled.append(size.encode() + b"\r\n" + part + b"\r\n")
    return parts, b"".join(spelled) + b"0\r\n\r\n"


@settings(max_examples=400, deadline=None)
@given(token_bodies(), st.lists(st.integers(0, 2000), max_size=8))
def test_token_streams_any_size_spelling_any_split(body, cuts):
    parts, payload = body
    cuts = [c for c in cuts if c <= len(payload)]
    assert decode(payload, cuts) == (b"".join(parts), True)
