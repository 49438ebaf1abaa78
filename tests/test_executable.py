"""The installed executable, as a shell or a CI job runs it: every exit status and every command once.

Everything else runs the CLI in-process (``run_cli``, the same entry point the executable calls);
these runs prove that the process around it turns the returned status into the exit status, starts
from the console script, and writes nothing but the one ``streamchat: error:`` line on failure.
Statuses 130 and 141 need a signal or a closed pipe: test_chat.py, test_reliability.py, test_ws_chat.py
and test_camera.py run those as processes too.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
from conftest import ROOT, Result, clean_env, expected_reply

STREAMCHAT = shutil.which("streamchat", path=os.path.dirname(sys.executable))  # the console script pip installed
DATA = os.path.join(ROOT, "tests", "data", "bench")


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    assert STREAMCHAT is not None, "the streamchat console script is not installed next to this Python"
    proc = subprocess.run([STREAMCHAT, *args], capture_output=True, stdin=subprocess.DEVNULL, env=env or clean_env(), timeout=60)
    return Result(proc.returncode, proc.stdout, proc.stderr.decode("utf-8", "replace"))


def fault(spec: str) -> list[str]:
    return ["-H", f"X-Streamchat-Fault: {spec}"]


# (exit status, chat arguments after the URL, what the error line says); None: a successful run
STATUSES = [
    (0, [], None),
    (1, fault("error-after=2"), "injected error after 2 tokens"),
    (2, ["--temperature", "3"], "--temperature"),
    (3, fault("drop-after=2"), "connection lost mid-reply"),
    (4, [*fault("stall-after=1"), "--read-timeout", "0.3"], "read-timeout"),
    (5, fault("status=401"), "HTTP 401"),
    (6, [*fault("status=500"), "--retries", "0"], "HTTP 500"),
    (7, fault("garbage"), "malformed"),
    (8, ["--expect", "not in the reply"], "--expect"),
]


@pytest.mark.parametrize("status, args, needle", STATUSES, ids=[str(s[0]) for s in STATUSES])
def test_every_exit_status(server, status, args, needle):
    r = run("chat", "--url", server.url + "/api/chat/stream", *args, "Hi")
    assert r.code == status, r.stderr
    if needle is None:
        assert r.out == expected_reply("Hi") + "\n" and r.stderr.startswith("streamchat: 1 in → 12 out")
    else:
        errors = [line for line in r.stderr.splitlines() if line.startswith("streamchat: error:")]
        assert len(errors) == 1 and needle in errors[0], r.stderr
        assert "Traceback" not in r.stderr


def test_no_arguments_is_the_help_on_stderr_and_status_2():
    r = run()
    assert r.code == 2 and r.out == "" and "Usage: streamchat" in r.stderr and "chat" in r.stderr


def test_version_through_python_dash_m():
    from streamchat import __version__

    proc = subprocess.run([sys.executable, "-m", "streamchat", "--version"], capture_output=True, text=True, env=clean_env(), timeout=60)
    assert proc.returncode == 0 and proc.stdout == f"streamchat {__version__}\n"


def test_every_command(server):
    """Each command once, successfully, from the console script. (Also run as processes elsewhere:
    serve in test_serve.py; bench, bench compare and bench report in the README examples and
    test_secrets.py, where their fresh interpreters cost seconds.)"""
    ws = server.url.replace("http", "ws", 1)
    r = run("ws-chat", "--url", ws + "/api/chat/ws", "-o", "ndjson", "Hi")
    assert r.code == 0 and r.lines()[-1] == {"type": "done", "finish_reason": "stop"}, r.stderr
    r = run("camera", "cam-exe", "--url", ws + "/ws/stream/{camera_id}?fps=0", "--frames", "2")
    assert r.code == 0 and [line["seq"] for line in r.lines()] == [1, 2], r.stderr
    r = run("models", "--url", server.url + "/v1")
    assert r.code == 0 and "deepseek/deepseek-chat" in r.out.splitlines(), r.stderr
    r = run("config")
    assert r.code == 0 and r.out, r.stderr
    r = run("completion", "bash")
    assert r.code == 0 and "complete" in r.out, r.stderr
    r = run("bench", "compare", os.path.join(DATA, "run_c8.json"), os.path.join(DATA, "run_c8.json"))
    assert r.code == 0 and "no regression" in r.stderr, r.stderr
