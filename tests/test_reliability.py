"""Signals and data safety (issue #6 items that concern chat)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

from conftest import clean_env


def test_sigterm_mid_stream_is_130_with_output_flushed(slow_server):
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamchat", "chat", "--url", slow_server.url + "/api/chat/stream", "-o", "ndjson", "Hi"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=clean_env(),
    )
    first = proc.stdout.readline()
    proc.send_signal(signal.SIGTERM)
    rest, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    lines = [json.loads(line) for line in [first, *rest.splitlines()]]
    assert all(line["type"] == "content" for line in lines[:-1])
    assert lines[-1] == {"type": "error", "message": "interrupted", "code": "interrupted"}  # the last line says why
    assert b"Traceback" not in err


WRITERS = 8
PROCESSES = 6


def check_conversation(data: bytes, before: list[dict], messages: list[str]) -> None:
    """Every line one JSON object (none glued to another, none empty, none cut), every run's two turns
    kept next to each other, each run once, and the file ending with a newline."""
    lines = data.split(b"\n")
    assert lines[-1] == b"", data[-200:]
    turns = [json.loads(line) for line in lines[:-1]]
    assert turns[: len(before)] == before
    added = turns[len(before) :]
    assert len(added) == 2 * len(messages)
    for user, assistant in zip(added[::2], added[1::2], strict=True):
        assert user["role"] == "user" and assistant["role"] == "assistant"
        assert assistant["content"].startswith(f"answer to {user['content']}:")
    assert sorted(user["content"] for user in added[::2]) == sorted(messages)


def test_runs_appending_at_once_never_corrupt_the_conversation(tmp_path):
    """Real processes, one conversation file. The server answers none until every run has asked, so the
    replies end and the appends start together; each turn is 50 KB; the file starts without its final
    newline (edited by hand), which exactly one of the appends must add."""
    from scripted_http import scripted_server, sse_response

    all_asked = threading.Barrier(PROCESSES, timeout=30)

    def answer(conn, request):
        message = json.loads(request.body)["messages"][-1]["content"]
        all_asked.wait()
        chunk = {"choices": [{"delta": {"content": f"answer to {message}: " + "x" * 50_000}}]}
        conn.sendall(sse_response(b"data: " + json.dumps(chunk).encode() + b"\n\ndata: [DONE]\n\n"))

    conv = tmp_path / "c.ndjson"
    before = [{"role": "user", "content": "before"}, {"role": "assistant", "content": "edited by hand"}]
    conv.write_text("\n".join(json.dumps(turn) for turn in before))  # (no newline at the end)
    messages = [f"message {i}" for i in range(PROCESSES)]
    with scripted_server(answer) as srv:
        cmd = [sys.executable, "-m", "streamchat", "chat", "--url", srv.url + "/v1/chat/completions", "-m", "m", "-q", "-C", str(conv)]
        procs = [subprocess.Popen([*cmd, m], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=clean_env()) for m in messages]
        for p in procs:
            assert p.wait(timeout=60) == 0, p.stderr.read()
    check_conversation(conv.read_bytes(), before, messages)


def test_appends_that_take_several_writes_never_interleave(tmp_path):
    """write(2) may write less than it was given (a signal, a network file system): an append then takes
    several writes, and only the file lock keeps another append's bytes out from between them. Here
    every write takes 64 bytes at most and yields, and the appenders start together."""
    from streamchat.session.inputs import append_conversation

    conv = tmp_path / "c.ndjson"
    before = [{"role": "user", "content": "before"}, {"role": "assistant", "content": "edited by hand"}]
    conv.write_text("\n".join(json.dumps(turn) for turn in before))
    messages = [f"message {i}" for i in range(WRITERS)]
    start = threading.Barrier(WRITERS, timeout=30)

    def short_write(fd: int, data: memoryview) -> int:
        written = os.write(fd, data[:64])
        time.sleep(0.001)  # (not a wait: the other appenders run meanwhile)
        return written

    def append(message: str) -> None:
        start.wait()
        turns = [{"role": "user", "content": message}, {"role": "assistant", "content": f"answer to {message}: " + "y" * 1000}]
        append_conversation(str(conv), turns, write=short_write)

    threads = [threading.Thread(target=append, args=(m,)) for m in messages]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    check_conversation(conv.read_bytes(), before, messages)


def test_interrupted_reply_leaves_the_conversation_alone(slow_server, tmp_path):
    conv = tmp_path / "c.ndjson"
    conv.write_text('{"role": "user", "content": "before"}\n{"role": "assistant", "content": "ok"}\n')
    before = conv.read_bytes()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamchat", "chat", "--url", slow_server.url + "/api/chat/stream", "-o", "ndjson", "-C", str(conv), "Hi"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=clean_env(),
    )
    proc.stdout.readline()
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=30)
    assert proc.returncode == 130 and conv.read_bytes() == before
