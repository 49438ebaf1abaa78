"""`streamchat serve` as a user runs it: a subprocess on a free port."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request

from conftest import clean_env, run_cli


def test_serve_announces_and_answers_every_sse_endpoint():
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamchat", "serve", "--port", "0", "--ttft-ms", "0", "--itl-ms", "0", "--token", "tok-123"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=clean_env(),
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert line.startswith("listening on http://127.0.0.1:"), line
        base = line.split()[-1]
        with urllib.request.urlopen(base + "/healthz", timeout=5) as resp:
            assert json.load(resp) == {"status": "ok"}
        env = clean_env(STREAMCHAT_TOKEN="tok-123")
        for path, extra in [
            ("/api/chat/stream", []),
            ("/v1/chat/completions", []),
            ("/api/v1/actions/chats/1/messages", []),
            ("/api/v1/chat/stream", ["--get"]),
            ("/v1/messages", []),
        ]:
            r = run_cli("chat", "--url", base + path, *extra, "-o", "json", "Hi", env=env)
            assert r.code == 0, (path, r.stderr)
            assert json.loads(r.out)["done"] is True
        r = run_cli("chat", "--url", base + "/api/chat/stream", "Hi")
        assert r.code == 5
        req = urllib.request.Request(base + "/v1/models", headers={"Authorization": "Bearer tok-123"})
        with urllib.request.urlopen(req, timeout=5) as resp:
            assert json.load(resp)["object"] == "list"
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)


def test_serve_port_in_use_is_one_line_error():
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    try:
        r = run_cli("serve", "--port", str(s.getsockname()[1]), timeout=20)
        assert r.code == 2 and r.stderr.startswith("streamchat: error: cannot listen")
    finally:
        s.close()
