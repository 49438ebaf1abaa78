"""A hostile server must not drive the user's terminal, through any path its text takes to one:
retry and reconnect notices, error lines, close reasons, camera text lines, content on a pty.

Controls, escape sequences (OSC 52 writes the clipboard, ESC[2J clears the screen) and bidi
overrides are shown visibly, and every notice is one line even when the server's message is not.
"""

from __future__ import annotations

import base64
import io
import json
import sys

from conftest import run_cli, run_on_terminal
from hostile_servers import close_frame, http_response, http_server, sse, text_frames, ws_server

from streamchat.terminal import neutralize, one_line

OSC52 = "\x1b]52;c;aGk=\x07"
HOSTILE = f"{OSC52}x\x1b[2J\u202egnp.exe\u2066\x9b1m"
# LiteLLM's 429 message is three lines long
LITELLM_429 = "litellm.RateLimitError: RateLimitError: OpenAIException - Rate limit reached\nReceived Model Group=gpt-4o\nAvailable Model Group Fallbacks=None"


def harmless(text: str) -> bool:
    return not any(c in text for c in "\x1b\x07\x9b\u202e\u2066")


def test_neutralize_shows_controls_escapes_and_bidi_overrides():
    assert neutralize(HOSTILE) == "^[]52;c;aGk=^Gx^[[2J<U+202E>gnp.exe<U+2066>\\x9b1m"
    assert neutralize("tab\tand\nnewline stay") == "tab\tand\nnewline stay"
    for code in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]:
        assert neutralize(chr(code)) == f"<U+{code:04X}>"


def test_one_line_makes_any_message_one_line():
    assert one_line(LITELLM_429 + "\r\n\u2028" + OSC52) == (
        "litellm.RateLimitError: RateLimitError: OpenAIException - Rate limit reached Received Model Group=gpt-4o "
        "Available Model Group Fallbacks=None ^[]52;c;aGk=^G"
    )


def test_http_retry_notices_are_one_harmless_line():
    body = json.dumps({"error": {"message": LITELLM_429 + HOSTILE, "code": 429}}).encode()
    response = http_response(body, "429 Too Many Requests", "application/json", "retry-after: 0\r\n")
    with http_server([response]) as (url, seen):
        r = run_cli("chat", "--url", url, "--retries", "1", "Hi")
    assert r.code == 6 and seen.connections == 2
    lines = r.stderr.splitlines()
    assert len(lines) == 2, r.stderr  # the retry notice and the error line
    assert "retrying" in lines[0] and "Received Model Group=gpt-4o Available" in lines[0]
    assert harmless(r.stderr) and "^[]52;c;aGk=^G" in lines[1]


def test_ws_handshake_retry_notices_are_one_harmless_line():
    body = json.dumps({"error": {"message": "overloaded\n" + HOSTILE}}).encode()
    with ws_server([], status="503 Service Unavailable", body=body, headers="retry-after: 0\r\n") as (url, seen):
        r = run_cli("ws-chat", "--url", url, "--retries", "1", "Hi")
    assert r.code == 6
    lines = r.stderr.splitlines()
    assert len(lines) == 2 and "retrying" in lines[0], r.stderr
    assert harmless(r.stderr) and "<U+202E>" in lines[0]


def test_close_reasons_and_error_lines_are_one_harmless_line():
    reason = ("bye\n" + HOSTILE).encode()[:110]  # (a close reason fits in 123 bytes)
    script = [text_frames(b'{"type": "chunk", "text": "partial"}'), close_frame(1011, reason)]
    with ws_server(script) as (url, _):
        r = run_cli("ws-chat", "--url", url, "--retries", "0", "Hi")
    assert r.code == 1 and r.stdout == b"partial\n"
    assert len(r.stderr.splitlines()) == 1 and harmless(r.stderr), r.stderr
    assert "1011" in r.stderr and "^[]52" in r.stderr


def _jpeg() -> str:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 6)).save(out, "JPEG")
    return base64.b64encode(out.getvalue()).decode()


def test_camera_text_lines_are_one_harmless_line():
    frame = {"frame": _jpeg(), "timestamp": 1, "camera_id": "cam\n" + HOSTILE, "detections": [
        {"class": OSC52 + "person\u202e", "confidence": 0.9, "bbox": [0, 0, 2, 2]}]}  # fmt: skip
    with ws_server([text_frames(json.dumps(frame).encode())], wait_for_message=False, path="/ws/stream/c1") as (url, _):
        r = run_cli("camera", "c1", "--url", url, "-o", "text", "--frames", "1")
    assert r.code == 0, r.stderr
    assert len(r.out.splitlines()) == 1 and harmless(r.out), r.out
    assert "cam ^[]52;c;aGk=^Gx" in r.out and "person<U+202E> 0.90" in r.out


def test_content_on_a_terminal_shows_bidi_overrides_visibly():
    body = sse(json.dumps({"choices": [{"delta": {"content": "invoice\u202efdp.exe" + OSC52}}]}).encode(), b"[DONE]")
    with http_server([http_response(body)]) as (url, _):
        code, screen = run_on_terminal([sys.executable, "-m", "streamchat", "chat", "--url", url, "-q", "Hi"], "stdout", timeout=30)
    assert code == 0
    text = screen.decode("utf-8")
    assert "invoice<U+202E>fdp.exe^[]52;c;aGk=^G" in text and harmless(text)


def test_model_ids_on_a_terminal_are_harmless_and_exact_into_a_pipe():
    evil = "evil" + HOSTILE + "\nmodel"
    listing = http_response(
        json.dumps({"object": "list", "data": [{"id": evil}, {"id": "plain"}]}).encode(), content_type="application/json"
    )
    with http_server([listing]) as (url, _):
        code, screen = run_on_terminal([sys.executable, "-m", "streamchat", "models", "--url", url], "stdout", timeout=30)
        piped = run_cli("models", "--url", url, "-o", "json")
    text = screen.decode("utf-8")
    assert code == 0 and harmless(text) and "evil^[]52;c;aGk=^Gx^[[2J<U+202E>gnp.exe" in text and "plain" in text, text
    assert json.loads(piped.out)["models"] == [evil, "plain"]


def test_content_into_a_pipe_stays_exact():
    content = "invoice\u202efdp.exe" + OSC52
    body = sse(json.dumps({"choices": [{"delta": {"content": content}}]}).encode(), b"[DONE]")
    with http_server([http_response(body)]) as (url, _):
        r = run_cli("chat", "--url", url, "-q", "Hi")
    assert r.code == 0 and r.stdout == (content + "\n").encode()
