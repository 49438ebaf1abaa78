"""The bookkeeping of scripts/interop.py: steps with PASS/FAIL/SKIP, commands with time limits, servers stopped by PID.

Nothing here knows about LiteLLM or transformers; the step modules use it to run their checks.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

LOOPBACK = "127.0.0.1"


class StepFailed(Exception):
    """The thing under test misbehaved: the step is a FAIL with this one-line reason."""


class StepSkipped(Exception):
    """The step could not run (a server did not start, an install failed): SKIP with this reason."""


@dataclass
class Step:
    name: str
    check: Callable[[], str]
    needed_by_rest: str | None = None  # why the later steps cannot run when this one fails


@dataclass
class StepResult:
    name: str
    status: str
    reason: str


@dataclass
class Report:
    results: list[StepResult] = field(default_factory=list)
    verbose: bool = False

    def run(self, name: str, check: Callable[[], str]) -> bool:
        """Run one check; print its line at once, so a long run shows progress. True when it passed."""
        started = time.monotonic()
        try:
            status, reason = "PASS", check()
        except StepFailed as failure:
            status, reason = "FAIL", str(failure)
        except StepSkipped as skip:
            status, reason = "SKIP", str(skip)
        except Exception as error:  # a bug of this script must not hide the other steps' results
            status, reason = "FAIL", f"script error: {type(error).__name__}: {error}"
        self.add(name, status, f"{reason} ({time.monotonic() - started:.1f} s)")
        return status == "PASS"

    def add(self, name: str, status: str, reason: str) -> None:
        self.results.append(StepResult(name, status, reason))
        print(f"{status:4}  {name}: {one_line(reason)}", flush=True)

    def skip_all(self, names: list[str], reason: str) -> None:
        for name in names:
            self.add(name, "SKIP", reason)

    def run_plan(self, plan: list[Step]) -> None:
        """Run the steps in order; when a step others depend on fails, the rest are SKIPped with its reason."""
        for index, step in enumerate(plan):
            if not self.run(step.name, step.check) and step.needed_by_rest:
                self.skip_all([later.name for later in plan[index + 1 :]], step.needed_by_rest)
                return

    def summary(self) -> str:
        width = max((len(r.name) for r in self.results), default=4)
        lines = ["", f"{'step':{width}}  result  reason", f"{'-' * width}  ------  {'-' * 40}"]
        for r in self.results:
            lines.append(f"{r.name:{width}}  {r.status:6}  {one_line(r.reason, 160)}")
        counts = {status: sum(r.status == status for r in self.results) for status in ("PASS", "FAIL", "SKIP")}
        lines.append(f"\n{counts['PASS']} passed, {counts['FAIL']} failed, {counts['SKIP']} skipped")
        return "\n".join(lines)

    @property
    def failed(self) -> bool:
        return any(r.status == "FAIL" for r in self.results)


def one_line(text: str, limit: int = 400) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


@dataclass
class Ran:
    argv: list[str]
    returncode: int
    stdout: bytes
    stderr: bytes
    seconds: float

    @property
    def out(self) -> str:
        return self.stdout.decode("utf-8", "replace")

    @property
    def err(self) -> str:
        return self.stderr.decode("utf-8", "replace")

    def stderr_tail(self, limit: int = 300) -> str:
        return one_line(self.err.strip()[-limit:] or "(nothing on stderr)")


def run(argv: list[str], *, env: dict[str, str] | None = None, timeout: float = 180, cwd: Path | None = None) -> Ran:
    """Run a command with stdin closed (so no command reads our terminal) and both outputs captured."""
    started = time.monotonic()
    try:
        done = subprocess.run(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as expired:
        raise StepFailed(f"{Path(argv[0]).name} did not finish within {timeout:.0f} s") from expired
    return Ran(argv, done.returncode, done.stdout, done.stderr, time.monotonic() - started)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def loopback_only(url: str) -> urllib.parse.SplitResult:
    """Every request this script makes goes to this machine's loopback address, never elsewhere."""
    parts = urllib.parse.urlsplit(url)
    if parts.hostname != LOOPBACK or parts.scheme != "http":
        raise ValueError(f"refusing to contact {url!r}: only http://{LOOPBACK} is allowed")
    return parts


@dataclass
class Exchange:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> object:
        return json.loads(self.body)


def http_exchange(
    method: str, url: str, body: object | None = None, headers: dict[str, str] | None = None, timeout: float = 60
) -> Exchange:
    """One plain request with the standard library, body read whole: the raw bytes a server sent, for the record."""
    parts = loopback_only(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        payload = None if body is None else json.dumps(body).encode()
        sent = {"Content-Type": "application/json"} if payload is not None else {}
        sent.update(headers or {})
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        connection.request(method, path or "/", body=payload, headers=sent)
        response = connection.getresponse()
        return Exchange(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        connection.close()


def record_exchanges(root: str, requests: dict[str, tuple[str, dict, dict[str, str]]], folder: Path, timeout: float = 120) -> None:
    """POST each (path, body, headers) and keep the status, headers and body bytes in folder/NAME.http.

    These are the bytes a server really sends, to tell a client bug from a server quirk when a step fails.
    """
    folder.mkdir(parents=True, exist_ok=True)
    for name, (path, body, headers) in requests.items():
        answer = http_exchange("POST", root + path, body, headers, timeout=timeout)
        head = "".join(f"{key}: {value}\n" for key, value in answer.headers.items())
        (folder / f"{name}.http").write_bytes(f"HTTP {answer.status}\n{head}\n".encode() + answer.body)


class Server:
    """A third-party server started in its own process group, so stopping it (by its PID) takes its children too."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_path: Path, cwd: Path) -> None:
        self.name = name
        self.log_path = log_path
        self.log = log_path.open("wb")
        self.process = subprocess.Popen(
            argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def wait_ready(self, url: str, timeout: float) -> float:
        """Poll url until it answers 200; the server dying or the time running out is a StepFailed."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.process.poll() is not None:
                raise StepFailed(f"{self.name} exited with status {self.process.returncode} before it was ready: {self.log_tail()}")
            try:
                if http_exchange("GET", url, timeout=5).status == 200:
                    return time.monotonic() - started
            except OSError:
                pass
            time.sleep(0.5)
        raise StepFailed(f"{self.name} was not ready at {url} within {timeout:.0f} s: {self.log_tail()}")

    def log_tail(self, limit: int = 400) -> str:
        self.log.flush()
        text = self.log_path.read_bytes()[-4000:].decode("utf-8", "replace")
        return one_line(text.strip()[-limit:] or f"(empty log {self.log_path})")

    def stop(self) -> None:
        """SIGTERM to the server's own process group (its PID is the group id), SIGKILL after 15 s."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=15)
            except ProcessLookupError:
                pass
        self.log.close()


class ServedSuite:
    """A suite around one third-party server: its work folder and port, the server started (its raw
    answers kept, to explain any failure in the report) and stopped."""

    def __init__(self, venv: Path, workdir: Path) -> None:
        self.venv = venv
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.root = f"http://{LOOPBACK}:{self.port}"
        self.server: Server | None = None

    def launch(self, name: str, argv: list[str], env: dict[str, str], log_name: str, health_path: str, timeout: float) -> str:
        self.server = Server(name, argv, env, self.workdir / log_name, self.workdir)
        seconds = self.server.wait_ready(self.root + health_path, timeout=timeout)
        self.record_raw_answers()
        return f"listening on {self.root} after {seconds:.1f} s (log {self.server.log_path})"

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()

    def record_raw_answers(self) -> None:
        raise NotImplementedError
