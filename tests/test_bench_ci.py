"""The README's CI gate, run as written against the reference server: passing, failing on errors, failing on latency."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
import uuid

import pytest
from conftest import ROOT, clean_env
from test_readme_examples import examples, rewrite

from streamchat.server.config import ServerConfig
from streamchat.server.embedded import start_in_thread


def ci_gate() -> str:
    found = [command for command in examples() if "--slo 'ttft_p95<=500' --max-error-rate 1" in command]
    assert len(found) == 1, "the README shows the CI gate once, in a ```sh block"
    return found[0]


@pytest.fixture(scope="module")
def shell(tmp_path_factory):
    """Runs a README command line in bash, with `streamchat` on PATH."""
    bin_dir = tmp_path_factory.mktemp("ci") / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "streamchat"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m streamchat "$@"\n')
    shim.chmod(shim.stat().st_mode | stat.S_IEXEC)
    env = clean_env(PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")

    def run(command: str) -> subprocess.CompletedProcess:
        return subprocess.run(["bash", "-o", "pipefail", "-c", command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)

    return run


@pytest.fixture(scope="module")
def late_server():
    """A server whose first token comes after 600 ms: over the gate's 500 ms."""
    with start_in_thread(ServerConfig(ttft_ms=600, itl_ms=0, reply_tokens=3)) as running:
        yield running


def test_the_gate_passes_a_healthy_server(shell, server):
    r = shell(rewrite(ci_gate(), server.url))
    assert r.returncode == 0, r.stderr
    assert "checks: error_rate<=1 ok (0.0), ttft_p95<=500 ok" in r.stderr


def test_the_gate_fails_on_errors_over_one_percent(shell, server):
    """Of the gate's 100 requests, 3 answered 503: 3 % > 1 %. One of 100 is allowed."""
    command = rewrite(ci_gate(), server.url)
    three = shell(command + f" -H 'X-Streamchat-Fault: status=503;count=3;id={uuid.uuid4()}'")
    assert three.returncode == 8
    assert "streamchat: error: error rate 3.0 % is over --max-error-rate 1 (3 failed: http_503 ×3)" in three.stderr
    one = shell(command + f" -H 'X-Streamchat-Fault: status=503;count=1;id={uuid.uuid4()}'")
    assert one.returncode == 0, one.stderr


def test_the_gate_fails_on_a_late_first_token(shell, late_server):
    r = shell(rewrite(ci_gate(), late_server.url) + " --requests 8 --concurrency 8")
    assert r.returncode == 8
    measured = re.search(r"streamchat: error: ttft_p95<=500 failed: measured ([0-9.]+) ms", r.stderr)
    assert measured and float(measured.group(1)) >= 600.0


def test_the_gate_fails_when_nothing_answers(shell):
    r = shell(ci_gate().replace("http://127.0.0.1:8000", "http://127.0.0.1:1") + " --requests 4")
    assert r.returncode == 8 and "every request failed (4 failed: connect_failed ×4)" in r.stderr
