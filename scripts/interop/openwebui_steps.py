"""streamchat's Open WebUI channel (`--transport socketio`) against a real Open WebUI 0.12.4, offline on loopback.

Open WebUI's OpenAI backend is `streamchat serve` behind fault_relay.py, so the replies, their pacing and
their failures are known: each scenario is a model name (`sc-text`, `sc-error-mid`, `sc-down`, ...). The
text streamchat prints through Open WebUI must be the backend's own reply, asked directly. One Open WebUI
runs with auth off (sign-in with empty credentials), a second with auth on (a user signed up through its
HTTP API). The last no-auth step kills that Open WebUI mid-reply.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from clients import Streamchat
from harness import Ran, Step, StepFailed
from openwebui_checks import Checks
from openwebui_servers import Backends, OpenWebUI

SIGN_UP = {"name": "Interop", "email": "interop@example.com", "password": "interop-" + uuid.uuid4().hex[:12]}


class OpenWebUISuite:
    def __init__(self, venv: Path, streamchat_exe: str, workdir: Path) -> None:
        self.venv = venv
        self.exe = streamchat_exe
        self.workdir = workdir / "openwebui"
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.backends = Backends(streamchat_exe, self.workdir)
        self.noauth: OpenWebUI | None = None
        self.authed: OpenWebUI | None = None
        self.token: str | None = None
        self.anonymous = Streamchat(streamchat_exe, self.workdir)

    # -- servers -------------------------------------------------------------------------------------------

    def start_backends(self) -> str:
        return self.backends.start()

    def start_noauth(self) -> str:
        self.noauth = OpenWebUI(self.venv, self.workdir, self.backends.relay_url, auth=False)
        return self.noauth.wait_ready()

    def start_auth(self) -> str:
        self.authed = OpenWebUI(self.venv, self.workdir, self.backends.relay_url, auth=True)
        ready = self.authed.wait_ready()
        answer = self.authed.post("/api/v1/auths/signup", SIGN_UP)
        self.token = answer.get("token") if isinstance(answer, dict) else None
        if not self.token:
            raise StepFailed(f"signing up gave no token: {str(answer)[:200]}")
        (self.workdir / "token").write_text(self.token + "\n")
        (self.workdir / "token").chmod(0o600)
        return f"{ready}; signed up {SIGN_UP['email']} ({answer.get('role')})"

    def stop(self) -> None:
        for server in (self.noauth, self.authed):
            if server is not None:
                server.stop()
        self.backends.stop()

    def chat(self, *args: str, url: str | None = None, who: Streamchat | None = None, timeout: float = 120) -> Ran:
        url = url or (self.noauth.url if self.noauth else "")
        return (who or self.anonymous)("chat", "--transport", "socketio", "--url", url, *args, timeout=timeout)

    @property
    def user(self) -> Streamchat:
        return Streamchat(self.exe, self.workdir, self.token)

    # -- the steps -----------------------------------------------------------------------------------------

    def plan(self) -> list[Step]:
        checks = Checks(self)
        return [
            Step("openwebui.backends", self.start_backends, needed_by_rest="the reference servers or the relay did not start"),
            Step("openwebui.start", self.start_noauth, needed_by_rest="Open WebUI (auth off) did not start"),
            *checks.noauth_steps(),
            Step("openwebui.auth.start", self.start_auth, needed_by_rest="Open WebUI (auth on) did not start"),
            *checks.auth_steps(),
        ]
