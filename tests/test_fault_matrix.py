"""The fault matrix (issue #6): every fault knob × every transport that can meet it × text / ndjson / json.

Each case checks the documented exit status (SPEC §5), that the output holds exactly the tokens
received before the fault (flushed, nothing lost, nothing twice), one `streamchat: error:` line on
stderr and no traceback; retry cases count the requests the server saw (SPEC §6).
"""

from __future__ import annotations

import itertools
import json

import pytest
from conftest import run_cli, seen_by

from streamchat.server.replies import plan_reply

MODES = ("text", "ndjson", "json")
TOKENS = plan_reply("Hi", "deepseek/deepseek-chat", reply_tokens=12).content  # the session server's reply
_ids = itertools.count()


def sse_url(server, dialect: str) -> str:
    return server.url + {"streamchat": "/api/chat/stream", "openai": "/v1/chat/completions", "anthropic": "/v1/messages"}[dialect]


def ws_url(server) -> str:
    return server.url.replace("http", "ws", 1) + "/api/chat/ws"


def check_output(r, mode: str, received: int | None) -> None:
    """Exactly the first ``received`` tokens, in the mode's shape (None: not checked, e.g. oversize)."""
    if received is None:
        return
    tokens = TOKENS[:received]
    if mode == "text":
        assert r.out == "".join(tokens) + ("\n" if tokens else ""), r.out
    elif mode == "ndjson":
        lines = r.lines()
        assert [e["text"] for e in lines if e["type"] == "content"] == tokens
        assert all(e["type"] != "done" for e in lines)
    else:
        summary = json.loads(r.out)
        assert summary["content"] == "".join(tokens) and summary["done"] is False


def check_stderr(r, needle: str) -> None:
    assert "Traceback" not in r.stderr
    errors = [line for line in r.stderr.splitlines() if line.startswith("streamchat: error:")]
    assert len(errors) == 1, r.stderr
    assert needle in errors[0], r.stderr


# (fault, extra options, exit status, tokens received before the failure, what the error line says)
SSE_FAULTS = [
    ("drop-after=5", [], 3, 5, "connection lost mid-reply"),
    ("stall-after=5", ["--read-timeout", "0.3"], 4, 5, "timed out"),
    ("error-after=5", [], 1, 5, "injected error after 5 tokens"),
    ("status=401", [], 5, 0, "401"),
    ("status=403", [], 5, 0, "403"),
    ("status=500", [], 6, 0, "500"),
    ("garbage", [], 7, 0, "malformed"),
    ("oversize", [], 7, None, "max-response-size"),
    ("content-type=text/html", [], 7, 0, "wrong content type"),
    ("empty", [], 7, 0, "truncated"),
]


SSE_CASES = [
    pytest.param(*fault, dialect, id=f"{fault[0]}-{dialect}") for fault in SSE_FAULTS for dialect in ("streamchat", "openai", "anthropic")
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("spec, extra, code, received, needle, dialect", SSE_CASES)
def test_sse_faults(server, spec, extra, code, received, needle, dialect, mode):
    r = run_cli("chat", "--url", sse_url(server, dialect), "-o", mode, "-H", f"X-Streamchat-Fault: {spec}", *extra, "Hi")
    assert r.code == code, r.stderr
    check_output(r, mode, received)
    check_stderr(r, needle)


# Retries (SPEC §6): only before any response byte, for 429/502/503/504 and refused connections.
RETRIES = [
    # (fault, exit status, requests the server sees with --retries 2)
    ("status=429;retry-after=0", 6, 3),
    ("status=503;retry-after=0", 6, 3),
    ("status=500", 6, 1),  # not retryable
    ("status=401", 5, 1),
    ("status=503;retry-after=0;count=1;id={id}", 0, 2),  # the second attempt succeeds
    ("drop-after=5", 3, 1),  # the reply had started: never retried
    ("error-after=5", 1, 1),
]


@pytest.mark.parametrize("spec, code, seen", RETRIES, ids=[r[0].split(";id")[0] for r in RETRIES])
def test_retries_only_where_allowed_and_never_duplicate_output(server, spec, code, seen):
    test_id = f"matrix-{next(_ids)}"
    spec = spec.format(id=test_id)
    r = run_cli(
        "chat", "--url", sse_url(server, "openai"), "-o", "ndjson", "--retries", "2",
        "-H", f"X-Streamchat-Fault: {spec}", "-H", f"X-Test-Id: {test_id}", "Hi",
    )  # fmt: skip
    assert r.code == code, r.stderr
    assert len(seen_by(server, test_id)) == seen
    contents = [e["text"] for e in r.lines() if e["type"] == "content"]
    assert contents == TOKENS[: len(contents)]  # a prefix of the reply: no token twice
    if code == 0:
        assert contents == TOKENS and "Traceback" not in r.stderr
    else:
        check_stderr(r, "")


def test_retry_after_without_a_value_backs_off_and_says_so(server):
    test_id = f"matrix-{next(_ids)}"
    r = run_cli(
        "chat", "--url", sse_url(server, "streamchat"), "-o", "ndjson", "--retries", "1",
        "-H", f"X-Streamchat-Fault: status=429;count=1;id={test_id}", "-H", f"X-Test-Id: {test_id}", "Hi",
    )  # fmt: skip
    assert r.code == 0, r.stderr
    assert len(seen_by(server, test_id)) == 2, [s.path for s in seen_by(server, test_id)]
    assert "retrying in" in r.stderr and [e["text"] for e in r.lines() if e["type"] == "content"] == TOKENS


WS_FAULTS = [
    ("drop-after=5", [], 3, 5, "1006"),
    ("close-after=5;code=1008", [], 5, 5, "1008"),
    ("close-after=5;code=1009", [], 7, 5, "1009"),
    ("close-after=5;code=1011", [], 1, 5, "1011"),
    ("error-after=5", [], 1, 5, "injected error after 5 tokens"),
    ("stall-after=5", ["--read-timeout", "0.3"], 4, 5, "timed out"),
    ("status=401", [], 5, 0, "401"),
    ("status=500", [], 6, 0, "500"),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("spec, extra, code, received, needle", WS_FAULTS, ids=[f[0] for f in WS_FAULTS])
def test_ws_faults(server, spec, extra, code, received, needle, mode):
    r = run_cli("ws-chat", "--url", ws_url(server), "-o", mode, "--retries", "0", "-H", f"X-Streamchat-Fault: {spec}", *extra, "Hi")
    assert r.code == code, r.stderr
    check_output(r, mode, received)
    check_stderr(r, needle)


SOCKETIO_FAULTS = [
    ("error-after=5", [], 1, 5, "injected error after 5 tokens"),
    ("backend-error", [], 1, 0, "injected backend failure"),
    ("stall-after=5", ["--read-timeout", "0.3"], 4, 5, "timed out"),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("spec, extra, code, received, needle", SOCKETIO_FAULTS, ids=[f[0] for f in SOCKETIO_FAULTS])
def test_socketio_faults(server, spec, extra, code, received, needle, mode):
    r = run_cli(
        "chat",
        "--transport",
        "socketio",
        "--url",
        server.url,
        "-o",
        mode,
        "--retries",
        "0",
        "-H",
        f"X-Streamchat-Fault: {spec}",
        *extra,
        "Hi",
    )
    assert r.code == code, r.stderr
    check_output(r, mode, received)
    check_stderr(r, needle)


@pytest.mark.parametrize("mode", ["ndjson", "text"])
def test_bad_camera_frames_are_counted_and_strict_fails_7(server, mode):
    url = server.url.replace("http", "ws", 1) + "/ws/stream/{camera_id}?fps=0"
    r = run_cli("camera", "cam-matrix", "--url", url, "--frames", "5", "-o", mode, "-H", "X-Streamchat-Fault: bad-base64=2;not-jpeg=4")
    assert r.code == 0 and "2 bad frames" in r.stderr and "Traceback" not in r.stderr
    # --frames counts good frames; in ndjson each bad one is an error line of its own, in text a note on stderr
    assert len(r.out.splitlines()) == (7 if mode == "ndjson" else 5)
    r = run_cli("camera", "cam-matrix", "--url", url, "--frames", "5", "-o", mode, "--strict", "-H", "X-Streamchat-Fault: bad-base64=2")
    # the good frame before it was flushed, and in ndjson the bad frame's line, then the run's failure last
    assert r.code == 7 and len(r.out.splitlines()) == (3 if mode == "ndjson" else 1)
    check_stderr(r, "bad frame: frame is not valid base64")
