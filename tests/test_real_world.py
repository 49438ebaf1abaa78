"""What a first run against a real server needs: base URLs, model discovery, provider keys, --ignore-stdin."""

from __future__ import annotations

import json
import subprocess

import pytest
from conftest import clean_env, run_cli, seen_by
from scripted_http import scripted_server, sse_response

from streamchat.session.settings import provider_key

STREAM = b'data: {"choices":[{"index":0,"delta":{"content":"ok"},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n'


def openai_like(models: list[str] | None, status: str = "200 OK"):
    """A server that lists ``models`` at /v1/models (a 404 when None) and streams at /v1/chat/completions."""

    def answer(conn, request):
        if request.target.endswith("/models"):
            body = (
                json.dumps({"object": "list", "data": [{"id": m, "object": "model"} for m in models]}).encode()
                if models is not None
                else b"{}"
            )
            head = status if models is not None else "404 Not Found"
            conn.sendall(f"HTTP/1.1 {head}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
        else:
            conn.sendall(sse_response(STREAM))

    return answer


@pytest.mark.parametrize("path", ["", "/", "/v1", "/v1/"])
def test_a_base_url_means_the_openai_endpoint(path):
    with scripted_server(openai_like(["served-model"])) as srv:
        r = run_cli("chat", "--retries", "0", "--url", srv.url + path, "Hi", env=clean_env(STREAMCHAT_MODEL=""))
    assert (r.code, r.out) == (0, "ok\n"), r.stderr
    assert srv.requests[-1].target == "/v1/chat/completions"
    assert "is a base URL; sending to" in r.stderr and "/v1/chat/completions" in r.stderr


def test_the_model_is_the_servers_first_when_none_is_given():
    with scripted_server(openai_like(["served-model", "another"])) as srv:
        r = run_cli(
            "chat",
            "--retries",
            "0",
            "--url",
            srv.url + "/v1/chat/completions",
            "Hi",
            env=clean_env(STREAMCHAT_TOKEN="sk-tok", STREAMCHAT_MODEL=""),
        )
    assert r.code == 0, r.stderr
    listing, chat = srv.requests
    assert listing.target == "/v1/models" and listing.headers["authorization"] == "Bearer sk-tok"
    assert json.loads(chat.body)["model"] == "served-model"
    assert "using served-model, the first the server lists" in r.stderr


def test_a_configured_model_is_never_replaced():
    with scripted_server(openai_like(["served-model"])) as srv:
        r = run_cli("chat", "--retries", "0", "--url", srv.url + "/v1/chat/completions", "Hi", env=clean_env(STREAMCHAT_MODEL="mine"))
    assert r.code == 0 and [req.target for req in srv.requests] == ["/v1/chat/completions"]
    assert json.loads(srv.requests[0].body)["model"] == "mine"


@pytest.mark.parametrize("models", [None, []], ids=["404", "empty list"])
def test_a_server_that_lists_no_model_is_a_usage_error_with_its_reason_as_data(models):
    with scripted_server(openai_like(models)) as srv:
        r = run_cli("chat", "--retries", "0", "-o", "ndjson", "--url", srv.url + "/v1", "Hi", env=clean_env(STREAMCHAT_MODEL=""))
    assert r.code == 2 and "give -m MODEL" in r.stderr
    assert r.lines() == [{"type": "error", "message": "no model given and the server lists none: give -m MODEL", "code": "no_model"}]
    assert all(not req.target.endswith("/completions") for req in srv.requests)  # nothing was asked of a model


def test_the_seed_dialects_keep_their_default_model(server):
    r = run_cli("chat", "-q", "-o", "json", "--url", server.url + "/api/chat/stream", "Hi")
    assert r.code == 0 and json.loads(r.out)["done"] is True


def test_provider_keys_only_go_to_their_own_hosts():
    env = {"OPENAI_API_KEY": "sk-openai", "ANTHROPIC_API_KEY": "sk-ant"}
    assert provider_key("https://api.openai.com/v1/chat/completions", env) == "sk-openai"
    assert provider_key("https://api.anthropic.com/v1/messages", env) == "sk-ant"
    assert provider_key("https://api.openai.com.evil.example/v1", env) is None
    assert provider_key("http://127.0.0.1:8000/v1/chat/completions", env) is None


def test_a_provider_key_is_not_sent_to_another_host():
    with scripted_server(openai_like(["m"])) as srv:
        r = run_cli("chat", "--retries", "0", "-m", "m", "--url", srv.url + "/v1", "Hi", env=clean_env(OPENAI_API_KEY="sk-openai-secret"))
    assert r.code == 0 and all("authorization" not in req.headers for req in srv.requests)


def test_the_shell_loop_runs_once_a_line(server, tmp_path):
    questions = tmp_path / "questions.txt"
    questions.write_text("first\nsecond\nthird\n")
    url = server.url + "/api/chat/stream"
    loop = f'while read -r q; do streamchat chat --ignore-stdin -q --url {url} "$q" > /dev/null || exit 1; echo "asked: $q"; done < {questions}'
    done = subprocess.run(["bash", "-c", loop], capture_output=True, text=True, env=clean_env(), timeout=120)
    assert done.returncode == 0 and done.stdout.splitlines() == ["asked: first", "asked: second", "asked: third"], done.stderr


def test_the_environment_variable_leaves_stdin_alone_as_the_option_does(server, tmp_path):
    """STREAMCHAT_IGNORE_STDIN=1 in place of --ignore-stdin (the loop above, one turn of it): the message
    is the argument alone, and not a byte of stdin is read, so the loop's next line is still there."""
    questions = tmp_path / "questions.txt"
    questions.write_text("second\nthird\n")
    with open(questions, "rb") as stdin:
        r = run_cli(
            "chat", "-q", "--url", server.url + "/api/chat/stream", "-H", "X-Test-Id: ignore-env", "first",
            stdin=stdin, env=clean_env(STREAMCHAT_IGNORE_STDIN="1"),
        )  # fmt: skip
        assert r.code == 0, r.stderr
        assert stdin.tell() == 0
    assert json.loads(seen_by(server, "ignore-env")[0].body)["message"] == "first"


def test_ignore_stdin_refuses_an_input_that_reads_it(server):
    r = run_cli("chat", "--ignore-stdin", "--history", "-", "--url", server.url + "/api/chat/stream", "Hi", input=b"[]")
    assert r.code == 2 and "--ignore-stdin" in r.stderr


def test_a_camera_run_that_never_connected_is_3_within_its_duration():
    import socket
    import time

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens there once closed
    started = time.monotonic()
    r = run_cli("camera", "cam1", "--url", f"ws://127.0.0.1:{port}", "-o", "ndjson", "--duration", "1.5")
    assert r.code == 3 and time.monotonic() - started < 8  # reconnect waits included in the duration
    assert r.lines()[-1]["code"] == "connect_failed" and "never connected" in r.stderr


def test_bench_asks_for_the_servers_model_too():
    with scripted_server(openai_like(["served-model"])) as srv:
        r = run_cli(
            "bench", "--url", srv.url + "/v1", "--requests", "3", "--concurrency", "1", "-o", "json", env=clean_env(STREAMCHAT_MODEL="")
        )
    assert r.code == 0, r.stderr
    chats = [req for req in srv.requests if req.target == "/v1/chat/completions"]
    assert [json.loads(req.body)["model"] for req in chats] == ["served-model"] * 3
    assert sum(req.target == "/v1/models" for req in srv.requests) == 1  # asked once, not per request


@pytest.mark.parametrize("option", ["--history", "--system-file", "--token-file", "-C"])
def test_an_endless_input_ends_in_a_usage_error(option, server):
    import os

    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero")
    r = run_cli("chat", option, "/dev/zero", "--url", server.url + "/api/chat/stream", "Hi", timeout=30)
    assert r.code == 2 and "Traceback" not in r.stderr and r.out == ""


def test_a_replay_from_an_endless_source_ends_too():
    r = run_cli("chat", "--replay", "/dev/zero", timeout=30)
    assert r.code == 2 and "Traceback" not in r.stderr
