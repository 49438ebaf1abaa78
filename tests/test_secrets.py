"""The token (from STREAMCHAT_TOKEN or --token-file) never appears in output, errors, conversation or
record files, or in the arguments of any process streamchat starts, on success and on every error path."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from conftest import ROOT, clean_env, run_cli

SECRET = "s3cret-token-value"  # what the auth_server fixture requires
FAULTS = ["", "status=500", "status=503", "drop-after=1", "garbage", "error-after=1", "stall-after=1"]


def _files_in(path) -> str:
    return "".join(p.read_text(errors="replace") for p in path.rglob("*") if p.is_file())


@pytest.mark.parametrize("fault", FAULTS)
def test_chat_and_ws_chat_never_show_the_token(auth_server, tmp_path, fault):
    token_file = tmp_path / "token"
    token_file.write_text(SECRET + "\n")
    header = ["-H", f"X-Streamchat-Fault: {fault}"] if fault else []
    common = ["--retries", "0", "--read-timeout", "0.5", *header]
    runs = [
        run_cli("chat", "--url", auth_server.url + "/api/chat/stream", *common, "-o", "json", "-C", str(tmp_path / "c1.ndjson"),
                "--record", str(tmp_path / "r1.ndjson"), "Hi", env=clean_env(STREAMCHAT_TOKEN=SECRET)),
        run_cli("chat", "--url", auth_server.url + "/v1/chat/completions?token=" + SECRET, *common, "-o", "ndjson",
                "--token-file", str(token_file), "--record", str(tmp_path / "r2.ndjson"), "Hi"),
        run_cli("ws-chat", "--url", auth_server.url.replace("http", "ws") + "/api/chat/ws", *common, "-C", str(tmp_path / "c2.ndjson"),
                "--record", str(tmp_path / "r3.ndjson"), "Hi", env=clean_env(STREAMCHAT_TOKEN=SECRET)),
    ]  # fmt: skip
    for r in runs:
        assert SECRET not in r.out + r.stderr, r.stderr
    for r in runs[:2]:  # (garbage is an SSE fault: the WebSocket run succeeds there)
        assert (r.code == 0) == (fault == ""), r.stderr
    assert SECRET not in _files_in(tmp_path).replace(SECRET + "\n", "", 1)  # the token file itself aside


def test_wrong_token_is_refused_without_echoing_it(auth_server):
    r = run_cli("chat", "--url", auth_server.url + "/api/chat/stream", "Hi", env=clean_env(STREAMCHAT_TOKEN="wrong-but-secret-xyz"))
    assert r.code == 5 and "wrong-but-secret-xyz" not in r.out + r.stderr


def _cmdlines(root: int) -> list[bytes]:
    """The command lines of ``root`` and every process below it (only what this test started: other
    tests run beside it, and their processes are theirs to check)."""
    parents: dict[int, int] = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat", "rb") as fh:
                parents[int(pid)] = int(fh.read().rsplit(b")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    family, grew = {root}, True
    while grew:
        below = {pid for pid, parent in parents.items() if parent in family} - family
        family |= below
        grew = bool(below)
    found = []
    for pid in family:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                found.append(fh.read())
        except OSError:
            continue
    return found


def test_no_process_we_start_carries_the_token_in_its_arguments(auth_server, tmp_path):
    """bench --workers starts worker processes and, without --url, a server: none gets the token in argv."""
    env = clean_env(STREAMCHAT_TOKEN=SECRET)
    cmd = [sys.executable, "-m", "streamchat", "bench", "--url", auth_server.url + "/api/chat/stream", "--workers", "2",
           "--requests", "40", "--concurrency", "4", "-q", "-o", "json"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=ROOT)
    seen_workers = False
    while proc.poll() is None:
        lines = _cmdlines(proc.pid)
        seen_workers = seen_workers or any(b"streamchat.bench.workers" in line for line in lines)
        assert not any(SECRET.encode() in line for line in lines)
        time.sleep(0.01)
    out, err = proc.communicate()
    assert proc.returncode == 0, err
    assert seen_workers and SECRET.encode() not in out + err
