"""Signals and data safety (issue #6 items that concern chat)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

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


def test_two_runs_appending_at_once_never_corrupt_the_conversation(server, tmp_path):
    conv = tmp_path / "c.ndjson"
    cmd = [sys.executable, "-m", "streamchat", "chat", "--url", server.url + "/api/chat/stream", "-q", "-C", str(conv)]
    procs = [subprocess.Popen([*cmd, f"message {i}"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=clean_env()) for i in range(4)]
    for p in procs:
        assert p.wait(timeout=60) == 0
    turns = [json.loads(line) for line in conv.read_text().splitlines()]
    assert len(turns) == 8
    for user, assistant in zip(turns[::2], turns[1::2], strict=True):
        assert user["role"] == "user" and assistant["role"] == "assistant"


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
