"""`streamchat chat` end to end: the real executable against the reference server over loopback."""

from __future__ import annotations

import json
from http import HTTPStatus

import pytest
from conftest import clean_env, expected_reply, run_cli, run_on_terminal, seen_by

ALLOWED = {
    "content": {"type", "text"},
    "reasoning": {"type", "text"},
    "tps": {"type", "tps"},
    "usage": {"type", "input_tokens", "output_tokens", "total_tokens", "reasoning_tokens", "cached_tokens"},
    "error": {"type", "message", "code"},
    "done": {"type", "finish_reason"},
}

DIALECT_PATHS = {
    "streamchat": "/api/chat/stream",
    "openai": "/v1/chat/completions",
    "prompt": "/api/v1/actions/chats/42/messages",
    "query": "/api/v1/chat/stream",
    "anthropic": "/v1/messages",
}


def url(server, dialect="streamchat"):
    return server.url + DIALECT_PATHS[dialect]


@pytest.mark.parametrize("dialect", list(DIALECT_PATHS))
def test_every_dialect_streams_the_reply(server, dialect):
    model = "deepseek/deepseek-chat" if dialect in ("streamchat", "openai", "anthropic") else "default"
    extra = ["--get"] if dialect == "query" else []  # the only dialect a path does not imply
    r = run_cli("chat", "--url", url(server, dialect), *extra, "Hello there")
    assert r.code == 0, r.stderr
    assert r.out == expected_reply("Hello there", model) + "\n"


def test_dialect_inferred_from_path_and_request_shapes(server):
    r = run_cli(
        "chat",
        "--url",
        url(server, "openai"),
        "-m",
        "gpt-4o-mini",
        "-s",
        "be brief",
        "--max-tokens",
        "5",
        "-H",
        "X-Test-Id: shape-openai",
        "Hi",
    )
    assert r.code == 0, r.stderr
    (req,) = seen_by(server, "shape-openai")
    body = json.loads(req.body)
    assert body == {
        "model": "gpt-4o-mini",
        "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "Hi"}],
        "stream": True,
        "stream_options": {"include_usage": True},
        "max_tokens": 5,
    }
    assert req.headers["accept"] == "text/event-stream"
    assert req.headers["content-type"] == "application/json"


def test_streamchat_body_provider_from_model_prefix(server):
    r = run_cli("chat", "--url", url(server), "--temperature", "0.5", "-H", "X-Test-Id: shape-sc", "Hi")
    assert r.code == 0, r.stderr
    body = json.loads(seen_by(server, "shape-sc")[0].body)
    assert body == {"message": "Hi", "model_id": "deepseek/deepseek-chat", "provider_slug": "deepseek", "temperature": 0.5}
    r = run_cli("chat", "--url", url(server), "-m", "plainmodel", "-H", "X-Test-Id: shape-sc2", "Hi")
    assert "provider_slug" not in json.loads(seen_by(server, "shape-sc2")[0].body)


def test_query_dialect_keeps_url_parameters(server):
    r = run_cli("chat", "--get", "--url", url(server, "query") + "?lang=en", "-H", "X-Test-Id: q", "a b&c")
    assert r.code == 0, r.stderr
    req = seen_by(server, "q")[0]
    assert req.method == "GET"


def test_anthropic_headers(server):
    r = run_cli("chat", "--url", url(server, "anthropic"), "-H", "X-Test-Id: anth", "Hi", env=clean_env(STREAMCHAT_TOKEN="sk-ant-xyz"))
    assert r.code == 0, r.stderr
    headers = seen_by(server, "anth")[0].headers
    assert headers["x-api-key"] == "sk-ant-xyz" and headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in headers
    body = json.loads(seen_by(server, "anth")[0].body)
    assert body["max_tokens"] == 1024 and body["stream"] is True


def test_ndjson_schema_is_closed_and_ends_with_done(server):
    r = run_cli("chat", "--url", url(server), "-o", "ndjson", "Hi")
    assert r.code == 0
    lines = r.lines()
    for line in lines:
        assert set(line) <= ALLOWED[line["type"]], line
        if line["type"] in ("content", "reasoning"):
            assert line["text"]
    assert [line["type"] for line in lines][-3:] == ["tps", "usage", "done"]
    assert "".join(line["text"] for line in lines if line["type"] == "content") == expected_reply("Hi")
    assert lines[-1] == {"type": "done", "finish_reason": "stop"}


def test_timestamps_are_monotonic(slow_server):
    r = run_cli("chat", "--url", url(slow_server), "-o", "ndjson", "-t", "Hi")
    ts = [line["t"] for line in r.lines()]
    assert ts == sorted(ts) and ts[0] > 0 and ts[-1] - ts[0] > 0.5


def test_json_output(server):
    r = run_cli("chat", "--url", url(server), "-o", "json", "-m", "demo-reasoner", "Hi")
    assert r.code == 0
    (obj,) = r.lines()
    assert obj["content"] == expected_reply("Hi", "demo-reasoner")
    assert obj["reasoning"].startswith("Let me think")
    assert obj["done"] is True and obj["error"] is None and obj["finish_reason"] == "stop"
    assert obj["usage"]["output_tokens"] == 12 + 9
    assert set(obj["timing"]) == {"ttft_ms", "total_ms", "client_tps", "events"}


def test_reasoning_goes_to_stderr_in_text_mode(server):
    r = run_cli("chat", "--url", url(server, "openai"), "-m", "demo-reasoner", "Hi")
    assert r.code == 0
    assert "Let me think about what the user asked." in r.stderr
    assert "Let me" not in r.out
    r = run_cli("chat", "--url", url(server), "-m", "demo-reasoner", "--no-reasoning", "Hi")
    assert "Let me" not in r.stderr


def test_report_line_and_quiet(server):
    r = run_cli("chat", "--url", url(server), "Hi")
    assert "1 in → 12 out" in r.stderr and "tok/s" in r.stderr
    r = run_cli("chat", "--url", url(server), "-q", "Hi")
    assert r.stderr == ""


def test_non_streamed_json_answer(server):
    # An OpenAI-compatible server may answer a streaming request with one JSON body.
    r = run_cli("chat", "--url", url(server, "openai"), "-o", "ndjson", "-H", "X-Streamchat-Fault: json", "Hi")
    assert r.code == 0, r.stderr
    assert r.lines() == [
        {"type": "content", "text": expected_reply("Hi")},
        {"type": "usage", "input_tokens": 1, "output_tokens": 12, "total_tokens": 13},
        {"type": "done", "finish_reason": "stop"},
    ]
    r = run_cli("chat", "--url", url(server, "openai"), "-H", "X-Streamchat-Fault: content-type=application/json", "Hi")
    assert r.code == 7  # a JSON content type on a body that is not JSON


def test_embedded_demo_server(cli):
    r = cli("chat", "Hello")
    assert r.code == 0, r.stderr
    assert r.stderr.startswith("streamchat: no --url given; using the built-in demo server at http://127.0.0.1:")
    assert r.out.endswith(".\n")


def test_embedded_demo_server_follows_dialect(cli):
    r = cli("chat", "--dialect", "openai", "-o", "ndjson", "Hello")
    assert r.code == 0, r.stderr
    assert r.lines()[-1]["type"] == "done"


# -- exit codes (SPEC §5) ---------------------------------------------------------------------


def fault(server, spec, *args, dialect="streamchat", output="ndjson"):
    if dialect == "query":
        args = ("--get", *args)
    return run_cli("chat", "--url", url(server, dialect), "-o", output, "-H", f"X-Streamchat-Fault: {spec}", *args, "Hi")


@pytest.mark.parametrize("dialect", ["streamchat", "openai", "prompt", "query", "anthropic"])
def test_error_event_exits_1_with_partial_output(server, dialect):
    r = fault(server, "error-after=3", dialect=dialect)
    assert r.code == 1, r.stderr
    lines = r.lines()
    assert [line["type"] for line in lines[-4:]] == ["content", "content", "content", "error"]
    assert "done" not in [line["type"] for line in lines]
    assert r.stderr.count("\n") == 1 and "streamchat: error: injected error after 3 tokens" in r.stderr


def test_drop_mid_reply_exits_3_keeping_exactly_what_arrived(server):
    r = fault(server, "drop-after=5", output="text")
    assert r.code == 3
    tokens = [t for t in expected_reply("Hi").split(" ")][:5]
    assert r.out == " ".join(tokens) + "\n"
    assert "Traceback" not in r.stderr and r.stderr.startswith("streamchat: error: connection lost mid-reply")


def test_refused_exits_3_after_retries(cli):
    r = cli("chat", "--url", "http://127.0.0.1:9/x", "--retries", "0", "Hi")
    assert r.code == 3 and r.stderr.startswith("streamchat: error: could not connect")


def test_read_timeout_exits_4(server):
    r = fault(server, "stall-after=2", "--read-timeout", "0.5")
    assert r.code == 4
    lines = r.lines()
    assert [line["type"] for line in lines] == ["content", "content", "error"]
    assert lines[-1]["code"] == "timeout" and "read-timeout" in lines[-1]["message"]  # the failure as data, last
    assert "read-timeout" in r.stderr


@pytest.mark.parametrize("status", ["401", "403"])
def test_auth_rejected_exits_5(server, status):
    r = fault(server, f"status={status}")
    assert r.code == 5 and f"HTTP {status}" in r.stderr


def test_token_required_by_server(auth_server, tmp_path):
    r = run_cli("chat", "--url", url(auth_server), "Hi")
    assert r.code == 5
    token_file = tmp_path / "token"
    token_file.write_text("s3cret-token-value\n")
    r = run_cli("chat", "--url", url(auth_server), "--token-file", str(token_file), "-o", "json", "Hi")
    assert r.code == 0, r.stderr
    r = run_cli("chat", "--url", url(auth_server), "Hi", env=clean_env(STREAMCHAT_TOKEN="s3cret-token-value"))
    assert r.code == 0
    assert "s3cret" not in r.out + r.stderr


def test_token_never_shown_on_error_paths(auth_server):
    for spec in ("status=500", "drop-after=1", "garbage"):
        r = run_cli(
            "chat",
            "--url",
            url(auth_server),
            "-H",
            f"X-Streamchat-Fault: {spec}",
            "--retries",
            "0",
            "-o",
            "json",
            "Hi",
            env=clean_env(STREAMCHAT_TOKEN="s3cret-token-value"),
        )
        assert r.code != 0
        assert "s3cret" not in r.out + r.stderr


def test_token_on_command_line_warns(auth_server):
    r = run_cli("chat", "--url", url(auth_server), "--token", "s3cret-token-value", "Hi")
    assert r.code == 0
    assert "STREAMCHAT_TOKEN" in r.stderr and "s3cret" not in r.stderr


@pytest.mark.parametrize("status", ["500", "404"])
def test_http_error_exits_6_with_message(server, status):
    r = fault(server, f"status={status}")
    assert r.code == 6 and f"HTTP {status}" in r.stderr and "injected status" in r.stderr
    (line,) = r.lines()  # nothing but the failure, as data
    assert line == {
        "type": "error",
        "message": f"HTTP {status} {HTTPStatus(int(status)).phrase}: injected status {status}",
        "code": f"http_{status}",
        "status": int(status),
    }


def test_429_retried_then_exit_6(server):
    r = run_cli(
        "chat", "--url", url(server), "-H", "X-Streamchat-Fault: status=429;retry-after=0", "-H", "X-Test-Id: r429", "--retries", "2", "Hi"
    )
    assert r.code == 6
    assert len(seen_by(server, "r429")) == 3  # --retries 2: at most 3 attempts
    assert r.stderr.count("retrying") == 2


def test_503_retried_until_success_without_duplicates(server):
    r = run_cli(
        "chat",
        "--url",
        url(server),
        "-o",
        "ndjson",
        "-H",
        "X-Streamchat-Fault: status=503;retry-after=0;count=2;id=sse-503",
        "-H",
        "X-Test-Id: r503",
        "Hi",
    )
    assert r.code == 0, r.stderr
    assert len(seen_by(server, "r503")) == 3
    assert "".join(line.get("text", "") for line in r.lines()) == expected_reply("Hi")


def test_500_is_not_retried(server):
    r = run_cli("chat", "--url", url(server), "-H", "X-Streamchat-Fault: status=500", "-H", "X-Test-Id: r500", "Hi")
    assert r.code == 6 and len(seen_by(server, "r500")) == 1


def test_never_retried_after_the_reply_started(server):
    r = run_cli("chat", "--url", url(server), "-H", "X-Streamchat-Fault: drop-after=2", "-H", "X-Test-Id: rdrop", "Hi")
    assert r.code == 3 and len(seen_by(server, "rdrop")) == 1


@pytest.mark.parametrize("spec", ["garbage", "content-type=text/html", "empty", "oversize=4096"])
def test_protocol_errors_exit_7(server, spec):
    r = fault(server, spec, "--max-response-size", "2KB")
    assert r.code == 7, r.stderr
    assert r.stderr.startswith("streamchat: error: ") and "Traceback" not in r.stderr


def test_size_cap_keeps_what_came_before(server):
    r = run_cli("chat", "--url", url(server), "--max-response-size", "200", "-o", "ndjson", "Hi there, a long message")
    assert r.code == 7 and "max-response-size" in r.stderr


def test_garbage_in_query_dialect_is_text(server):
    r = fault(server, "garbage", dialect="query", output="text")
    assert r.code == 0


def test_truncated_stream_exits_7(server):
    r = fault(server, "empty")
    assert r.code == 7 and "truncated" in r.stderr


# -- bad input: exit 2, one line, no traceback ---------------------------------------------------


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--url", "", "Hi"], "--url is empty"),
        (["--url", "ftp://x/y", "Hi"], "bad URL"),
        (["--temperature", "3", "Hi"], "--temperature"),
        (["--top-p", "-1", "Hi"], "--top-p"),
        (["--max-tokens", "0", "Hi"], "--max-tokens"),
        (["--max-response-size", "10XB", "Hi"], "--max-response-size"),
        (["--history", "/nonexistent/h.json", "Hi"], "not found"),
        (["-i", "/nonexistent.png", "Hi"], "not found"),
        (["-H", "NoColonHere", "Hi"], "bad header"),
        (["--output", "yaml", "Hi"], "--output"),
        ([], "no message"),
    ],
)
def test_bad_input_exits_2_with_one_line(cli, args, needle):
    r = cli("chat", *args, stdin=__import__("subprocess").DEVNULL)
    assert r.code == 2, r.stderr
    assert needle in r.stderr
    assert r.stderr.startswith("streamchat: error: ") and "Traceback" not in r.stderr
    assert len([line for line in r.stderr.splitlines() if line.startswith("streamchat: error")]) == 1


def test_malformed_history_names_file_and_line(cli, tmp_path):
    h = tmp_path / "h.ndjson"
    h.write_text('{"role": "user", "content": "a"}\n{"role": "robot", "content": "b"}\n')
    r = cli("chat", "--history", str(h), "Hi")
    assert r.code == 2 and f"{h}:2:" in r.stderr
    h.write_text('{"role": "user", "content": "a"}\n{not json\n')
    r = cli("chat", "--history", str(h), "Hi")
    assert r.code == 2 and f"{h}:2: invalid JSON" in r.stderr


def test_non_image_is_refused(cli, tmp_path):
    f = tmp_path / "notes.txt"
    f.write_text("hello")
    r = cli("chat", "-i", str(f), "Hi")
    assert r.code == 2 and "not a PNG, JPEG, GIF or WebP" in r.stderr


def test_two_stdin_consumers_refused(cli):
    r = cli("chat", "--history", "-", "-i", "-", "Hi", input=b"[]")
    assert r.code == 2 and "standard input" in r.stderr


# -- inputs ----------------------------------------------------------------------------------------


def _png() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (4, 3), (10, 200, 30)).save(out, "PNG")
    return out.getvalue()


PNG = _png()  # a real image: -i checks that the whole file decodes


def test_stdin_and_message_are_joined(server):
    r = run_cli("chat", "--url", url(server), "-H", "X-Test-Id: stdin1", "explain", input=b"print(1)\n\n")
    assert r.code == 0
    assert json.loads(seen_by(server, "stdin1")[0].body)["message"] == "print(1)\n\nexplain"
    r = run_cli("chat", "--url", url(server), "-H", "X-Test-Id: stdin2", input=b"just stdin\n")
    assert json.loads(seen_by(server, "stdin2")[0].body)["message"] == "just stdin"


def test_history_images_and_system_file(server, tmp_path):
    hist = tmp_path / "h.json"
    hist.write_text(json.dumps([{"role": "user", "content": "u1"}, {"role": "assistant", "content": "a1"}]))
    img = tmp_path / "x.png"
    img.write_bytes(PNG)
    sysf = tmp_path / "sys.txt"
    sysf.write_text("system words\n")
    r = run_cli(
        "chat",
        "--url",
        url(server, "openai"),
        "--history",
        str(hist),
        "-i",
        str(img),
        "-i",
        "https://example.invalid/a.jpg",
        "--system-file",
        str(sysf),
        "-H",
        "X-Test-Id: hist",
        "Hi",
    )
    assert r.code == 0, r.stderr
    body = json.loads(seen_by(server, "hist")[0].body)
    assert body["messages"][0] == {"role": "system", "content": "system words"}
    assert body["messages"][1:3] == [{"role": "user", "content": "u1"}, {"role": "assistant", "content": "a1"}]
    parts = body["messages"][3]["content"]
    assert parts[0] == {"type": "text", "text": "Hi"}
    assert parts[1]["image_url"]["url"].startswith("data:image/png;base64,")
    assert parts[2]["image_url"]["url"] == "https://example.invalid/a.jpg"


def test_image_from_stdin(server):
    r = run_cli("chat", "--url", url(server), "-i", "-", "-H", "X-Test-Id: imgstdin", "what is it", input=PNG)
    assert r.code == 0, r.stderr
    assert json.loads(seen_by(server, "imgstdin")[0].body)["images"][0].startswith("data:image/png;base64,")


def test_conversation_file_grows_only_on_success(server, tmp_path):
    conv = tmp_path / "talk.ndjson"
    r = run_cli("chat", "--url", url(server), "-C", str(conv), "first")
    assert r.code == 0
    r = run_cli("chat", "--url", url(server), "-C", str(conv), "-H", "X-Test-Id: conv", "second")
    assert r.code == 0
    turns = [json.loads(line) for line in conv.read_text().splitlines()]
    assert [t["role"] for t in turns] == ["user", "assistant", "user", "assistant"]
    assert turns[1]["content"] == expected_reply("first")
    assert json.loads(seen_by(server, "conv")[0].body)["history"] == turns[:2]
    before = conv.read_bytes()
    r = run_cli("chat", "--url", url(server), "-C", str(conv), "-H", "X-Streamchat-Fault: drop-after=2", "third")
    assert r.code == 3 and conv.read_bytes() == before


# -- terminals, pipes, signals --------------------------------------------------------------------


def test_escape_sequences_neutralised_on_a_terminal_only(server):
    import sys

    args = [sys.executable, "-m", "streamchat", "chat", "--url", url(server), "-H", "X-Streamchat-Fault: escape", "Hi"]
    r = run_cli(*args[3:])
    assert "\x1b[2J" in r.out  # a pipe gets the bytes exactly
    code, screen = run_on_terminal(args, "stdout", timeout=30)
    assert code == 0
    assert b"\x1b" not in screen and b"\x07" not in screen
    assert b"^[[2J" in screen


def test_closed_stdout_ends_quietly(slow_server):
    import subprocess
    import sys

    # paced tokens: head has exited long before the reply ends, so a later write meets a closed pipe
    cmd = f"'{sys.executable}' -m streamchat chat --url '{url(slow_server)}' -o ndjson Hello | head -1; echo \"status=${{PIPESTATUS[0]}}\" >&2"
    proc = subprocess.run(["bash", "-c", cmd], capture_output=True, env=clean_env(), timeout=30)
    assert proc.stdout.count(b"\n") == 1
    err = proc.stderr.decode()
    assert err.strip() == "status=141", err
    assert "Traceback" not in err and "error" not in err


def test_sigint_mid_stream_exits_130_with_output_flushed(slow_server):
    import signal
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-m", "streamchat", "chat", "--url", url(slow_server), "-o", "ndjson", "Hi"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=clean_env(),
    )
    first = proc.stdout.readline()
    assert json.loads(first)["type"] == "content"  # mid-stream: 39 paced tokens still to come
    proc.send_signal(signal.SIGINT)
    rest, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    lines = [json.loads(line) for line in [first, *rest.splitlines()]]
    assert all(line["type"] == "content" for line in lines[:-1])
    assert lines[-1] == {"type": "error", "message": "interrupted", "code": "interrupted"}
    assert b"Traceback" not in err
