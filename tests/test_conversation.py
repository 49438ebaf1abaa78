"""-C keeps the system prompt; -p adds body fields; both as chat sends them to a real server."""

from __future__ import annotations

import json
import uuid

from conftest import run_cli, seen_by


def bodies(server, test_id: str) -> list[dict]:
    return [json.loads(r.body) for r in seen_by(server, test_id)]


def test_the_system_prompt_is_kept_in_the_conversation_file(server, tmp_path):
    conv = tmp_path / "talk.ndjson"
    test_id = str(uuid.uuid4())
    url = server.url + "/v1/chat/completions"
    base = ["chat", "-q", "--url", url, "-m", "m", "-H", f"X-Test-Id: {test_id}", "-C", str(conv)]
    assert run_cli(*base, "-s", "Be brief.", "first").code == 0
    assert run_cli(*base, "second").code == 0  # no -s: the file's prompt is used
    assert run_cli(*base, "-s", "Be brief.", "third").code == 0  # the same prompt again: no new line
    assert run_cli(*base, "-s", "Be loud.", "fourth").code == 0  # a new one replaces it from here on
    assert run_cli(*base, "fifth").code == 0
    roles = [json.loads(line)["role"] for line in conv.read_text().splitlines()]
    assert roles == [
        "system",
        "user",
        "assistant",
        "user",
        "assistant",
        "user",
        "assistant",
        "system",
        "user",
        "assistant",
        "user",
        "assistant",
    ]
    sent = bodies(server, test_id)
    systems = [[m["content"] for m in b["messages"] if m["role"] == "system"] for b in sent]
    assert systems == [["Be brief."], ["Be brief."], ["Be brief."], ["Be loud."], ["Be loud."]]  # once each, first
    assert [m["role"] for m in sent[1]["messages"]] == ["system", "user", "assistant", "user"]


def test_params_set_and_replace_body_fields(server, tmp_path):
    tools = tmp_path / "tools.json"
    tools.write_text('[{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]')
    test_id = str(uuid.uuid4())
    args = ["chat", "-q", "--url", server.url + "/v1/chat/completions", "-m", "m", "-H", f"X-Test-Id: {test_id}", "--max-tokens", "50"]
    r = run_cli(*args, "-p", "seed=7", "-p", 'stop=["\\n"]', "-p", "max_tokens=5", "-p", "user=alice", "-p", f"tools=@{tools}", "Hi")
    assert r.code == 0, r.stderr
    (body,) = bodies(server, test_id)
    assert body["seed"] == 7 and body["stop"] == ["\n"] and body["max_tokens"] == 5 and body["user"] == "alice"
    assert body["tools"][0]["function"]["name"] == "get_weather"


def test_a_bad_param_is_a_usage_error_before_any_request(server):
    r = run_cli("chat", "--url", server.url + "/v1/chat/completions", "-p", "novalue", "Hi")
    assert r.code == 2 and "KEY=VALUE" in r.stderr and r.out == ""


def test_a_param_number_out_of_range_is_a_usage_error_not_infinity(server, tmp_path):
    """1e999 is a JSON number, but no float holds it: sent again it would be Infinity, which is no JSON."""
    url = server.url + "/v1/chat/completions"
    for value in ("1e999", "-1e400", "[1, 1e999]"):
        r = run_cli("chat", "--url", url, "-m", "m", "-p", f"x={value}", "Hi")
        assert r.code == 2 and "out of range" in r.stderr and r.out == "", (value, r.stderr)
    overflowing = tmp_path / "o.json"
    overflowing.write_text('{"b": 1e999}')
    r = run_cli("chat", "--url", url, "-m", "m", "-p", f"o=@{overflowing}", "Hi")
    assert r.code == 2 and "out of range" in r.stderr
    assert run_cli("chat", "--url", url, "-m", "m", "-q", "-p", "x=1.5e300", "Hi").code == 0  # large, but finite
