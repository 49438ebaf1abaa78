"""The checks of the Open WebUI steps (openwebui_steps.py runs the servers): exit codes, stdout and stderr
of `chat --transport socketio` and `bench --transport socketio`, compared with what the contract says."""

from __future__ import annotations

import json
import signal
import subprocess
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from clients import Streamchat, clean_env, parse_json, parse_ndjson, require_exit
from harness import Ran, Step, StepFailed, StepSkipped, run

if TYPE_CHECKING:
    from openwebui_steps import OpenWebUISuite

MESSAGE = "Tell me about streams"  # (a message starting "say" gets its words back: too short a reply here)
CAPTURE_SCRIPT = Path(__file__).resolve().parent / "socket_capture.py"
KNOWN_KINDS = {"chat:active", "response:completion", "chat:completion", "chat:message:error", "chat:tasks:cancel"}


def types(events: list[dict]) -> list[str]:
    return [event.get("type") for event in events]


def last_error(ran: Ran, code: str | None = None) -> dict:
    """The -o ndjson error line a failed run ends with (with ``code`` when given)."""
    _, events = parse_ndjson(ran)
    if not events or events[-1].get("type") != "error":
        raise StepFailed(f"exit {ran.returncode} but the last line is {events[-1] if events else 'missing'}, not an error")
    if code is not None and events[-1].get("code") != code:
        raise StepFailed(f"the error line is {events[-1]}, expected code {code!r}")
    return events[-1]


class Checks:
    def __init__(self, suite: OpenWebUISuite) -> None:
        self.suite = suite

    def noauth_steps(self) -> list[Step]:
        return [
            Step("openwebui.chat.text", self.chat_text),
            Step("openwebui.chat.ndjson", self.chat_ndjson),
            Step("openwebui.chat.json", self.chat_json),
            Step("openwebui.capture", self.capture),
            Step("openwebui.usage", self.usage),
            Step("openwebui.reasoning", self.reasoning),
            Step("openwebui.params", self.params),
            Step("openwebui.chat-id.saved", self.saved_chat),
            Step("openwebui.chat-id.unknown", lambda: self.http_error(["-m", "sc-text", "--chat-id", str(uuid.uuid4())], 404)),
            Step("openwebui.model.unknown", lambda: self.http_error(["-m", "no-such-model"], 400)),
            Step("openwebui.backend.error-mid", lambda: self.server_error("sc-error-mid", content_lines=3)),
            Step("openwebui.backend.500", lambda: self.server_error("sc-500")),
            Step("openwebui.backend.drop", lambda: self.server_error("sc-drop")),
            Step("openwebui.backend.down", lambda: self.server_error("sc-down")),
            Step("openwebui.read-timeout", self.read_timeout),
            Step("openwebui.expect", self.expect),
            Step("openwebui.conversation", self.conversation),
            *(Step(f"openwebui.bench.c{c}", lambda c=c: self.bench(c, requests=max(8, 2 * c))) for c in (1, 4, 16)),
            Step("openwebui.bench.errors", self.bench_errors),
            Step("openwebui.ctrl-c", self.ctrl_c),
            Step("openwebui.killed-mid-reply", self.killed_mid_reply),
            Step("openwebui.refused", self.refused),
        ]

    def auth_steps(self) -> list[Step]:
        return [
            Step("openwebui.auth.no-token", self.no_token),
            Step("openwebui.auth.env", lambda: self.with_token([], "STREAMCHAT_TOKEN")),
            Step("openwebui.auth.token-file", lambda: self.with_token(["--token-file", str(self.suite.workdir / "token")], "--token-file")),
            Step("openwebui.auth.wrong-token", self.wrong_token),
            Step("openwebui.auth.bench", self.bench_with_token),
            Step("openwebui.auth.models", self.models),
        ]

    # -- replies --------------------------------------------------------------------------------------------

    def chat_text(self) -> str:
        ran = self.suite.chat("-m", "sc-text", "-o", "text", MESSAGE)
        require_exit(ran, 0, "chat -o text")
        expected = self.suite.backends.direct_reply("sc-text", MESSAGE) + "\n"
        if ran.out != expected:
            raise StepFailed(f"stdout {ran.out[:80]!r} is not the backend's reply plus a newline {expected[:80]!r}")
        if "signed in to Open WebUI with empty credentials" not in ran.err:
            raise StepFailed(f"stderr does not say it signed in with empty credentials: {ran.stderr_tail()}")
        return f"the backend's {len(expected) - 1} characters through Open WebUI (with its tool round before), and the sign-in notice"

    def chat_ndjson(self) -> str:
        ran = self.suite.chat("-m", "sc-text", "-o", "ndjson", MESSAGE)
        require_exit(ran, 0, "chat -o ndjson")
        parsed, events = parse_ndjson(ran)
        if parsed.text != self.suite.backends.direct_reply("sc-text", MESSAGE):
            raise StepFailed(f"the content lines make {parsed.text[:80]!r}, not the backend's reply")
        if events[-1] != {"type": "done", "finish_reason": "stop"} or parsed.usage is not None:
            raise StepFailed(f"expected a last line done/stop and no usage (the backend sent none), got {events[-2:]}")
        return f"{len(events) - 1} content lines and done/stop; no usage line, as none was sent"

    def chat_json(self) -> str:
        ran = self.suite.chat("-m", "sc-text", "-o", "json", MESSAGE)
        require_exit(ran, 0, "chat -o json")
        parsed, document = parse_json(ran)
        if document.get("error") is not None or document.get("done") is not True or document.get("finish_reason") != "stop":
            raise StepFailed(f"done={document.get('done')} error={document.get('error')} finish_reason={document.get('finish_reason')}")
        if parsed.text != self.suite.backends.direct_reply("sc-text", MESSAGE):
            raise StepFailed(f"content {parsed.text[:80]!r} is not the backend's reply")
        return f"content is the backend's reply, timing {document.get('timing')}"

    def capture(self) -> str:
        """Every socket payload of one chat, kept in the work directory to compare with streamchat's output
        (and with shared/captures/open-webui/); run by the Python beside the streamchat under test."""
        python = Path(self.suite.exe).parent / "python"
        if not python.exists():
            raise StepSkipped(f"no python beside {self.suite.exe} to run socket_capture.py with")
        token = self.suite.noauth.post("/api/v1/auths/signin", {"email": "", "password": ""})["token"]
        out = self.suite.workdir / "raw" / "socket-sc-usage.jsonl"
        out.parent.mkdir(exist_ok=True)
        ran = run(
            [str(python), str(CAPTURE_SCRIPT), self.suite.noauth.url, token, "sc-usage", MESSAGE, str(out)],
            env=clean_env(self.suite.workdir),
        )
        if ran.returncode != 0:
            raise StepFailed(f"socket_capture.py failed: {ran.stderr_tail()}")
        kinds = [json.loads(line)["payload"]["data"]["type"] for line in out.read_text().splitlines()[1:]]
        unknown = sorted(set(kinds) - KNOWN_KINDS)
        if unknown or kinds[-1:] != ["chat:active"]:
            raise StepFailed(f"event kinds not in the captures: {unknown}; last {kinds[-1:]}")
        return f"{len(kinds)} payloads, kinds {sorted(set(kinds))}, kept in {out}"

    def usage(self) -> str:
        ran = self.suite.chat("-m", "sc-usage", "-o", "ndjson", MESSAGE)
        require_exit(ran, 0, "chat with usage")
        parsed, events = parse_ndjson(ran)
        usage = parsed.usage
        if types(events)[-2:] != ["usage", "done"] or usage is None:
            raise StepFailed(f"expected usage then done last, got {events[-2:]}")
        if usage["total_tokens"] != usage["input_tokens"] + usage["output_tokens"] or usage["output_tokens"] < 24:
            raise StepFailed(f"usage {usage} is not what the backend's 24-token reply (plus the tool round) gives")
        return f"one usage line before done: {usage}"

    def reasoning(self) -> str:
        ran = self.suite.chat("-m", "sc-reasoner", "-o", "json", MESSAGE)
        require_exit(ran, 0, "chat with reasoning")
        parsed, document = parse_json(ran)
        if not document.get("reasoning") or parsed.text != self.suite.backends.direct_reply("sc-reasoner", MESSAGE):
            raise StepFailed(f"reasoning {document.get('reasoning')!r}, content {parsed.text[:60]!r}")
        text = self.suite.chat("-m", "sc-reasoner", "-o", "text", MESSAGE)
        require_exit(text, 0, "chat -o text with reasoning")
        if document["reasoning"].strip() not in text.err or document["reasoning"] in text.out:
            raise StepFailed("in text mode the reasoning is not on stderr alone")
        return f"{len(document['reasoning'])} characters of reasoning (stderr in text mode), content the backend's"

    def params(self) -> str:
        before = len(self.suite.backends.requests_seen())
        ran = self.suite.chat("-m", "sc-usage", "--max-tokens", "3", "--temperature", "0.5", "-p", "seed=7", "-o", "ndjson", MESSAGE)
        require_exit(ran, 0, "chat --max-tokens 3")
        _, events = parse_ndjson(ran)
        seen = self.suite.backends.requests_seen()[before:]
        if not seen or any(body.get("max_tokens") != 3 or body.get("temperature") != 0.5 or body.get("seed") != 7 for body in seen):
            raise StepFailed(f"the backend saw {[{k: b.get(k) for k in ('max_tokens', 'temperature', 'seed')} for b in seen]}")
        if types(events).count("content") != 3 or events[-1].get("finish_reason") != "length":
            raise StepFailed(f"expected 3 content lines and finish_reason length, got {types(events)} {events[-1]}")
        return "max_tokens, temperature and -p seed reached the backend; 3 tokens, finish_reason length"

    def saved_chat(self) -> str:
        token = self.suite.noauth.post("/api/v1/auths/signin", {"email": "", "password": ""})["token"]
        chat = {"title": "interop", "models": ["sc-text"], "messages": [], "history": {"messages": {}, "currentId": None}}
        chat_id = self.suite.noauth.post("/api/v1/chats/new", {"chat": chat}, token)["id"]
        ran = self.suite.chat("-m", "sc-text", "--chat-id", chat_id, "-o", "json", MESSAGE)
        require_exit(ran, 0, "chat --chat-id SAVED")
        parsed, _ = parse_json(ran)
        stored = json.dumps(self.suite.noauth.get(f"/api/v1/chats/{chat_id}", token))
        if parsed.text != self.suite.backends.direct_reply("sc-text", MESSAGE) or json.dumps(parsed.text)[1:-1] not in stored:
            raise StepFailed("the reply is not the backend's, or Open WebUI did not store it in the saved chat")
        return f"replied in saved chat {chat_id}, and Open WebUI stored the reply there"

    # -- failures -------------------------------------------------------------------------------------------

    def http_error(self, args: list[str], status: int) -> str:
        ran = self.suite.chat(*args, "--retries", "0", "-o", "ndjson", MESSAGE)
        require_exit(ran, 6, f"HTTP {status}")
        error = last_error(ran, f"http_{status}")
        if error.get("status") != status or len(parse_ndjson(ran)[1]) != 1:
            raise StepFailed(f"expected one error line with status {status}, got {ran.out[:200]!r}")
        return f"exit 6, {json.dumps(error)[:150]}"

    def server_error(self, model: str, content_lines: int | None = None) -> str:
        ran = self.suite.chat("-m", model, "-o", "ndjson", MESSAGE)
        require_exit(ran, 1, f"{model}: the backend failing")
        _, events = parse_ndjson(ran)
        error = last_error(ran)
        if "done" in types(events) or (content_lines is not None and types(events) != ["content"] * content_lines + ["error"]):
            raise StepFailed(f"lines {types(events)}")
        if "streamchat: error: " not in ran.err:
            raise StepFailed(f"no error line on stderr: {ran.stderr_tail()}")
        return f"exit 1 after {types(events).count('content')} content lines, {json.dumps(error)[:150]}"

    def read_timeout(self) -> str:
        started = time.monotonic()
        ran = self.suite.chat("-m", "sc-stall", "--read-timeout", "3", "-o", "ndjson", MESSAGE)
        took = time.monotonic() - started
        require_exit(ran, 4, "a silent socket with --read-timeout 3")
        last_error(ran, "timeout")
        if took > 20:
            raise StepFailed(f"took {took:.1f} s for a 3 s read timeout")
        return f"exit 4 after {took:.1f} s, {types(parse_ndjson(ran)[1]).count('content')} content lines kept"

    def expect(self) -> str:
        word = self.suite.backends.direct_reply("sc-text", MESSAGE).split()[1]
        good = self.suite.chat("-m", "sc-text", "--expect", word, "-o", "ndjson", MESSAGE)
        bad = self.suite.chat("-m", "sc-text", "--expect", "certainly-not-in-it", "-o", "ndjson", MESSAGE)
        require_exit(good, 0, f"--expect {word}")
        require_exit(bad, 8, "--expect NOT-THERE")
        if types(parse_ndjson(bad)[1])[-1] != "done":
            raise StepFailed("a failed check wrote an error line (the reply itself completed)")
        return "0 when it matches, 8 (no error line) when it does not"

    def conversation(self) -> str:
        path = self.suite.workdir / "conversation.ndjson"
        path.unlink(missing_ok=True)
        for turn in ("First question", "Second question"):
            require_exit(self.suite.chat("-m", "sc-text", "-C", str(path), "-s", "Be brief", "-q", turn), 0, f"-C turn {turn!r}")
        lines = [json.loads(line) for line in path.read_text().splitlines()]
        if [line["role"] for line in lines] != ["system", "user", "assistant", "user", "assistant"]:
            raise StepFailed(f"the file holds {[line['role'] for line in lines]}")
        last_request = self.suite.backends.requests_seen()[-1]["messages"]
        if [m["role"] for m in last_request[:4]] != ["system", "user", "assistant", "user"]:
            raise StepFailed(f"the second turn did not carry the first: Open WebUI sent {[m['role'] for m in last_request]}")
        size = path.stat().st_size
        require_exit(self.suite.chat("-m", "sc-error-mid", "-C", str(path), "-q", "Third"), 1, "-C with a failing reply")
        if path.stat().st_size != size:
            raise StepFailed("a failed reply changed the conversation file")
        return "two turns saved (system kept once), the second sent with the first; a failed turn left the file alone"

    # -- bench ----------------------------------------------------------------------------------------------

    def bench(self, concurrency: int, requests: int) -> str:
        ran = self.suite.anonymous(
            "bench", "--transport", "socketio", "--url", self.suite.noauth.url, "-m", "sc-usage",
            "--requests", str(requests), "--concurrency", str(concurrency), "-o", "json", "-q", timeout=600,
        )  # fmt: skip
        require_exit(ran, 0, f"bench -c {concurrency}")
        summary = json.loads(ran.stdout)
        records = summary.get("records") or []
        if summary.get("ok") != requests or summary.get("failed") or len(records) != requests:
            raise StepFailed(f"{summary.get('ok')} ok, {summary.get('failed')} failed, {len(records)} records of {requests}")
        ttft, itl, e2e = summary["ttft_ms"], summary["itl_ms"], summary["e2e_ms"]
        if not 0 < ttft["min"] <= ttft["p50"] <= e2e["p50"] or any(not 0 < r["ttft_ms"] <= r["e2e_ms"] for r in records):
            raise StepFailed(f"implausible TTFT {ttft} against e2e {e2e}")
        if concurrency == 1 and not 5 <= itl["p50"] <= 100:
            raise StepFailed(f"ITL p50 {itl['p50']:.1f} ms alone, where the backend paces tokens 15 ms apart")
        return f"{requests} ok; TTFT p50 {ttft['p50']:.0f} ms, ITL p50 {itl['p50']:.1f} ms, e2e p50 {e2e['p50']:.0f} ms"

    def bench_errors(self) -> str:
        ran = self.suite.anonymous(
            "bench", "--transport", "socketio", "--url", self.suite.noauth.url, "-m", "sc-error-mid", "--requests", "4", "-o", "json", "-q"
        )
        require_exit(ran, 8, "bench with every request failing")
        summary = json.loads(ran.stdout)
        if summary.get("failed") != 4 or summary.get("errors") != {"server_error": 4}:
            raise StepFailed(f"{summary.get('failed')} failed, errors {summary.get('errors')}")
        return "exit 8, 4 failed as server_error"

    # -- interruptions --------------------------------------------------------------------------------------

    def slow_chat(self, url: str) -> subprocess.Popen:
        argv = [
            self.suite.exe,
            "chat",
            "--transport",
            "socketio",
            "--url",
            url,
            "-m",
            "sc-slow",
            "-o",
            "ndjson",
            "--read-timeout",
            "30",
            MESSAGE,
        ]
        process = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=clean_env(self.suite.workdir), cwd=self.suite.workdir
        )
        for _ in range(3):
            if json.loads(process.stdout.readline() or b"{}").get("type") != "content":
                process.kill()
                raise StepFailed(f"the slow reply did not start: {process.communicate()[1][-300:]!r}")
        return process

    def ctrl_c(self) -> str:
        process = self.slow_chat(self.suite.noauth.url)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
        if process.returncode != 130 or json.loads(out.splitlines()[-1]).get("code") != "interrupted":
            raise StepFailed(f"exit {process.returncode}, last line {out.splitlines()[-1:]!r}, stderr {err[-200:]!r}")
        deadline = time.monotonic() + 10
        while '/stop HTTP/1.1" 200' not in self.suite.noauth.log_text():
            if time.monotonic() > deadline:
                raise StepFailed("exit 130, but Open WebUI's log shows no task stop")
            time.sleep(0.2)
        return "exit 130 with an interrupted line, and Open WebUI stopped the task (POST .../stop 200)"

    def killed_mid_reply(self) -> str:
        process = self.slow_chat(self.suite.noauth.url)
        self.suite.noauth.server.process.kill()  # SIGKILL, mid-reply
        out, err = process.communicate(timeout=60)
        if process.returncode != 3 or json.loads(out.splitlines()[-1]).get("code") != "connection_lost":
            raise StepFailed(f"exit {process.returncode}, last line {out.splitlines()[-1:]!r}, stderr {err[-200:]!r}")
        return "exit 3 with a connection_lost line after the content so far"

    def refused(self) -> str:
        ran = self.suite.chat("-m", "sc-text", "--retries", "0", "-o", "ndjson", MESSAGE)
        require_exit(ran, 3, "Open WebUI gone")
        return f"exit 3, {json.dumps(last_error(ran, 'connect_failed'))[:120]}"

    # -- auth on --------------------------------------------------------------------------------------------

    def no_token(self) -> str:
        ran = self.suite.chat("-m", "sc-text", "-o", "ndjson", MESSAGE, url=self.suite.authed.url)
        require_exit(ran, 5, "no token, auth on")
        error = last_error(ran)
        if "hint:" not in ran.err:
            raise StepFailed(f"no hint on how to give a token: {ran.stderr_tail()}")
        return f"exit 5, {json.dumps(error)[:160]}"

    def with_token(self, args: list[str], how: str) -> str:
        ran = self.suite.chat("-m", "sc-text", *args, "-o", "json", MESSAGE, url=self.suite.authed.url, who=self.suite.user)
        require_exit(ran, 0, f"the token by {how}")
        parsed, _ = parse_json(ran)
        if parsed.text != self.suite.backends.direct_reply("sc-text", MESSAGE) or "signed in" in ran.err:
            raise StepFailed(f"content {parsed.text[:60]!r}; stderr {ran.stderr_tail()}")
        return f"the reply, with the token by {how} (never shown)"

    def wrong_token(self) -> str:
        wrong = Streamchat(self.suite.exe, self.suite.workdir, "eyJhbGciOiJIUzI1NiJ9.eyJpZCI6Im5vYm9keSJ9.bad-signature")
        ran = self.suite.chat("-m", "sc-text", "-o", "ndjson", MESSAGE, url=self.suite.authed.url, who=wrong)
        require_exit(ran, 5, "a wrong token")
        return f"exit 5, {json.dumps(last_error(ran))[:120]}"

    def bench_with_token(self) -> str:
        args = ["bench", "--transport", "socketio", "--url", self.suite.authed.url, "-m", "sc-usage", "--requests", "6", "-o", "json", "-q"]
        ran = self.suite.user(*args, "--concurrency", "3", timeout=300)
        require_exit(ran, 0, "bench with the token")
        if json.loads(ran.stdout).get("ok") != 6:
            raise StepFailed(f"{json.loads(ran.stdout).get('ok')} ok of 6")
        wrong = Streamchat(self.suite.exe, self.suite.workdir, "wrong-token")(*args)
        require_exit(wrong, 8, "bench with a wrong token")
        errors = json.loads(wrong.stdout).get("errors")
        if errors != {"http_401": 6}:
            raise StepFailed(f"a wrong token's failures are counted as {errors}")
        return "6 ok with the token; a wrong one: exit 8, http_401 x6"

    def models(self) -> str:
        ran = self.suite.user("models", "--url", self.suite.authed.url + "/api/v1", "-o", "json")
        require_exit(ran, 0, "models --url BASE/api/v1")
        listed = json.loads(ran.stdout)
        ids = [m if isinstance(m, str) else m.get("id") for m in (listed.get("models") if isinstance(listed, dict) else listed) or []]
        if "sc-text" not in ids:
            raise StepFailed(f"listed {ids}")
        return f"Open WebUI's OpenAI-shaped /api/v1/models: {len(ids)} ids"
