"""`chat --transport socketio` against the reference server's Open WebUI emulation, over loopback."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import uuid

import pytest
from conftest import clean_env, expected_reply, run_cli, seen_by, wait_until
from raw_servers import raw_server

from streamchat.server.openwebui import DEMO_TOKEN


def sio(server, *args, env=None):
    return run_cli("chat", "--transport", "socketio", "--url", server.url, *args, env=env)


def test_reply_and_sign_in_without_token(server):
    r = sio(server, "-o", "ndjson", "Hello")
    assert r.code == 0, r.stderr
    lines = r.lines()
    assert "".join(line["text"] for line in lines if line["type"] == "content") == expected_reply("Hello")
    assert lines[-2:] == [
        {"type": "usage", "input_tokens": 1, "output_tokens": 12, "total_tokens": 13},
        {"type": "done", "finish_reason": "stop"},
    ]
    assert "signed in to Open WebUI with empty credentials" in r.stderr


def test_reasoning_deltas(server):
    r = sio(server, "-m", "demo-reasoner", "-o", "json", "Hi")
    assert r.code == 0, r.stderr
    obj = json.loads(r.out)
    assert obj["reasoning"] == "Let me think about what the user asked." and obj["content"] == expected_reply("Hi", "demo-reasoner")


def test_sampling_options_and_params_reach_open_webui(server):
    # Open WebUI hands the top-level OpenAI fields of its chat request on to the model (seen live), so
    # --max-tokens, --temperature and --param must be in it; the fields that route the reply to our
    # socket stay ours, or the reply could never be found.
    test_id = str(uuid.uuid4())
    r = sio(
        server,
        "-H",
        f"X-Test-Id: {test_id}",
        "--max-tokens",
        "3",
        "--temperature",
        "0.5",
        "-p",
        "seed=7",
        "-p",
        "id=hijack",
        "-o",
        "ndjson",
        "Hi",
    )
    assert r.code == 0, r.stderr
    assert [line["type"] for line in r.lines()] == ["content"] * 3 + ["usage", "done"] and r.lines()[-1]["finish_reason"] == "length"
    (posted,) = [json.loads(seen.body) for seen in seen_by(server, test_id) if seen.path == "/api/chat/completions"]
    assert posted["max_tokens"] == 3 and posted["temperature"] == 0.5 and posted["seed"] == 7
    assert posted["id"] != "hijack" and posted["chat_id"] == "temporary:" + posted["session_id"]


def test_token_from_env_is_used_and_never_shown(auth_server):
    r = sio(auth_server, "Hi", env=clean_env(STREAMCHAT_TOKEN="s3cret-token-value"))
    assert r.code == 0, r.stderr
    assert "signed in" not in r.stderr and "s3cret" not in r.out + r.stderr


def test_wrong_token_is_refused_at_user_join(server):
    r = sio(server, "-o", "ndjson", "Hi", env=clean_env(STREAMCHAT_TOKEN="sk-an-api-key"))
    assert r.code == 5 and "user-join" in r.stderr
    # no HTTP status of its own: named as HTTP names refused credentials (one set of codes for scripts)
    assert r.lines()[-1] == {"type": "error", "message": "Open WebUI refused the token at user-join", "code": "http_401", "status": 401}


@pytest.mark.parametrize(
    "spec, code, needle",
    [
        ("error-after=3", 1, "injected error after 3 tokens"),
        ("backend-error", 1, "injected backend failure"),
        ("status=400", 6, "HTTP 400"),
    ],
)
def test_error_shapes(server, spec, code, needle):
    r = sio(server, "-H", f"X-Streamchat-Fault: {spec}", "--retries", "0", "-o", "ndjson", "Hi")
    assert r.code == code, r.stderr
    assert needle in r.stderr
    if spec == "error-after=3":
        assert [line["type"] for line in r.lines()] == ["content"] * 3 + ["error"]


def test_other_message_ids_are_ignored(server):
    r = sio(server, "-H", "X-Streamchat-Fault: foreign", "Hi")
    assert r.code == 0 and "yours" not in r.out


def test_server_calls_are_refused(server):
    answers = server.app.state.openwebui.call_answers
    before = len(answers)
    r = sio(server, "-H", "X-Streamchat-Fault: call=confirmation", "Hi")
    assert r.code == 0, r.stderr
    assert answers[before:] == [False]


def test_a_dropped_socket_mid_reply_is_3_with_the_tokens_before_it(server):
    r = sio(server, "-H", "X-Streamchat-Fault: drop-after=3", "--read-timeout", "5", "-o", "ndjson", "Hi")
    assert r.code == 3, r.stderr
    assert [line["type"] for line in r.lines()] == ["content"] * 3 + ["error"] and r.lines()[-1]["code"] == "connection_lost"


def test_socket_silence_is_4(server):
    r = sio(server, "-H", "X-Streamchat-Fault: stall-after=2", "--read-timeout", "0.5", "Hi")
    assert r.code == 4


SIGN_IN_REFUSED = b'{"detail":"The email or password provided is incorrect. Please check for typos and try logging in again."}'


def test_no_token_when_open_webui_auth_is_on_is_an_auth_failure():
    # Open WebUI 0.12.4 with its auth on answers the empty-credential sign-in with this 400 (seen live):
    # the user gave no token where one is needed, which is exit 5 as a wrong token is, never a plain HTTP error.
    with raw_server(SIGN_IN_REFUSED, framing="length", content_type="application/json", status="400 Bad Request", path="") as url:
        r = run_cli("chat", "--transport", "socketio", "--url", url, "-o", "ndjson", "Hi")
    assert r.code == 5, r.stderr
    assert r.lines() == [
        {
            "type": "error",
            "message": "no token given, and Open WebUI refused to sign in with empty credentials (its auth is on): "
            "HTTP 400 Bad Request: The email or password provided is incorrect. Please check for typos and try logging in again.",
            "code": "http_400",
            "status": 400,
        }
    ]
    assert "hint: give a token with STREAMCHAT_TOKEN or --token-file" in r.stderr


def test_refused_is_3(cli):
    r = cli("chat", "--transport", "socketio", "--url", "http://127.0.0.1:9", "--token", "x", "--retries", "0", "Hi")
    assert r.code == 3, r.stderr


def test_ctrl_c_stops_the_task_on_the_server(slow_server):
    stopped = slow_server.app.state.openwebui.stopped
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamchat", "chat", "--transport", "socketio", "--url", slow_server.url, "-o", "ndjson", "Hi"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=clean_env(STREAMCHAT_TOKEN=DEMO_TOKEN),
    )
    assert json.loads(proc.stdout.readline())["type"] == "content"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    wait_until(lambda: bool(stopped), what="the server stopping the task")
    assert stopped[-1].startswith("temporary:")


def test_plain_mode_of_api_chat_completions_is_sse(server):
    r = run_cli("chat", "--url", server.url + "/api/chat/completions", "-o", "json", "Hi")
    assert r.code == 0 and json.loads(r.out)["content"] == expected_reply("Hi")


def test_polling_transport_is_refused(server):
    import urllib.error
    import urllib.request

    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(server.url + "/ws/socket.io/?EIO=4&transport=polling", timeout=5)
    assert info.value.code == 400
