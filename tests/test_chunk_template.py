"""The token chunk's template: where it is cut, where it refuses to be, and that it never changes what a stream means."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st
from test_normalize import assert_batch_equals

from streamchat.protocol.chunk_template import ChunkTemplate
from streamchat.protocol.normalize import Normalizer, _fast_loads, _token_text
from streamchat.protocol.sse import SSEMessage

VLLM = b'{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"Hi"},"logprobs":null,"finish_reason":null}]}'


def cut(raw: bytes) -> ChunkTemplate | None:
    return ChunkTemplate.cut(raw, _fast_loads(raw), _token_text, _fast_loads)


def test_cut_around_the_content_string():
    template = cut(VLLM)
    assert template is not None
    assert template.prefix.endswith(b'"delta":{"content":') and template.suffix.startswith(b'},"logprobs"')


def test_cut_with_spaces_and_escapes_as_python_json_writes_them():
    raw = json.dumps({"choices": [{"index": 0, "delta": {"content": 'a "quoted" \\ é'}, "finish_reason": None}]}).encode()
    template = cut(raw)
    assert template is not None and raw == template.prefix + json.dumps('a "quoted" \\ é').encode() + template.suffix


def test_no_template_when_the_last_content_key_is_not_the_deltas():
    # The last '"content"' in the bytes ends a key of its own ('x"content'), followed by a string.
    raw = b'{"choices":[{"index":0,"delta":{"content":"x"},"finish_reason":null}],"x\\"content":"y"}'
    assert _token_text(_fast_loads(raw)) == "x"
    assert raw.rfind(b'"content"') > raw.find(b'"x"')
    assert cut(raw) is None


def test_duplicate_keys_cut_at_the_one_json_keeps():
    raw = b'{"choices":[{"index":0,"delta":{"content":"first","content":"last"},"finish_reason":null}]}'
    template = cut(raw)
    assert template is not None and template.prefix.endswith(b'"first","content":')


def test_a_template_stream_reads_tokens_and_falls_back_for_anything_else():
    normalizer = Normalizer("openai")
    head, tail = VLLM.split(b'"Hi"')
    payloads = [head + json.dumps(t).encode() + tail for t in ["Hi", " there", "", "\n"]]
    payloads += [head + b'"a","reasoning_content":"b"' + tail, b"[DONE]"]
    events, ended = normalizer.data_batch(payloads)
    assert ended and [(e.type, getattr(e, "text", None)) for e in events] == [
        ("content", "Hi"),
        ("content", " there"),
        ("content", "\n"),
        ("reasoning", "b"),  # not a token chunk: parsed whole, as any other payload
        ("content", "a"),
        ("done", None),
    ]


_TOKENS = st.one_of(
    st.text(max_size=6).map(lambda t: json.dumps(t).encode()),
    st.text(max_size=6).map(lambda t: json.dumps(t, ensure_ascii=False).encode()),
    st.sampled_from(
        [b'"a","role":"x"', b'"a","reasoning_content":"r"', b'"x', b'y"', b'""', b"1", b"null", b'"\\ud800"', b'"\xff"', b'"a"  ', b'"\\"']
    ),
)
_TEMPLATES = st.sampled_from(
    [
        VLLM.split(b'"Hi"'),
        (b'{"choices":[{"index":0,"delta":{"role":"assistant","content":', b'},"finish_reason":null}],"created":7}'),
        (b'{"choices": [{"delta": {"content": ', b'}}], "usage": null}'),
        (b'{"choices":[{"finish_reason":null,"index":0,"delta":{"content":', b'}}],"model":"m","timings":{"predicted_per_second":5}}'),
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(_TEMPLATES, _TOKENS), max_size=12))
def test_template_path_means_what_parsing_every_payload_means(parts):
    """Payloads built around templates, with tokens that are not one JSON string mixed in."""
    payloads = [head + token + tail for (head, tail), token in parts]
    messages = [SSEMessage("message", p.decode("utf-8", "replace")) for p in payloads]
    assert_batch_equals(lambda n: n.data_batch(payloads), messages)
    # and split over several reads, the template carried from one to the next
    assert_batch_equals(lambda n: _in_reads(n, payloads), messages)


def _in_reads(normalizer: Normalizer, payloads: list[bytes]) -> tuple[list, bool]:
    out: list = []
    for start in range(0, len(payloads), 3):
        try:
            events, ended = normalizer.data_batch(payloads[start : start + 3])
        except Exception as exc:
            exc.partial = out + exc.partial  # type: ignore[attr-defined]
            raise
        out += events
        if ended:
            return out, True
    return out, False
