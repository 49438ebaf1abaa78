"""The README's CI gate, run as written against the reference server: passing, failing on errors, failing on latency."""

from __future__ import annotations

import re
import shlex
import uuid

import pytest
from conftest import Result, run_cli
from test_readme_examples import examples, rewrite

from streamchat.server.config import ServerConfig
from streamchat.server.embedded import start_in_thread


def ci_gate() -> str:
    found = [command for command in examples() if "--slo 'ttft_p95<=500' --max-error-rate 1" in command]
    assert len(found) == 1, "the README shows the CI gate once, in a ```sh block"
    return found[0]


def shell(command: str) -> Result:
    """A README command line split into words as the shell splits it (the gate is one command: no pipe,
    no redirection; test_readme_examples runs it in a real shell), run through the CLI's entry point."""
    words = shlex.split(command, comments=True)
    assert words[0] == "streamchat" and not {"|", ">", "&&", ";"} & set(words), command
    return run_cli(*words[1:])


@pytest.fixture(scope="module")
def late_server():
    """A server whose first token comes after 600 ms: over the gate's 500 ms."""
    with start_in_thread(ServerConfig(ttft_ms=600, itl_ms=0, reply_tokens=3)) as running:
        yield running


def test_the_gate_passes_a_healthy_server(server):
    r = shell(rewrite(ci_gate(), server.url))
    assert r.code == 0, r.stderr
    assert "checks: error_rate<=1 ok (0.0), ttft_p95<=500 ok" in r.stderr


def test_the_gate_fails_on_errors_over_one_percent(server):
    """Of the gate's 100 requests, 3 answered 503: 3 % > 1 %. One of 100 is allowed."""
    command = rewrite(ci_gate(), server.url)
    three = shell(command + f" -H 'X-Streamchat-Fault: status=503;count=3;id={uuid.uuid4()}'")
    assert three.code == 8
    assert "streamchat: error: error rate 3.0 % is over --max-error-rate 1 (3 failed: http_503 ×3)" in three.stderr
    one = shell(command + f" -H 'X-Streamchat-Fault: status=503;count=1;id={uuid.uuid4()}'")
    assert one.code == 0, one.stderr


def test_the_gate_fails_on_a_late_first_token(late_server):
    r = shell(rewrite(ci_gate(), late_server.url) + " --requests 8 --concurrency 8")
    assert r.code == 8
    measured = re.search(r"streamchat: error: ttft_p95<=500 failed: measured ([0-9.]+) ms", r.stderr)
    assert measured and float(measured.group(1)) >= 600.0


def test_the_gate_fails_when_nothing_answers():
    r = shell(ci_gate().replace("http://127.0.0.1:8000", "http://127.0.0.1:1") + " --requests 4")
    assert r.code == 8 and "every request failed (4 failed: connect_failed ×4)" in r.stderr
