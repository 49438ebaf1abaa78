"""Hostile JSON from a server: non-finite numbers, deep nesting, duplicate keys, lone surrogates.

A protocol error (7) at worst, with everything decoded before it written; never an internal error;
stdout stays strict RFC 8259 JSON (checked with orjson, which refuses NaN and lone surrogates).
"""

from __future__ import annotations

import io
import json

import orjson
import pytest
from conftest import run_cli
from hostile_servers import http_response, http_server, sse

from streamchat.env import Environment
from streamchat.errors import ProtocolError, StreamchatError
from streamchat.session.http import decode_body
from streamchat.session.output import OutputOptions, make_renderer

TOKEN = b'{"choices":[{"index":0,"delta":{"content":"%s"}}]}'


def render(chunks: list[bytes], mode: str = "ndjson", dialect: str = "openai"):
    """The chunks through decoder, normaliser and a renderer: (stdout bytes, the reply, the error if any)."""
    env = Environment(stdin=None, stdout=io.BytesIO(), stderr=io.StringIO(), environ={}, stdout_isatty=False, stderr_isatty=False)
    renderer = make_renderer(env, OutputOptions(mode=mode, quiet=True))
    error = None
    try:
        reply = decode_body("text/event-stream", chunks, dialect, renderer)
    except StreamchatError as exc:
        error, reply = exc, exc.reply
    return env.stdout.getvalue(), reply, error  # type: ignore[attr-defined]


def strict_lines(out: bytes) -> list[dict]:
    return [orjson.loads(line) for line in out.splitlines()]


def test_non_finite_usage_is_absent_and_the_read_is_kept():
    # before: OverflowError (1e999) / ValueError (NaN) from int(), and the read's content lost
    for bad in (b"1e999", b"NaN", b"Infinity", b"-Infinity"):
        usage = b'{"choices":[],"usage":{"prompt_tokens":%s,"completion_tokens":5,"total_tokens":%s}}' % (bad, bad)
        out, reply, error = render([sse(TOKEN % b"Hi", usage, TOKEN % b" there", b"[DONE]")])
        assert error is None and reply.content == "Hi there"
        lines = strict_lines(out)
        assert {"type": "usage", "input_tokens": 0, "output_tokens": 5, "total_tokens": 5} in lines


def test_non_finite_tps_and_codes_are_never_written():
    stream = b'event: tps\ndata: NaN\n\nevent: tps\ndata: {"tps": 1e999}\n\n' + sse(TOKEN % b"a") + b"event: done\ndata: {}\n\n"
    out, reply, error = render([stream], dialect="streamchat")
    assert error is None and reply.tps is None
    assert [line["type"] for line in strict_lines(out)] == ["content", "done"]
    out, reply, error = render([sse(b'{"error": {"message": "boom", "code": NaN}}')], mode="json")
    assert strict_lines(out)[0]["error"] == {"message": "boom"}  # the code is absent, not NaN


@pytest.mark.parametrize("depth", [257, 300, 2000, 200_000])
def test_deep_nesting_is_a_protocol_error_after_what_came_before(depth):
    # before: RecursionError (an internal error) for the stdlib's fallback parse
    deep = b"[" * depth + b"]" * depth
    out, reply, error = render([sse(TOKEN % b"kept", deep, TOKEN % b"never")])
    assert isinstance(error, ProtocolError) and error.exit_code == 7
    assert "nested deeper than 256" in error.message
    lines = strict_lines(out)
    assert lines[:-1] == [{"type": "content", "text": "kept"}] and lines[-1]["code"] == "protocol_error"


def test_nesting_of_256_is_fine():
    ok = b'{"choices":[],"x":' + b"[" * 254 + b"]" * 254 + b"}"
    out, reply, error = render([sse(TOKEN % b"a", ok, b"[DONE]")])
    assert error is None and reply.content == "a"


def test_duplicate_keys_last_one_wins():
    out, reply, error = render([sse(b'{"type":"content","text":"first","text":"last"}', b'{"type":"done"}')], dialect="streamchat")
    assert error is None and reply.content == "last"


@pytest.mark.parametrize("mode", ["text", "ndjson", "json"])
def test_lone_surrogate_becomes_u_fffd_in_every_output(mode):
    # before: "?" in text, a bare "\ud800" escape in ndjson and json (strict parsers refuse it)
    out, reply, error = render([sse(TOKEN % b"a\\ud800b", TOKEN % b"\\udc00", b"[DONE]")], mode=mode)
    assert error is None and reply.content == "a\ufffdb\ufffd"
    if mode == "text":
        assert out.decode("utf-8") == "a\ufffdb\ufffd\n"
    else:
        assert "a\ufffdb" in json.dumps(strict_lines(out), ensure_ascii=False)


def test_strict_json_dumps_never_writes_nan_or_surrogates():
    from streamchat.protocol import strict_json

    text = strict_json.dumps({"tps": float("nan"), "l": [float("inf"), 1], "s": "\ud800", "ok": 2.5})
    assert orjson.loads(text) == {"l": [None, 1], "s": "\ufffd", "ok": 2.5}


def test_a_lone_surrogate_reply_streams_is_saved_and_exits_0(tmp_path):
    # before: the reply printed, then UnicodeEncodeError (exit 1) and the turn was not saved
    body = sse(TOKEN % b"x\\ud800y", b"[DONE]")
    conv = tmp_path / "c.ndjson"
    with http_server([http_response(body)]) as (url, _):
        r = run_cli("chat", "--url", url, "--retries", "0", "-C", str(conv), "Hi")
    assert r.code == 0, r.stderr
    assert r.stdout == "x\ufffdy\n".encode()
    assert [orjson.loads(line)["content"] for line in conv.read_bytes().splitlines()] == ["Hi", "x\ufffdy"]
