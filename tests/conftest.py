"""Fixtures: the reference server on a real loopback socket, and the CLI run in this process
(``run_cli``) or as the real executable in a subprocess (``run_exe``)."""

from __future__ import annotations

import contextlib
import gc
import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

# With PYTHONDONTWRITEBYTECODE set, pytest rewrites and compiles every test module and every plugin
# package it imports (hypothesis, 70 modules) again in each worker on every run: seconds of CPU. The
# caches go to __pycache__ directories, which git ignores. (Set before the imports below.)
sys.dont_write_bytecode = False

from streamchat.server.config import ServerConfig  # noqa: E402
from streamchat.server.embedded import RunningServer, start_in_thread  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The workers take whole modules (--dist loadscope), in collection order: the longest first, so that no
# worker is left alone with a long one at the end. Only a schedule: any order passes.
LONGEST_FIRST = [
    "test_readme_examples.py",
    "test_bench_ray.py",
    "test_bench_report.py",
    "test_fault_matrix.py",
    "test_wire_conformance.py",
    "test_bench.py",
    "test_bench_bounded.py",
    "test_server_hardening.py",
    "test_ws_chat.py",
    "test_server_protocols.py",
    "test_bench_sweep.py",
    "test_chat.py",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: index for index, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # (stable: the rest keep their order)


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
    # Each process the tests start would otherwise compile every module of this checkout again (an
    # installed streamchat has its bytecode: pip compiles it); with it cached, a start costs a third less.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    # (no empty entry: an empty PYTHONPATH item means "the working directory")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (ROOT, env.get("PYTHONPATH", "")) if p)
    env["XDG_CONFIG_HOME"] = os.path.join(ROOT, "tests", "data", "no-config-here")  # a developer's own config must not leak in
    env.update(extra)
    return {k: v for k, v in env.items() if not (k == "STREAMCHAT_MODEL" and v == "")}


def run_cli(*args: str, input: bytes | None = None, env: dict[str, str] | None = None, timeout: float = 60, stdin=None) -> Result:
    """Run the CLI in this process through its own entry point, ``streamchat.cli.run(argv)``: the
    same parsing, commands and error boundary as the executable, without a Python start per test.

    It gets what a process would: ``env`` as ``os.environ``, a standard input with a file descriptor
    (``input`` as a regular file, else /dev/null, as ``subprocess.DEVNULL`` gives), and standard
    output and error that are not terminals. What needs a real process (exit by signal, SIGINT,
    terminals, closed or full pipes, ``python -m streamchat``) uses ``run_exe``."""
    from streamchat import cli, secrets

    with contextlib.ExitStack() as stack:
        if input is not None:
            source = stack.enter_context(tempfile.TemporaryFile())
            source.write(input)
            source.seek(0)
        elif stdin is None or stdin == subprocess.DEVNULL:
            source = stack.enter_context(open(os.devnull, "rb"))
        else:
            source = stdin
        out, err = io.BytesIO(), io.BytesIO()
        stack.enter_context(_environment(env or clean_env()))
        stack.enter_context(_streams(source, out, err))
        stack.enter_context(_collector_restored())
        stack.callback(secrets.forget_all)  # the registry is process-wide: the next test starts empty
        with _watchdog(timeout, " ".join(args)):
            code = cli.run(list(args))
        sys.stdout.flush()
        sys.stderr.flush()
    return Result(code, out.getvalue(), err.getvalue().decode("utf-8", "replace"))


@contextlib.contextmanager
def _environment(env: dict[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextlib.contextmanager
def _streams(stdin, out: io.BytesIO, err: io.BytesIO) -> Iterator[None]:
    """Text streams over the given bytes, as a process has them (stderr escapes what is not UTF-8)."""
    saved = sys.stdin, sys.stdout, sys.stderr
    sys.stdin = io.TextIOWrapper(stdin, encoding="utf-8")
    sys.stdout = io.TextIOWrapper(out, encoding="utf-8", write_through=True)
    sys.stderr = io.TextIOWrapper(err, encoding="utf-8", errors="backslashreplace", write_through=True)
    try:
        yield
    finally:
        wrappers = sys.stdin, sys.stdout, sys.stderr
        sys.stdin, sys.stdout, sys.stderr = saved
        for wrapper in wrappers:
            with contextlib.suppress(ValueError):
                wrapper.flush()
            wrapper.detach()  # (closing a wrapper would close what it wraps)


@contextlib.contextmanager
def _collector_restored() -> Iterator[None]:
    """chat tunes the garbage collector and freezes what exists once it has started: right for a
    process that ends with its reply, a leak for a test session that runs hundreds of them.

    The run's garbage is collected as it ends, as a process's would be at exit, so its finalizers
    (asyncio's "exception was never retrieved") run here and not in the middle of whatever the next
    test does (on Python 3.11.7 a finalizer that runs inside ``compile()`` makes it fail with
    "AST constructor recursion depth mismatch"). What existed before the run is frozen meanwhile, so
    that collection looks at the run's objects only and takes a millisecond, not the whole session's."""
    threshold = gc.get_threshold()
    gc.freeze()
    try:
        yield
    finally:
        gc.collect()
        gc.unfreeze()
        gc.set_threshold(*threshold)


@contextlib.contextmanager
def _watchdog(seconds: float, what: str) -> Iterator[None]:
    """A run that hangs gets SIGINT after ``seconds`` (it then ends as Ctrl-C would) and the test fails,
    as a subprocess's timeout would; a hang must not stall the whole suite."""
    if threading.current_thread() is not threading.main_thread():  # (only the main thread gets signals)
        yield
        return
    fired = threading.Event()
    main = threading.main_thread().ident

    def interrupt() -> None:
        fired.set()
        signal.pthread_kill(main, signal.SIGINT)

    timer = threading.Timer(seconds, interrupt)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
    if fired.is_set():
        raise TimeoutError(f"streamchat {what} ran longer than {seconds} s")


def run_exe(*args: str, input: bytes | None = None, env: dict[str, str] | None = None, timeout: float = 60, stdin=None) -> Result:
    """Run the real executable (``python -m streamchat``) the way a shell would (stdin: /dev/null
    unless given, as for ``run_cli``)."""
    proc = subprocess.run(
        [sys.executable, "-m", "streamchat", *args],
        input=input,
        stdin=(subprocess.DEVNULL if stdin is None else stdin) if input is None else None,
        capture_output=True,
        env=env or clean_env(),
        timeout=timeout,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr.decode("utf-8", "replace"))


@pytest.fixture
def cli():
    return run_cli


def wait_until(condition, timeout: float = 10.0, what: str = "the condition") -> None:
    """Wait for a state another thread or process reaches on its own (a server's bookkeeping after the
    client has gone): checked every few milliseconds, so the wait is as short as the state allows."""
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout} s")
        time.sleep(0.005)


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
