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


def test_access_log_writes_a_line_a_request_on_stderr():
    proc, base = start_serve("--access-log")
    try:
        with urllib.request.urlopen(base + "/healthz", timeout=5) as resp:
            resp.read()
        assert run_cli("chat", "--url", base + "/api/chat/stream", "-q", "Hi").code == 0
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
    assert '"GET /healthz HTTP/1.1" 200' in err and '"POST /api/chat/stream HTTP/1.1" 200' in err, err


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


def test_sigterm_stops_within_5_s_with_thousands_of_idle_connections_and_a_stream_open():
    import time

    from server_clients import closed_by_peer, connect, read_head, request_bytes

    proc, base = start_serve("--token", "T", "--itl-ms", "20", "--reply-tokens", "100000")
    idle = []
    try:
        for _ in range(2000):
            idle.append(connect(base))
        stream = connect(base)
        body = json.dumps({"model": "m", "messages": [{"role": "user", "content": "Hi"}], "stream": True}).encode()
        stream.sendall(request_bytes("POST", "/v1/chat/completions", body, {"Authorization": "Bearer T"}))
        status, _, rest = read_head(stream)
        assert status == 200
        while b"data:" not in rest:  # mid-stream: the first events have arrived
            rest += stream.recv(65536)
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=5)
        assert time.monotonic() - sent < 5
        assert closed_by_peer(stream, within=1) and all(closed_by_peer(sock, within=1) for sock in idle[:50])
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for sock in idle:
            sock.close()


def test_serving_beyond_loopback_without_a_token_warns():
    # 192.0.2.1 (TEST-NET-1) is no address of this machine: the bind fails after the warning, nothing listens
    r = run_cli("serve", "--host", "192.0.2.1", "--port", "0", timeout=20)
    lines = r.stderr.splitlines()
    assert r.code == 2 and len(lines) == 2
    assert lines[0] == "streamchat: warning: serving on 192.0.2.1 without --token: anyone who can reach it may use it"
    assert lines[1].startswith("streamchat: error: cannot listen on 192.0.2.1:0")
    r = run_cli("serve", "--host", "192.0.2.1", "--port", "0", "--token", "x", timeout=20)
    assert r.code == 2 and "warning" not in r.stderr
    r = run_cli("serve", "--host", "localhost", "--port", "0", "--max-body", "nonsense", timeout=20)
    assert r.code == 2 and "warning" not in r.stderr and "--max-body" in r.stderr
