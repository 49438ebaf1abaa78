"""The servers behind the Open WebUI steps: two `streamchat serve` backends, the fault relay, Open WebUI itself.

    Open WebUI (auth off, then a second one with auth on)
        └── OPENAI_API_BASE_URL → fault_relay.py (a model name per scenario → a fault header)
                                     ├── streamchat serve            (fast replies)
                                     └── streamchat serve --itl-ms …  (slow replies: Ctrl-C, kill mid-reply)

Everything binds 127.0.0.1 and runs in its own process group, stopped by its PID (harness.Server).
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

from clients import clean_env
from harness import LOOPBACK, Server, StepFailed, free_port, http_exchange

RELAY_SCRIPT = Path(__file__).resolve().parent / "fault_relay.py"
SLOW_ITL_MS = 150  # x SLOW_TOKENS: a 30 s reply, long enough to interrupt or kill mid-way
SLOW_TOKENS = 200

# Open WebUI offline, as shared/real-servers.md found it boots: no Ollama, no downloads, config from the environment only.
OFFLINE = {
    "ENABLE_OLLAMA_API": "false",
    "OFFLINE_MODE": "true",
    "HF_HUB_OFFLINE": "1",
    "ENABLE_PERSISTENT_CONFIG": "False",
    "OPENAI_API_KEY": "x",
    "WEBUI_SECRET_KEY": "interop-not-secret",
    "ANONYMIZED_TELEMETRY": "false",
    "DO_NOT_TRACK": "true",
    "SCARF_NO_ANALYTICS": "true",
}


def wait_for_line(server: Server, pattern: str, timeout: float) -> re.Match[str]:
    """The first match of ``pattern`` in the server's log (its stdout and stderr)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise StepFailed(f"{server.name} exited with status {server.process.returncode}: {server.log_tail()}")
        server.log.flush()
        found = re.search(pattern, server.log_path.read_text(errors="replace"))
        if found:
            return found
        time.sleep(0.2)
    raise StepFailed(f"{server.name} did not print {pattern!r} within {timeout:.0f} s: {server.log_tail()}")


class Backends:
    """The two reference servers and the relay; ``relay_url`` is what Open WebUI is pointed at."""

    def __init__(self, streamchat_exe: str, workdir: Path) -> None:
        self.streamchat_exe = streamchat_exe
        self.workdir = workdir
        self.servers: list[Server] = []
        self.ports: dict[str, int] = {}
        self.relay_port = 0
        self.request_log = workdir / "backend-requests.jsonl"  # every chat request Open WebUI sent its backend

    def start(self) -> str:
        env = clean_env(self.workdir)
        for name, extra in (("fast", []), ("slow", ["--itl-ms", str(SLOW_ITL_MS), "--reply-tokens", str(SLOW_TOKENS)])):
            server = Server(
                f"streamchat serve ({name})",
                [self.streamchat_exe, "serve", "--port", "0", *extra],
                env,
                self.workdir / f"serve-{name}.log",
                self.workdir,
            )
            self.servers.append(server)
            self.ports[name] = int(wait_for_line(server, r"listening on http://127\.0\.0\.1:(\d+)", 60).group(1))
        port_file = self.workdir / "relay.port"
        port_file.unlink(missing_ok=True)
        argv = [sys.executable, str(RELAY_SCRIPT), "--fast", str(self.ports["fast"]), "--slow", str(self.ports["slow"])]
        argv += ["--port-file", str(port_file), "--log", str(self.request_log)]
        relay = Server("fault relay", argv, env, self.workdir / "relay.log", self.workdir)
        self.servers.append(relay)
        deadline = time.monotonic() + 30
        while not port_file.exists() or not port_file.read_text().strip():
            if time.monotonic() > deadline or relay.process.poll() is not None:
                raise StepFailed(f"the fault relay did not start: {relay.log_tail()}")
            time.sleep(0.1)
        self.relay_port = int(port_file.read_text())
        return f"reference servers on {self.ports}, fault relay on {self.relay_port} (its request log: {self.request_log})"

    @property
    def relay_url(self) -> str:
        return f"http://{LOOPBACK}:{self.relay_port}/v1"

    def direct_reply(self, model: str, message: str) -> str:
        """What the backend answers this model and message, asked directly (no Open WebUI in between)."""
        backend = "slow" if model == "sc-slow" else "fast"
        body = {"model": model, "messages": [{"role": "user", "content": message}], "stream": False}
        answer = http_exchange("POST", f"http://{LOOPBACK}:{self.ports[backend]}/v1/chat/completions", body)
        if answer.status != 200:
            raise StepFailed(f"the backend answered {answer.status} when asked directly: {answer.body[:200]!r}")
        return answer.json()["choices"][0]["message"]["content"]

    def requests_seen(self) -> list[dict]:
        import json

        if not self.request_log.exists():
            return []
        return [json.loads(line)["body"] for line in self.request_log.read_text().splitlines() if line.strip()]

    def stop(self) -> None:
        for server in reversed(self.servers):
            server.stop()
        self.servers.clear()


class OpenWebUI:
    """One Open WebUI server (auth on or off), with its own data directory."""

    def __init__(self, venv: Path, workdir: Path, relay_url: str, auth: bool) -> None:
        self.venv = venv
        self.auth = auth
        self.label = "auth" if auth else "noauth"
        self.data_dir = workdir / f"data-{self.label}"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://{LOOPBACK}:{self.port}"
        self.log_path = workdir / f"open-webui-{self.label}.log"
        env = clean_env(workdir, {**OFFLINE, "WEBUI_AUTH": str(auth), "DATA_DIR": str(self.data_dir), "OPENAI_API_BASE_URL": relay_url})
        argv = [str(venv / "bin" / "open-webui"), "serve", "--host", LOOPBACK, "--port", str(self.port)]
        self.server = Server(f"Open WebUI ({self.label})", argv, env, self.log_path, workdir)

    def wait_ready(self) -> str:
        seconds = self.server.wait_ready(self.url + "/health", timeout=300)
        return f"Open WebUI ({self.label}) on {self.url} after {seconds:.0f} s (log {self.log_path})"

    def post(self, path: str, body: object, token: str | None = None) -> object:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        answer = http_exchange("POST", self.url + path, body, headers)
        if answer.status != 200:
            raise StepFailed(f"POST {path}: {answer.status} {answer.body[:200]!r}")
        return answer.json()

    def get(self, path: str, token: str) -> object:
        answer = http_exchange("GET", self.url + path, None, {"Authorization": f"Bearer {token}"})
        if answer.status != 200:
            raise StepFailed(f"GET {path}: {answer.status} {answer.body[:200]!r}")
        return answer.json()

    def log_text(self) -> str:
        self.server.log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        self.server.stop()
