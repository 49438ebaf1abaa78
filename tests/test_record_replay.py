"""--record / --replay: the response as received, played back through the same decoder, no secrets."""

from __future__ import annotations

import json

from conftest import clean_env, run_cli
from raw_servers import raw_server


def _recording(path):
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    return lines[0], lines[1:]


def test_replay_gives_the_same_output_as_the_live_run(server, tmp_path):
    rec = tmp_path / "r.ndjson"
    live = run_cli("chat", "--url", server.url + "/v1/chat/completions", "-o", "ndjson", "--record", str(rec), "Hello")
    assert live.code == 0, live.stderr
    head, entries = _recording(rec)
    assert head["transport"] == "sse" and head["dialect"] == "openai" and head["status"] == 200
    assert head["content_type"] == "text/event-stream" and entries and all("t" in e for e in entries)
    for pace in ("instant", "original"):
        again = run_cli("chat", "--replay", str(rec), "--replay-pace", pace, "-o", "ndjson", env=clean_env())
        assert again.code == 0, again.stderr
        strip = lambda r: [e for e in r.lines() if e["type"] not in ("tps",)]  # noqa: E731
        assert strip(again) == strip(live)
    first_content_t = next(e["t"] for e in entries if '"content"' in e.get("text", ""))
    paced = json.loads(run_cli("chat", "--replay", str(rec), "-o", "json").out)
    assert paced["timing"]["ttft_ms"] >= first_content_t * 1000 - 1  # the original pace is kept
    assert run_cli("chat", "--replay", str(rec), "--replay-pace", "instant", "--expect", "zzz-not-there").code == 8


def test_recording_never_holds_the_token(auth_server, tmp_path):
    secret = "s3cret-token-value"
    rec = tmp_path / "a.ndjson"
    env = clean_env(STREAMCHAT_TOKEN=secret)
    r = run_cli("chat", "--url", auth_server.url + f"/api/chat/stream?token={secret}&x=1", "--record", str(rec), "Hi", env=env)
    assert r.code == 0, r.stderr
    text = rec.read_text()
    assert secret not in text and "authorization" not in text.lower()
    assert "token=%3Credacted%3E" in text or "token=<redacted>" in text
    ws_rec = tmp_path / "w.ndjson"
    r = run_cli("ws-chat", "--url", auth_server.url.replace("http", "ws") + "/api/chat/ws", "--record", str(ws_rec), "Hi", env=env)
    assert r.code == 0, r.stderr
    assert secret not in ws_rec.read_text() and "authorization" not in ws_rec.read_text().lower()


def test_a_failed_run_keeps_what_was_received(server, tmp_path):
    rec = tmp_path / "f.ndjson"
    r = run_cli("chat", "--url", server.url + "/api/chat/stream", "-H", "X-Streamchat-Fault: drop-after=5", "--record", str(rec), "Hi")
    assert r.code == 3
    _, entries = _recording(rec)
    assert sum(e["text"].count("event: content") for e in entries) == 5
    replay = run_cli("chat", "--replay", str(rec), "--replay-pace", "instant")
    assert replay.code == 7 and "truncated" in replay.stderr and len(replay.out) > 0  # the partial reply is shown


def test_bytes_that_are_not_utf8_survive_exactly(tmp_path):
    body = 'data: {"choices":[{"delta":{"content":"é€"}}]}\n\n'.encode() + b"data: [DONE]\n\n"
    for pieces in (1, 5, len(body)):  # reads that split the multi-byte characters
        rec = tmp_path / f"u{pieces}.ndjson"
        with raw_server(body, framing="chunked", pieces=pieces, pause=0.002) as url:
            live = run_cli("chat", "--url", url, "-o", "json", "--record", str(rec), "Hi")
        assert live.code == 0, live.stderr
        _, entries = _recording(rec)
        raw = b"".join(e["text"].encode() if "text" in e else __import__("base64").b64decode(e["b64"]) for e in entries)
        assert raw == body
        again = run_cli("chat", "--replay", str(rec), "--replay-pace", "instant", "-o", "json")
        assert json.loads(again.out)["content"] == json.loads(live.out)["content"] == "é€"


def test_ws_chat_turns_record_and_replay(server, tmp_path):
    rec = tmp_path / "w.ndjson"
    url = server.url.replace("http", "ws") + "/api/chat/ws"
    live = run_cli("ws-chat", "--url", url, "-o", "ndjson", "--record", str(rec), input=b"one\ntwo\n")
    assert live.code == 0, live.stderr
    head, _ = _recording(rec)
    assert head["transport"] == "ws"
    again = run_cli("ws-chat", "--replay", str(rec), "--replay-pace", "instant", "-o", "ndjson")
    assert again.code == 0, again.stderr
    assert [e for e in again.lines() if e["type"] != "tps"] == [e for e in live.lines() if e["type"] != "tps"]
    wrong = run_cli("chat", "--replay", str(rec))
    assert wrong.code == 2 and "ws-chat --replay" in wrong.stderr


def test_bad_recordings_and_bad_combinations_are_usage_errors(tmp_path):
    bad = tmp_path / "bad.ndjson"
    bad.write_text('{"streamchat_recording": 1, "transport": "sse"}\n{"t": 0.1, "text": "data: x\\n\\n"}\nnot json\n')
    r = run_cli("chat", "--replay", str(bad))
    assert r.code == 2 and f"{bad}:3" in r.stderr and "Traceback" not in r.stderr
    bad.write_text('{"hello": 1}\n')
    assert run_cli("chat", "--replay", str(bad)).code == 2
    assert run_cli("chat", "--replay", str(tmp_path / "missing"), "-q").code == 2
    assert run_cli("chat", "--replay", str(bad), "--url", "http://127.0.0.1:1/x").code == 2


WS_HEAD = '{"streamchat_recording": 1, "transport": "ws", "dialect": "streamchat", "url": "ws://127.0.0.1:1/api/chat/ws"}\n'


def test_ws_replays_that_fail_say_why_on_stdout_as_a_chat_replay_does(tmp_path):
    """A WebSocket recording that ends before done (or holds no message at all: the live run failed
    first) is a truncated reply, exit 7, as for an HTTP recording; a message that does not decode is a
    protocol error written as the last line, not only on stderr."""
    cases = {
        "no message": ("", "truncated", []),
        "cut short": ('{"t": 0.01, "frames": ["{\\"type\\": \\"content\\", \\"text\\": \\"Hi\\"}"]}\n', "truncated", ["Hi"]),
        "not json": ('{"t": 0.01, "frames": ["not json {{{"]}\n', "protocol_error", []),
    }
    for name, (entries, code, texts) in cases.items():
        rec = tmp_path / "w.ndjson"
        rec.write_text(WS_HEAD + entries)
        r = run_cli("ws-chat", "--replay", str(rec), "--replay-pace", "instant", "-o", "ndjson")
        assert r.code == 7, (name, r.stderr)
        lines = r.lines()
        assert [e["text"] for e in lines if e["type"] == "content"] == texts, name
        assert lines[-1]["type"] == "error" and lines[-1]["code"] == code and set(lines[-1]) == {"type", "message", "code"}, (name, lines)
        summary = json.loads(run_cli("ws-chat", "--replay", str(rec), "--replay-pace", "instant", "-o", "json").out)
        assert summary["done"] is False and summary["error"]["code"] == code, name


def test_a_wrong_content_type_is_recorded_and_refused_again_on_replay(server, tmp_path):
    rec = tmp_path / "html.ndjson"
    fault = ["-H", "X-Streamchat-Fault: content-type=text/html", "--retries", "0"]
    live = run_cli("chat", "--url", server.url + "/api/chat/stream", *fault, "-o", "ndjson", "--record", str(rec), "Hi")
    assert live.code == 7 and live.lines()[-1]["code"] == "protocol_error", live.stderr
    head, _ = _recording(rec)
    assert head["content_type"] == "text/html" and head["status"] == 200
    again = run_cli("chat", "--replay", str(rec), "--replay-pace", "instant", "-o", "ndjson")
    assert again.code == 7 and again.lines() == live.lines(), again.stderr  # the same error line, not only on stderr
    summary = json.loads(run_cli("chat", "--replay", str(rec), "-o", "json").out)
    assert summary["done"] is False and summary["error"]["code"] == "protocol_error"
