"""A server that echoes the token back — in content, in error messages, split across reads, in bytes
that are not UTF-8 — never gets it into stdout, stderr, -o json, -C or --record (one scrubber)."""

from __future__ import annotations

import base64
import json

import pytest
from conftest import clean_env, run_cli
from hostile_servers import close_frame, http_response, http_server, sse, text_frames, ws_server

REDACTED = "<redacted>"
SECRET = "sk-live-0123456789abcdef"
ENV = clean_env(STREAMCHAT_TOKEN=SECRET)


def chunk(text: str) -> bytes:
    return json.dumps({"choices": [{"delta": {"content": text}}]}).encode()


def everything(r, tmp_path) -> bytes:
    """All a run wrote: stdout, stderr and every file, recordings' base64 decoded too."""
    out = [r.stdout, r.stderr.encode()]
    for path in tmp_path.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            out.append(data)
            for line in data.splitlines():
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                if isinstance(entry, dict) and "b64" in entry:
                    out.append(base64.b64decode(entry["b64"]))
    return b"\n".join(out)


# -- the scrubber ------------------------------------------------------------------------------------


def test_text_and_url_forms():
    from streamchat.secrets import Scrubber

    scrubber = Scrubber("a b/c+d")
    assert scrubber.text("x a b/c+d y a%20b%2Fc%2Bd z a+b%2Fc%2Bd") == f"x {REDACTED} y {REDACTED} z {REDACTED}"
    assert not Scrubber("abc") and Scrubber("abc").text("abc") == "abc"  # too short to be a secret worth scrubbing


def test_byte_stream_finds_a_secret_split_at_every_offset():
    from streamchat.secrets import Scrubber

    data = b"head \xff\xfe " + SECRET.encode() + b" mid " + SECRET.encode()[:7] + b" tail " + SECRET.encode()
    expected = Scrubber(SECRET).bytes(data)
    for cut in range(len(data) + 1):
        for second in (cut, min(len(data), cut + 5)):
            stream = Scrubber(SECRET).bytes_stream()
            pieces = [stream.feed(data[:cut]), stream.feed(data[cut:second]), stream.feed(data[second:]), stream.close()]
            assert b"".join(pieces) == expected
            assert all(SECRET.encode() not in piece for piece in pieces)


def test_a_stream_holds_back_only_what_could_start_the_secret():
    from streamchat.secrets import Scrubber

    stream = Scrubber(SECRET).text_stream()
    assert stream.feed("hello") == "hello" and not stream.pending
    assert stream.feed("hi sk-li") == "hi " and stream.pending
    assert stream.feed("ke that") == "sk-like that"


# -- a server that echoes the token -----------------------------------------------------------------


@pytest.mark.parametrize("mode", ["text", "ndjson", "json"])
def test_echoed_in_content_split_across_reads(tmp_path, mode):
    # before: the token reached stdout (split across events), -C and --record (split across reads)
    half = len(SECRET) // 2
    script = [http_response(b""), sse(chunk("your key is " + SECRET[:half])), 0.05, sse(chunk(SECRET[half:] + " ok")), 0.05,
              b"data: " + chunk(SECRET)[:20], 0.05, chunk(SECRET)[20:] + b"\n\n", sse(b"[DONE]")]  # fmt: skip
    with http_server(script) as (url, _):
        r = run_cli(
            "chat", "--url", url, "-o", mode, "-C", str(tmp_path / "c.ndjson"), "--record", str(tmp_path / "r.ndjson"), "Hi", env=ENV
        )
    assert r.code == 0, r.stderr
    assert SECRET.encode() not in everything(r, tmp_path)
    assert f"your key is {REDACTED} ok{REDACTED}".encode() in (tmp_path / "c.ndjson").read_bytes()


def test_echoed_in_a_read_that_is_not_utf8(tmp_path):
    # before: the read was base64-encoded in the recording, token and all
    not_utf8 = b": \xff\xfe " + SECRET.encode() + b"\n" + sse(chunk("a"))  # a comment with the token, and bytes no UTF-8 has
    script = [http_response(b""), not_utf8, 0.05, sse(chunk("the key " + SECRET)), sse(b"[DONE]")]
    with http_server(script) as (url, _):
        r = run_cli("chat", "--url", url, "-q", "--record", str(tmp_path / "r.ndjson"), "Hi", env=ENV)
    assert r.code == 0, r.stderr
    recording = (tmp_path / "r.ndjson").read_text()
    assert '"b64"' in recording  # the read really was not UTF-8
    assert SECRET.encode() not in everything(r, tmp_path)


def test_echoed_in_error_messages_and_retry_notices(tmp_path):
    body = json.dumps({"error": {"message": f"bad key {SECRET}\nretry later", "code": SECRET}}).encode()
    refusal = http_response(body, "503 Service Unavailable", "application/json", "retry-after: 0\r\n")
    with http_server([refusal]) as (url, _):
        r = run_cli("chat", "--url", url, "--retries", "1", "-o", "json", "Hi", env=ENV)
    assert r.code == 6 and r.stderr.count(REDACTED) == 2, r.stderr
    assert SECRET.encode() not in everything(r, tmp_path)
    error = sse(chunk("partial "), json.dumps({"error": {"message": f"token {SECRET} revoked", "code": SECRET}}).encode())
    with http_server([http_response(error)]) as (url, _):
        r = run_cli("chat", "--url", url, "-o", "json", "Hi", env=ENV)
    assert r.code == 1 and json.loads(r.stdout)["error"] == {"message": f"token {REDACTED} revoked", "code": REDACTED}
    assert SECRET.encode() not in everything(r, tmp_path)


def test_echoed_over_a_websocket_in_content_and_the_close_reason(tmp_path):
    script = [text_frames(json.dumps({"type": "chunk", "text": SECRET[:5]}).encode(), json.dumps({"type": "chunk", "text": SECRET[5:]}).encode()),
              close_frame(1011, f"no {SECRET}".encode())]  # fmt: skip
    with ws_server(script) as (url, _):
        r = run_cli("ws-chat", "--url", url, "--retries", "0", "-o", "ndjson", "--record", str(tmp_path / "r.ndjson"), "Hi", env=ENV)
    assert r.code == 1 and REDACTED in r.stderr and REDACTED in r.out, r.stderr
    assert SECRET.encode() not in everything(r, tmp_path)


def test_a_credential_given_as_a_header_is_scrubbed_too(tmp_path):
    with http_server([http_response(sse(chunk("echo: Bearer " + SECRET), b"[DONE]"))]) as (url, _):
        r = run_cli("chat", "--url", url, "-H", f"Authorization: Bearer {SECRET}", "Hi")
    assert r.code == 0 and SECRET.encode() not in r.stdout and REDACTED.encode() in r.stdout


def test_every_text_field_of_any_event_kind_is_scrubbed():
    """Kinds the scrubber has no rule for (a tool call, say) have their text fields scrubbed too."""
    import io

    from streamchat.env import Environment
    from streamchat.secrets import Scrubber
    from streamchat.session.output import OutputOptions, make_renderer
    from streamchat.session.reply import Reply

    class ToolCallLike:
        __slots__ = ("name", "arguments", "index")
        type = "tool_call"

        def __init__(self, name: str, arguments: str) -> None:
            self.name, self.arguments, self.index = name, arguments, 0

        def as_dict(self) -> dict:
            return {"type": "tool_call", "name": self.name, "arguments": self.arguments, "index": self.index}

    env = Environment(stdin=None, stdout=io.BytesIO(), stderr=io.StringIO(), environ={}, stdout_isatty=False, stderr_isatty=False)
    renderer = make_renderer(env, OutputOptions(mode="ndjson", quiet=True), Scrubber(SECRET))
    renderer.begin(0.0)
    renderer.emit(Reply(0.0), [ToolCallLike("send", json.dumps({"key": SECRET}))], 0.0)  # type: ignore[list-item]
    renderer.flush()
    line = json.loads(env.stdout.getvalue())
    assert line == {"type": "tool_call", "name": "send", "arguments": json.dumps({"key": REDACTED}), "index": 0}
