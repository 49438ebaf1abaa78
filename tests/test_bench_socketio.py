"""bench --transport socketio: Open WebUI's channel (the reference server's emulation), a socket a request."""

from __future__ import annotations

import json
import uuid

from conftest import run_cli

TOKEN = "s3cret-token-value"  # the auth_server's


def test_replies_are_measured(server):
    r = run_cli("bench", "--transport", "socketio", "--url", server.url, "--requests", "4", "--concurrency", "2", "-o", "json", "-q")
    assert r.code == 0, r.stderr
    summary = json.loads(r.out)
    assert summary["ok"] == 4 and summary["tokens_source"] == {"usage": 4}
    for record in summary["records"]:
        assert record["output_tokens"] == 12 and len(record["itl_ms"]) >= 1
        assert 0 < record["ttft_ms"] <= record["e2e_ms"] and record["schedule_lag_ms"] > 0  # connecting comes before the POST


def test_the_token_is_used_and_never_shown_and_a_wrong_one_is_counted(auth_server, tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    args = ["bench", "--transport", "socketio", "--url", auth_server.url, "--requests", "2", "-o", "json"]
    r = run_cli(*args, "--token-file", str(token_file))
    assert r.code == 0, r.stderr
    assert TOKEN not in r.out + r.stderr
    wrong = run_cli(*args, "--token", "sk-an-api-key", "-q")
    assert wrong.code == 8 and json.loads(wrong.out)["errors"] == {"http_401": 2}


def test_an_error_event_is_a_counted_failure(server):
    fault = f"X-Streamchat-Fault: error-after=3;id={uuid.uuid4()}"
    r = run_cli("bench", "--transport", "socketio", "--url", server.url, "--requests", "2", "-H", fault, "-o", "json", "-q")
    assert r.code == 8 and json.loads(r.out)["errors"] == {"server_error": 2}  # as an error event over SSE is
