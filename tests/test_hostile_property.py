"""Property: whatever bytes a server sends, decoder + normaliser + every renderer give only events or a
StreamchatError, stdout is strict UTF-8 JSON, and nothing decoded before a bad byte is lost.

The streams are SSE events whose data is JSON text built to be hostile (deep, huge, non-finite,
duplicate keys, lone surrogates, control characters), mixed with arbitrary bytes, cut into reads at
arbitrary points. The reference is the same bytes decoded whole and normalised one message at a
time: the streamed run must give exactly its events, whatever the cuts.
"""

from __future__ import annotations

import io
import json

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streamchat.env import Environment
from streamchat.errors import ProtocolError, ServerReportedError, StreamchatError
from streamchat.protocol.normalize import Normalizer
from streamchat.protocol.sse import SSEDecoder
from streamchat.secrets import Scrubber
from streamchat.session.http import decode_body
from streamchat.session.output import OutputOptions, make_renderer

SECRET = "s3cret-tok"
KEYS = [
    "choices", "delta", "content", "reasoning_content", "index", "finish_reason", "type", "text", "usage",
    "prompt_tokens", "completion_tokens", "total_tokens", "input_tokens", "output_tokens", "tps", "error",
    "message", "code", "timings", "predicted_per_second", "object",
]  # fmt: skip
ATOMS = [
    "null", "true", "false", "0", "-1", "2.5", "NaN", "Infinity", "-Infinity", "1e999", "-1e999",
    "123456789012345678901234567890", '"\\ud800"', '"a\\udc00b"', '"\\u001b[2J\\u202e"', '"ok"', '""',
    '"content"', '"done"', '"error"', '"usage"', '"tps"', '"chunk"', '"reasoning"', '"stop"',
    json.dumps(SECRET[:4]), json.dumps(SECRET[4:]), json.dumps(SECRET),
]  # fmt: skip

USAGE_KEYS = ["prompt_tokens", "completion_tokens", "total_tokens", "input_tokens", "output_tokens", "reasoning_tokens", "cached_tokens"]


def obj(pairs: list[tuple[str, str]]) -> str:
    """A JSON object written by hand: keys may repeat, values are JSON text (NaN and all)."""
    return "{" + ",".join(json.dumps(k) + ":" + v for k, v in pairs) + "}"


atoms = st.sampled_from(ATOMS) | st.integers().map(str) | st.text(max_size=6).map(json.dumps)
json_text = st.recursive(
    atoms,
    lambda inner: (
        st.lists(inner, max_size=3).map(lambda items: "[" + ",".join(items) + "]")
        | st.lists(st.tuples(st.sampled_from(KEYS), inner), max_size=4).map(obj)
    ),
    max_leaves=12,
)
values = st.one_of(st.sampled_from(ATOMS), json_text)  # a hostile atom half the time
# the shapes the rules look for, with hostile values where the fields go
shaped = st.one_of(
    values.map(lambda v: '{"choices":[{"index":0,"delta":{"content":' + v + "}}]}"),
    values.map(lambda v: '{"choices":[{"index":0,"delta":{"reasoning_content":' + v + '}}],"timings":{"predicted_per_second":' + v + "}}"),
    st.lists(st.tuples(st.sampled_from(USAGE_KEYS), values), max_size=4).map(lambda p: '{"choices":[],"usage":' + obj(p) + "}"),
    values.map(lambda v: '{"type":"tps","tps":' + v + "}"),
    values.map(lambda v: '{"type":"content","text":' + v + ',"text":' + json.dumps(SECRET[2:7]) + "}"),
    values.map(lambda v: '{"error":{"message":' + v + ',"code":' + v + "}}"),
    st.integers(250, 3000).map(lambda n: "[" * n + "]" * n),
)
data_text = st.one_of(shaped, shaped, json_text, st.just("[DONE]"))
event_names = st.sampled_from(["", "", "", "", "content", "reasoning", "tps", "usage", "done", "error", "message", "other"])
one_event = st.tuples(event_names, data_text).map(
    lambda e: (f"event: {e[0]}\n" if e[0] else "") + "".join(f"data: {line}\n" for line in e[1].split("\n")) + "\n"
)
garbage = st.binary(max_size=12) | st.binary(max_size=12).map(lambda b: b + b"\n\n")
pieces = st.lists(st.one_of(one_event.map(lambda t: t.encode("utf-8", "surrogatepass")), one_event.map(str.encode), garbage), max_size=8)


def reference(stream: bytes, dialect: str) -> tuple[list[dict], type | None]:
    """Decoded whole, normalised one message at a time, ended as a reply ends."""
    normalizer = Normalizer(dialect)
    out: list[dict] = []
    for message in SSEDecoder().feed(stream):
        try:
            events = normalizer.sse(message.event, message.data)
        except ProtocolError:
            return out, ProtocolError
        for event in events:
            out.append(event.as_dict())
            if event.type == "error":
                return out, ServerReportedError
            if event.type == "done":
                return out, None
    done = normalizer.end_of_stream()
    if done is None:
        return out, ProtocolError
    return [*out, done.as_dict()], None


def run(chunks: list[bytes], mode: str, dialect: str, scrubber: Scrubber) -> tuple[bytes, type | None]:
    env = Environment(stdin=None, stdout=io.BytesIO(), stderr=io.StringIO(), environ={}, stdout_isatty=False, stderr_isatty=False)
    renderer = make_renderer(env, OutputOptions(mode=mode, quiet=True), scrubber)
    error = None
    try:
        decode_body("text/event-stream", chunks, dialect, renderer)
    except StreamchatError as exc:  # anything else fails the property
        error = type(exc)
    return env.stdout.getvalue(), error  # type: ignore[attr-defined]


def strict_json(line: bytes) -> object:
    """The line's value, once orjson has found it strict (no NaN, no lone surrogate). The value itself
    comes from ``json``: orjson reads an integer beyond 64 bits as a float, which would make a count
    such as 123456789012345678901234567889 differ from the reference's by its last digits."""
    orjson.loads(line)
    return json.loads(line)


def cut(stream: bytes, points: list[int]) -> list[bytes]:
    marks = sorted({p % (len(stream) + 1) for p in points} | {0, len(stream)})
    return [stream[a:b] for a, b in zip(marks, marks[1:], strict=False)]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pieces, st.lists(st.integers(0, 10_000), max_size=6), st.sampled_from(["openai", "query"]))
def test_any_stream_gives_its_events_or_a_streamchat_error(parts, points, dialect):
    stream = b"".join(parts)
    expected, expected_error = reference(stream, dialect)
    chunks = cut(stream, points)
    out, error = run(chunks, "ndjson", dialect, Scrubber())
    lines = [strict_json(line) for line in out.splitlines()]
    if error is not None and not any(e["type"] == "error" for e in expected):
        failure = lines.pop()  # a failed run ends with why, as data
        assert failure["type"] == "error" and isinstance(failure["code"], str)
    assert lines == expected  # every event before the bad byte, none after, whatever the cuts
    assert error is None if expected_error is None else error is not None and issubclass(error, expected_error)
    out, error = run(chunks, "json", dialect, Scrubber())
    summary = orjson.loads(out)
    assert summary["content"] == "".join(e["text"] for e in expected if e["type"] == "content")
    out, error = run(chunks, "text", dialect, Scrubber())
    out.decode("utf-8")  # strict UTF-8


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pieces, st.lists(st.integers(0, 10_000), max_size=6))
def test_a_secret_split_across_events_and_reads_never_comes_out(parts, points):
    stream = b"".join(parts)
    expected, _ = reference(stream, "openai")
    scrubber = Scrubber(SECRET)
    whole = scrubber.text("".join(e["text"] for e in expected if e["type"] == "content"))
    out, _ = run(cut(stream, points), "ndjson", "openai", scrubber)
    content = "".join(line["text"] for line in map(orjson.loads, out.splitlines()) if line["type"] == "content")
    assert content == whole and SECRET not in content  # the reply's text, scrubbed as if it came in one piece
    out, _ = run(cut(stream, points), "text", "openai", scrubber)
    assert SECRET.encode() not in out
