"""--duration bounds the whole run: what still runs at duration + --grace is ended and counted incomplete."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from conftest import clean_env, run_cli, run_exe, wait_until
from raw_servers import accept_forever


@contextmanager
def trickle_server() -> Iterator[str]:
    """A hostile server: a 200 event-stream head, then one byte every 0.2 s, forever (never silent long
    enough for --read-timeout, never done)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    stop = threading.Event()

    def handle(conn: socket.socket) -> None:
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                more = conn.recv(65536)
                if not more:
                    return
                data += more
            try:
                conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\n")
                while not stop.wait(0.2):
                    conn.sendall(b":")  # an SSE comment that never ends its line
            except OSError:
                return

    accept_forever(sock, handle)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/api/chat/stream"
    finally:
        stop.set()
        sock.close()


def _timed(*args: str):
    start = time.monotonic()
    result = run_cli(*args, timeout=60)
    return result, time.monotonic() - start


def test_a_trickling_server_cannot_stretch_the_run():
    with trickle_server() as url:
        r, took = _timed("bench", "--url", url, "--duration", "0.5", "--grace", "0.5", "-o", "json")
    assert took < 7.0, f"ran {took:.1f} s for --duration 0.5 --grace 0.5"  # about 1 s
    assert r.code == 8, r.stderr  # nothing completed
    summary = json.loads(r.out)
    assert summary["errors"] == {"incomplete": 8} and summary["ok"] == 0  # the 8 lanes' first requests
    assert summary["ttft_ms"] is None and summary["e2e_ms"] is None  # incomplete requests stay out of latencies
    assert all(rec["status"] == "incomplete" and "ttft_ms" not in rec for rec in summary["records"])
    assert 0.95 <= summary["wall_s"] < 3.0
    assert "every request failed (8 failed: incomplete ×8)" in r.stderr


def test_requests_ended_at_the_bound_leave_no_traceback():
    """The real executable, as a CI job sees it: exit 8 and one error line, no traceback on stderr."""
    with trickle_server() as url:
        r = run_exe("bench", "--url", url, "--duration", "0.5", "--grace", "0.5", "-o", "json", "-q")
    assert r.code == 8, r.stderr
    assert "Traceback" not in r.stderr and "never retrieved" not in r.stderr, r.stderr


def test_open_loop_and_worker_processes_are_bounded_too():
    with trickle_server() as url:
        r, took = _timed(
            "bench", "--url", url, "--rate", "8", "--arrival", "constant", "--duration", "0.5", "--grace", "0.5", "-o", "json", "-q"
        )
        assert took < 8.0 and r.code == 8
        summary = json.loads(r.out)
        assert summary["errors"] == {"incomplete": summary["requests"]} and 3 <= summary["requests"] <= 5
        r, took = _timed(
            "bench", "--url", url, "--workers", "2", "--concurrency", "4", "--duration", "0.5", "--grace", "0.5", "-o", "json", "-q"
        )
    assert took < 12.0 and r.code == 8
    summary = json.loads(r.out)
    assert summary["errors"] == {"incomplete": 4} and len({rec["id"] for rec in summary["records"]}) == 4


def test_the_warmup_is_bounded_too():
    with trickle_server() as url:
        r, took = _timed(
            "bench", "--url", url, "--warmup", "2", "--concurrency", "2", "--duration", "0.5", "--grace", "0.5", "-o", "json", "-q"
        )
    assert took < 10.0 and r.code == 8  # a warmup window, then the measured one, each about 1 s
    assert json.loads(r.out)["errors"] == {"incomplete": 2}  # the warmup's requests are not records


def test_duration_without_requests_runs_until_the_time_is_up(server):
    r = run_cli("bench", "--url", server.url + "/api/chat/stream", "--duration", "0.5", "--concurrency", "2", "-o", "json", "-q")
    assert r.code == 0, r.stderr
    summary = json.loads(r.out)
    assert summary["requests"] > 2 and summary["ok"] == summary["requests"]
    assert 0.5 <= summary["wall_s"] < 5.0 and max(rec["start_s"] for rec in summary["records"]) < 0.5


def test_incomplete_requests_are_failures_the_gate_can_allow(server):
    """One request stalls (the server holds it open, silent); the other lane keeps completing. The stalled
    one is ended at duration + grace and counted; the completed ones are measured."""
    stall = f"X-Streamchat-Fault: stall-after=2;count=1;id={uuid.uuid4()}"
    args = ["bench", "--url", server.url + "/api/chat/stream", "--concurrency", "2", "--duration", "0.5", "--grace", "0.5", "-H", stall]
    r, took = _timed(*args, "--max-error-rate", "50", "-o", "json", "-q")
    assert r.code == 0, r.stderr
    summary = json.loads(r.out)
    assert summary["errors"] == {"incomplete": 1} and summary["ok"] == summary["requests"] - 1 >= 1
    assert summary["ttft_ms"]["max"] < 500.0  # the stalled request's hold is in no latency
    assert took < 8.0


@pytest.mark.parametrize(("workers", "how"), [("1", "SIGINT"), ("1", "SIGTERM"), ("2", "SIGTERM"), ("2", "Ctrl-C")])
def test_an_interrupted_run_reports_what_finished_and_exits_130(server, tmp_path, workers, how):
    """Ctrl-C (the whole process group), or SIGINT / SIGTERM to bench alone, as a CI job's cancel sends it:
    the requests that finished are summarised (marked interrupted) and bench exits 130 at once, its worker
    processes stopped, none of their unfinished requests counted as failed."""
    records = tmp_path / "records.ndjson"
    args = ["--url", server.url + "/api/chat/stream", "--requests", "100000", "--concurrency", "4", "--workers", workers]
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamchat", "bench", *args, "-o", "json", "--records", str(records)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env=clean_env(),
        start_new_session=True,
    )
    try:
        wait_until(lambda: records.exists() and records.read_text().count("\n") >= 3, timeout=30)
        if how == "Ctrl-C":
            os.killpg(proc.pid, signal.SIGINT)
        else:
            proc.send_signal(getattr(signal, how))
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130, err
    summary = json.loads(out)
    assert summary["interrupted"] is True and summary["failed"] == 0 and summary["ok"] >= 3, summary
    assert len(summary["records"]) == summary["requests"] == summary["ok"]
    assert err.decode().rstrip().endswith("streamchat: error: interrupted")


def test_an_interrupted_sweep_exits_130_without_an_internal_error(server, tmp_path):
    records = tmp_path / "records.ndjson"
    args = ["--url", server.url + "/api/chat/stream", "--sweep", "2", "--records", str(records), "-q"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamchat", "bench", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env=clean_env(),
    )
    try:
        wait_until(lambda: records.exists() and records.read_text().count("\n") >= 3, timeout=30)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130 and err.decode().strip() == "streamchat: error: interrupted", err
