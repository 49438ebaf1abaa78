"""Fixtures: the reference server on a real loopback socket, and the real CLI in a subprocess."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from streamchat.server.config import ServerConfig
from streamchat.server.embedded import RunningServer, start_in_thread

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# A shell without job control starts background jobs (`cmd &` in a script) with SIGINT ignored, and
# an ignored signal stays ignored across exec: the Ctrl-C tests' streamchat processes would never
# see their SIGINT. With a handler here, the processes the tests start get the default again.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session")
def server() -> Iterator[RunningServer]:
    """A fast reference server (no pacing) shared by the whole session."""
    with start_in_thread(ServerConfig(ttft_ms=0, itl_ms=0, reply_tokens=12)) as running:
        yield running


@pytest.fixture(scope="session")
def slow_server() -> Iterator[RunningServer]:
    """A paced server, for tests that need time between tokens (signals, timestamps)."""
    with start_in_thread(ServerConfig(ttft_ms=20, itl_ms=40, reply_tokens=40)) as running:
        yield running


@pytest.fixture(scope="session")
def auth_server() -> Iterator[RunningServer]:
    with start_in_thread(ServerConfig(ttft_ms=0, itl_ms=0, reply_tokens=6, token="s3cret-token-value")) as running:
        yield running


@dataclass
class Result:
    code: int
    stdout: bytes
    stderr: str

    @property
    def out(self) -> str:
        return self.stdout.decode("utf-8")

    def lines(self) -> list[dict]:
        return [json.loads(line) for line in self.out.splitlines() if line.strip()]


def clean_env(**extra: str) -> dict[str, str]:
    """The environment a test's streamchat runs in. A model is configured (the reference server's
    default), as a user who set STREAMCHAT_MODEL has: OpenAI-style URLs would otherwise ask the server
    for its models first, a request most tests are not about. Pass ``STREAMCHAT_MODEL=""`` to leave
    the model unconfigured (the model-discovery tests)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMCHAT_")}
    env["STREAMCHAT_MODEL"] = "deepseek/deepseek-chat"
    env.pop("NO_COLOR", None)
    env.pop("FORCE_COLOR", None)
    # (no empty entry: an empty PYTHONPATH item means "the working directory")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (ROOT, env.get("PYTHONPATH", "")) if p)
    env["XDG_CONFIG_HOME"] = os.path.join(ROOT, "tests", "data", "no-config-here")  # a developer's own config must not leak in
    env.update(extra)
    return {k: v for k, v in env.items() if not (k == "STREAMCHAT_MODEL" and v == "")}


def run_cli(*args: str, input: bytes | None = None, env: dict[str, str] | None = None, timeout: float = 60, stdin=None) -> Result:
    """Run the real executable (``python -m streamchat``) the way a shell would."""
    proc = subprocess.run(
        [sys.executable, "-m", "streamchat", *args],
        input=input,
        stdin=stdin if input is None else None,
        capture_output=True,
        env=env or clean_env(),
        timeout=timeout,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr.decode("utf-8", "replace"))


@pytest.fixture
def cli():
    return run_cli


def seen_by(server: RunningServer, test_id: str) -> list:
    """Requests the server answered that carried ``-H 'X-Test-Id: <test_id>'``."""
    return [r for r in server.app.state.reference.seen if r.headers.get("x-test-id") == test_id]


def expected_reply(message: str, model: str = "deepseek/deepseek-chat", tokens: int = 12) -> str:
    from streamchat.server.replies import plan_reply

    return "".join(plan_reply(message, model, reply_tokens=tokens).content)


def run_on_terminal(args: list[str], stream: str = "stdout", timeout: float = 60) -> tuple[int, bytes]:
    """Run with stdout or stderr on a pseudo-terminal; returns (status, what the terminal received)."""
    import pty

    master, slave = pty.openpty()
    streams = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, stream: slave}
    proc = subprocess.Popen(args, stdout=streams["stdout"], stderr=streams["stderr"], env=clean_env(), stdin=subprocess.DEVNULL)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: every writer closed its end
            break
        if not data:
            break
        chunks.append(data)
    proc.communicate(timeout=timeout)
    os.close(master)
    return proc.returncode, b"".join(chunks)
