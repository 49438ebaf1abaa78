"""The event-stream decoder against the WHATWG algorithm, at every chunk split point."""

from __future__ import annotations

import codecs

import httpx_sse._decoders as reference
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamchat.protocol.sse import SSEDecoder, SSEMessage, decode_all


def every_split(payload: bytes) -> list[list[SSEMessage]]:
    """Decode the stream whole, byte by byte, and cut in two at every position."""
    results = [decode_all(payload), decode_all(payload, split=1)]
    for cut in range(1, len(payload)):
        decoder = SSEDecoder()
        out = decoder.feed(payload[:cut]) + decoder.feed(payload[cut:]) + decoder.close()
        results.append(out)
    return results


def assert_same_everywhere(payload: bytes, expected: list[tuple[str, str]]) -> None:
    for result in every_split(payload):
        assert [(m.event, m.data) for m in result] == expected


# The examples of the WHATWG HTML standard, §9.2.6.
def test_whatwg_stock_example():
    payload = b"data: YHOO\ndata: +2\ndata: 10\n\n"
    assert_same_everywhere(payload, [("message", "YHOO\n+2\n10")])


def test_whatwg_four_blocks_example():
    payload = b": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n"
    results = every_split(payload)
    for result in results:
        assert [(m.data, m.id) for m in result] == [("first event", "1"), ("second event", "")]
    # the third block is unterminated at EOF: discarded


def test_whatwg_two_events_example():
    payload = b"data\n\ndata\ndata\n\ndata:\n"
    assert_same_everywhere(payload, [("message", ""), ("message", "\n")])


def test_whatwg_space_after_colon_example():
    payload = b"data:test\n\ndata: test\n\n"
    assert_same_everywhere(payload, [("message", "test"), ("message", "test")])


def test_named_events_and_default_type():
    payload = b'event: content\ndata: {"text": "a"}\n\ndata: x\n\n'
    assert_same_everywhere(payload, [("content", '{"text": "a"}'), ("message", "x")])


def test_event_type_resets_after_dispatch():
    payload = b"event: usage\ndata: 1\n\ndata: 2\n\n"
    assert_same_everywhere(payload, [("usage", "1"), ("message", "2")])


@pytest.mark.parametrize("eol", [b"\n", b"\r", b"\r\n"])
def test_every_line_ending(eol):
    payload = b"data: a" + eol + b"data: b" + eol + eol + b"event: e" + eol + b"data: c" + eol + eol
    assert_same_everywhere(payload, [("message", "a\nb"), ("e", "c")])


def test_crlf_split_across_reads_is_one_line_end():
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r") == []
    assert decoder.feed(b"\n\r") == [SSEMessage("message", "a")]
    assert decoder.feed(b"\ndata: b\r\n\r\n") == [SSEMessage("message", "b")]


def test_cr_only_stream_split_anywhere():
    payload = b"data: one\r\rdata: two\r\r"
    assert_same_everywhere(payload, [("message", "one"), ("message", "two")])


def test_leading_bom_is_stripped_once():
    payload = codecs.BOM_UTF8 + b"data: a\n\n"
    assert_same_everywhere(payload, [("message", "a")])
    # a second BOM is data, and a BOM before a field name makes the name unknown
    payload = codecs.BOM_UTF8 + codecs.BOM_UTF8 + b"data: a\n\ndata: b\n\n"
    assert_same_everywhere(payload, [("message", "b")])


def test_utf8_character_split_across_reads():
    text = "data: héllo → 世界 🎉\n\n".encode()
    assert_same_everywhere(text, [("message", "héllo → 世界 🎉")])


def test_invalid_utf8_becomes_replacement_character():
    assert [m.data for m in decode_all(b"data: a\xffb\n\n")] == ["a\ufffdb"]


def test_unterminated_event_at_eof_is_discarded():
    assert_same_everywhere(b"data: complete\n\ndata: partial", [("message", "complete")])
    assert_same_everywhere(b"data: complete\n\ndata: partial\n", [("message", "complete")])


def test_event_or_id_without_data_dispatches_nothing():
    # httpx-sse dispatches an empty event here; the standard does not.
    assert_same_everywhere(b"event: ping\n\nid: 7\n\nretry: 10\n\n", [])


def test_comments_are_ignored():
    assert_same_everywhere(b": keep-alive\n:\ndata: x\n: more\n\n", [("message", "x")])


def test_id_persists_and_null_id_is_ignored():
    msgs = decode_all(b"id: 1\ndata: a\n\ndata: b\n\nid: x\x00y\ndata: c\n\n")
    assert [m.id for m in msgs] == ["1", "1", "1"]


def test_retry_only_digits():
    msgs = decode_all(b"retry: 1500\ndata: a\n\nretry: 1x\ndata: b\n\n")
    assert [m.retry for m in msgs] == [1500, 1500]


def test_field_without_colon_and_unknown_fields():
    assert_same_everywhere(b"data\nfoo: bar\n\n", [("message", "")])


# -- property: the same events as httpx-sse, for any split -------------------------------------

_value = st.text(alphabet=st.characters(blacklist_characters="\r\n\x00", blacklist_categories=("Cs",)), max_size=12)
_eol = st.sampled_from(["\n", "\r", "\r\n"])


@st.composite
def streams(draw):
    """Streams where every block holds data (where httpx-sse and the standard agree)."""
    blocks = []
    for _ in range(draw(st.integers(0, 6))):
        lines = []
        if draw(st.booleans()):
            lines.append("event:" + draw(st.sampled_from(["", " "])) + draw(_value.filter(lambda v: ":" not in v)))
        if draw(st.booleans()):
            lines.append(": " + draw(_value))
        for _ in range(draw(st.integers(1, 3))):
            lines.append("data:" + draw(st.sampled_from(["", " ", "  "])) + draw(_value))
        if draw(st.booleans()):
            lines.append("id: " + draw(st.from_regex(r"[a-z0-9]{0,4}", fullmatch=True)))
        eol = draw(_eol)
        blocks.append(eol.join(lines) + eol + eol)
    text = "".join(blocks)
    if text.startswith("\ufeff"):
        text = "x" + text
    return text


def reference_events(text: str) -> list[tuple[str, str, str]]:
    lines = reference.SSELineDecoder()
    decoder = reference.SSEDecoder()
    out = []
    for line in lines.decode(text) + lines.flush():
        sse = decoder.decode(line)
        if sse is not None:
            out.append((sse.event, sse.data, sse.id))
    return out


@settings(max_examples=300, deadline=None)
@given(streams(), st.lists(st.integers(1, 200), max_size=8))
def test_same_events_as_httpx_sse_for_random_splits(text, cuts):
    payload = text.encode("utf-8")
    decoder = SSEDecoder()
    ours = []
    pos = 0
    for size in cuts:
        ours += decoder.feed(payload[pos : pos + size])
        pos += size
    ours += decoder.feed(payload[pos:]) + decoder.close()
    assert [(m.event, m.data, m.id) for m in ours] == reference_events(text)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.integers(1, 50))
def test_any_bytes_any_split_never_crash_and_agree(payload, size):
    assert decode_all(payload, split=size) == decode_all(payload)


# -- feed_batch: the hot path gives exactly feed's events --------------------------------------


def batch_events(payload: bytes, sizes: list[int]) -> list[SSEMessage]:
    """``feed_batch`` over the pieces, its payloads turned back into messages."""
    decoder = SSEDecoder()
    out: list[SSEMessage] = []
    pos = 0
    for size in [*sizes, len(payload)]:
        last_id, retry = decoder._last_id, decoder._retry  # a plain event leaves both as they were
        payloads, messages = decoder.feed_batch(payload[pos : pos + size])
        out += [SSEMessage("message", p.decode("utf-8", "replace"), last_id, retry) for p in payloads] + messages
        pos += size
    return out + decoder.close()


@st.composite
def token_streams(draw):
    """Mostly plain ``data: {...}`` events, with what breaks the run mixed in now and then."""
    blocks = []
    for _ in range(draw(st.integers(0, 12))):
        kind = draw(st.sampled_from(["plain"] * 6 + ["named", "comment", "two-lines", "id", "retry", "empty", "crlf", "bare"]))
        value = draw(_value)
        blocks.append(
            {
                "plain": f"data: {value}\n\n",
                "named": f"event: x{value[:3]}\ndata: {value}\n\n",
                "comment": f": {value}\n",
                "two-lines": f"data: {value}\ndata: more\n\n",
                "id": f"id: {value[:4]}\ndata: {value}\n\n",
                "retry": "retry: 150\n",
                "empty": "data: \n\n",
                "crlf": f"data: {value}\r\n\r\n",
                "bare": f"data:{value}\n\n",
            }[kind]
        )
    return "".join(blocks).encode("utf-8", "surrogatepass") + draw(st.sampled_from([b"", b"data: unterminated", b"\xff\xfe"]))


@settings(max_examples=400, deadline=None)
@given(token_streams(), st.lists(st.integers(1, 90), max_size=6))
def test_feed_batch_gives_exactly_the_events_of_feed(payload, sizes):
    assert batch_events(payload, sizes) == decode_all(payload)


@st.composite
def named_streams(draw):
    """Mostly ``event: NAME`` + one ``data:`` line (the Responses API's and Anthropic's shape), with what
    breaks the run mixed in now and then."""
    blocks = []
    for _ in range(draw(st.integers(0, 12))):
        kind = draw(st.sampled_from(["named"] * 6 + ["plain", "no-data", "two-data", "id", "empty-name", "blank", "crlf", "bare"]))
        value = draw(_value)
        blocks.append(
            {
                "named": f"event: response.{value[:4]}\ndata: {value}\n\n",
                "plain": f"data: {value}\n\n",
                "no-data": f"event: {value[:3]}\n\n",
                "two-data": f"event: x\ndata: {value}\ndata: more\n\n",
                "id": f"event: x\nid: 7\ndata: {value}\n\n",
                "empty-name": f"event: \ndata: {value}\n\n",
                "blank": "\n",
                "crlf": f"event: y\r\ndata: {value}\r\n\r\n",
                "bare": f"event:z\ndata:{value}\n\n",
            }[kind]
        )
    return "".join(blocks).encode("utf-8", "surrogatepass") + draw(st.sampled_from([b"", b"event: open\ndata: x", b"\xff"]))


@settings(max_examples=400, deadline=None)
@given(named_streams(), st.lists(st.integers(1, 90), max_size=6))
def test_feed_batch_gives_exactly_the_events_of_feed_for_named_events(payload, sizes):
    assert batch_events(payload, sizes) == decode_all(payload)


def test_feed_batch_splits_a_read_of_named_events_without_the_line_loop():
    decoder = SSEDecoder()
    assert decoder.feed_batch(b"event: a\ndata: 1\n\nevent: b\ndata: 2\n\nevent: c\nda") == (
        [],
        [SSEMessage("a", "1"), SSEMessage("b", "2")],
    )
    assert decoder.feed_batch(b"ta: 3\n\n") == ([], [SSEMessage("c", "3")])


def test_feed_batch_takes_a_read_of_plain_events_in_one_piece():
    decoder = SSEDecoder()
    assert decoder.feed_batch(b'data: {"a":1}\n\ndata: [DONE]\n\ndata: tai') == ([b'{"a":1}', b"[DONE]"], [])
    assert decoder.feed_batch(b"l\n\n") == ([b"tail"], [])
    mixed = b'data: {"a":1}\n\nevent: x\ndata: y\n\n'
    assert decoder.feed_batch(mixed) == ([], [SSEMessage("message", '{"a":1}'), SSEMessage("x", "y")])


def test_an_error_field_is_an_error_event_as_llama_cpp_sends_it():
    """llama.cpp's server writes a failure as an `error:` field (then [DONE]); WHATWG would drop it."""
    stream = b'data: {"a":1}\n\nerror: {"code":500,"message":"boom","type":"server_error"}\n\ndata: [DONE]\n\n'
    assert_same_everywhere(
        stream,
        [("message", '{"a":1}'), ("error", '{"code":500,"message":"boom","type":"server_error"}'), ("message", "[DONE]")],
    )
