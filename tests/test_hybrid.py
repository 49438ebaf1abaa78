"""`chat --sync-ws` (seed hybrid-websocket-sse): control socket + SSE reply + fallback."""

from __future__ import annotations

import json

from conftest import clean_env, expected_reply, run_cli, wait_until


def test_turn_is_synced_and_history_reads_back(server):
    url = server.url + "/api/v1/chat/stream"
    r = run_cli("chat", "--get", "--url", url, "--sync-ws", "/api/v1/ws/chat/user-7", "Hello")
    assert r.code == 0, r.stderr
    wait_until(lambda: len(server.app.state.ws.users.get("user-7", {}).get("messages", [])) == 2, what="the synced turn")
    record = server.app.state.ws.users["user-7"]
    assert record["typing"] == [True]
    assert record["messages"] == [
        {"role": "user", "content": "Hello"},
        {"role": "assistant", "content": expected_reply("Hello", "default")},
    ]

    # what a client reads back over the channel itself
    from streamchat.client.ws import WSConnection, WSOptions

    conn = WSConnection(server.url + "/api/v1/ws/chat/user-7", WSOptions())
    conn.open()
    conn.send_text(json.dumps({"type": "sync"}))
    (answer,) = conn.receive()
    conn.close()
    assert json.loads(answer) == {"type": "history", "messages": record["messages"]}


def test_token_goes_in_the_control_query(auth_server):
    url = auth_server.url + "/api/v1/chat/stream"
    env = clean_env(STREAMCHAT_TOKEN="s3cret-token-value")
    r = run_cli("chat", "--get", "--url", url, "--sync-ws", "/api/v1/ws/chat/u9", "Hi", env=env)
    assert r.code == 0, r.stderr
    wait_until(lambda: len(auth_server.app.state.ws.users.get("u9", {}).get("messages", [])) == 2, what="the synced turn")
    r = run_cli("chat", "--get", "--url", url, "--sync-ws", "/api/v1/ws/chat/u9", "Hi", env=clean_env())
    assert r.code == 5


def test_fallback_when_streaming_fails_before_content(server):
    url = server.url + "/api/v1/chat/stream?fault=status=500"
    fallback = server.url + "/v1/chat/completions"
    r = run_cli(
        "chat", "--get", "--url", url, "--retries", "0", "--fallback-url", fallback, "--sync-ws", "/api/v1/ws/chat/u3", "-o", "ndjson", "Hi"
    )
    assert r.code == 0, r.stderr
    assert "falling back to one non-streaming request" in r.stderr
    assert r.lines()[0] == {"type": "content", "text": expected_reply("Hi")}
    users = server.app.state.ws.users  # the channel's last message may still be on its way when the run ends
    wait_until(lambda: users.get("u3", {}).get("messages", [{}])[-1].get("content") == expected_reply("Hi"), what="the synced reply")


def test_no_fallback_after_content(server):
    url = server.url + "/api/v1/chat/stream?fault=drop-after=2"
    r = run_cli("chat", "--get", "--url", url, "--fallback-url", server.url + "/v1/chat/completions", "Hi")
    assert r.code == 3 and "falling back" not in r.stderr
