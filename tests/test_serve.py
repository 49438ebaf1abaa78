"""`streamchat serve` as a user runs it: a subprocess on a free port."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request

from conftest import clean_env, run_cli


def start_serve(*args: str) -> tuple[subprocess.Popen, str]:
    """``streamchat serve --port 0 ...`` in the background, and the base URL it announced."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamchat", "serve", "--port", "0", "--ttft-ms", "0", "--itl-ms", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=clean_env(),
        text=True,
    )
    line = proc.stdout.readline()
    assert line.startswith("listening on http://127.0.0.1:"), line
    return proc, line.split()[-1]


def test_serve_announces_and_answers_every_sse_endpoint():
    proc, base = start_serve("--token", "tok-123")
    try:
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


def test_serve_workers_share_one_port_and_stop_together():
    """--workers 2: two processes answer on one port; SIGTERM stops them all (no orphan keeps the port)."""
    import socket

    proc, base = start_serve("--workers", "2")
    try:
        for _ in range(8):  # new connections each: the kernel spreads them over both processes
            r = run_cli("chat", "--url", base + "/api/chat/stream", "-o", "json", "Hi")
            assert r.code == 0 and json.loads(r.out)["done"] is True, r.stderr
        assert len(_worker_processes(proc.pid)) == 2
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) in (0, 130)
    port = int(base.rsplit(":", 1)[1])
    probe = socket.socket()
    try:
        assert probe.connect_ex(("127.0.0.1", port)) != 0  # nobody is listening any more
    finally:
        probe.close()


def _worker_processes(parent: int) -> list[int]:
    """Children of ``parent`` started by multiprocessing's spawn (not its resource tracker)."""
    import os

    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                cmdline = fh.read()
        except OSError:
            continue
        if ppid == parent and b"spawn_main" in cmdline:
            found.append(int(pid))
    return found
