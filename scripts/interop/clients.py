"""The two clients under comparison: the installed `streamchat` and the OpenAI SDK (in a third-party venv)."""

from __future__ import annotations

import json
import os
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from harness import Ran, StepFailed, StepSkipped, run

SDK_SCRIPT = Path(__file__).resolve().parent / "sdk_reference.py"
USAGE_KEYS = ("input_tokens", "output_tokens", "total_tokens")
CONTROL_NAMES = {0: "NUL", 7: "BEL", 8: "BS", 9: "TAB", 10: "LF", 13: "CR", 27: "ESC", 127: "DEL"}


def chat_body(model: str, message: str, max_tokens: int | None = None, temperature: float | None = None) -> dict:
    """The OpenAI chat-completions request streamchat sends (and the SDK reference sends the same)."""
    body = {"model": model, "messages": [{"role": "user", "content": message}], "stream": True, "stream_options": {"include_usage": True}}
    body |= {"max_tokens": max_tokens} if max_tokens else {}
    return body | ({"temperature": temperature} if temperature is not None else {})


def responses_body(model: str, message: str, max_tokens: int | None = None) -> dict:
    body = {"model": model, "input": [{"role": "user", "content": [{"type": "input_text", "text": message}]}], "stream": True}
    return body | ({"max_output_tokens": max_tokens} if max_tokens else {})


def messages_body(model: str, message: str) -> dict:
    return {"model": model, "max_tokens": 1024, "messages": [{"role": "user", "content": message}], "stream": True}


def clean_env(workdir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The caller's environment without anything that would change streamchat's defaults.

    No STREAMCHAT_* variable, no provider key, and an empty config directory: model discovery must really
    discover, and a user's profile must not decide what is tested. Loopback never goes through a proxy.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMCHAT_") and k not in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY")}
    config_home = workdir / "empty-config"
    config_home.mkdir(exist_ok=True)
    env.update({"XDG_CONFIG_HOME": str(config_home), "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost", "NO_COLOR": "1"})
    env.update(extra or {})
    return env


@dataclass
class Parsed:
    """What a client got out of one reply, in streamchat's event vocabulary."""

    text: str
    usage: dict | None
    done: bool
    error: dict | None
    finish_reason: str | None = None

    def usage_core(self) -> dict | None:
        return None if self.usage is None else {k: self.usage.get(k) for k in USAGE_KEYS}


def parse_ndjson(ran: Ran) -> tuple[Parsed, list[dict]]:
    events = []
    for number, line in enumerate(ran.stdout.splitlines(), 1):
        try:
            events.append(json.loads(line))
        except ValueError as bad:
            raise StepFailed(f"stdout line {number} is not JSON: {line[:120]!r}") from bad
    text = "".join(e.get("text", "") for e in events if e.get("type") == "content")
    usages = [e for e in events if e.get("type") == "usage"]
    errors = [e for e in events if e.get("type") == "error"]
    dones = [e for e in events if e.get("type") == "done"]
    parsed = Parsed(
        text, usages[-1] if usages else None, bool(dones), errors[-1] if errors else None, dones[-1].get("finish_reason") if dones else None
    )
    return parsed, events


def parse_json(ran: Ran) -> tuple[Parsed, dict]:
    try:
        document = json.loads(ran.stdout)
    except ValueError as bad:
        raise StepFailed(f"-o json stdout is not one JSON document: {ran.out[:160]!r}; stderr: {ran.stderr_tail()}") from bad
    if not isinstance(document, dict):
        raise StepFailed(f"-o json stdout is not an object: {ran.out[:160]!r}")
    usage = document.get("usage")
    return Parsed(
        document.get("content") or "", usage, document.get("done") is True, document.get("error"), document.get("finish_reason")
    ), document


@dataclass
class Streamchat:
    executable: str
    workdir: Path
    token: str | None = None

    def __call__(self, *args: str, timeout: float = 180) -> Ran:
        """Run streamchat; the token travels in the environment, never in argv, and must never come back out."""
        extra = {"STREAMCHAT_TOKEN": self.token} if self.token else {}
        ran = run([self.executable, *args], env=clean_env(self.workdir, extra), timeout=timeout, cwd=self.workdir)
        if self.token and (self.token.encode() in ran.stdout or self.token.encode() in ran.stderr):
            raise StepFailed("the token appears in streamchat's output")
        return ran


@dataclass
class Sdk:
    """The OpenAI SDK, run by a third-party venv's Python."""

    python: Path
    workdir: Path
    token: str | None = None
    answers: dict = field(default_factory=dict)

    def ask(self, api: str, base_url: str, **options: object) -> dict:
        """The SDK's view of one request; asked once per distinct request (the servers here are deterministic)."""
        key = (api, base_url, tuple(sorted(options.items())))
        if key not in self.answers:
            self.answers[key] = self.ask_now(api, base_url, **options)
        return self.answers[key]

    def ask_now(self, api: str, base_url: str, **options: object) -> dict:
        argv = [str(self.python), str(SDK_SCRIPT), api, "--base-url", base_url]
        for name, value in options.items():
            if value is not None:
                argv += [f"--{name.replace('_', '-')}", str(value)]
        ran = run(argv, env=clean_env(self.workdir, {"INTEROP_API_KEY": self.token or "none"}), timeout=240)
        if ran.returncode != 0:
            raise StepSkipped(f"the OpenAI SDK reference run failed (status {ran.returncode}): {ran.stderr_tail()}")
        result = json.loads(ran.stdout)
        if "sdk_error" in result:
            raise StepSkipped(f"the OpenAI SDK itself got an error, so there is nothing to compare with: {result['sdk_error'][:200]}")
        return result


def require_exit(ran: Ran, expected: int, what: str) -> None:
    if ran.returncode != expected:
        raise StepFailed(f"{what}: exit status {ran.returncode}, expected {expected}; stderr: {ran.stderr_tail()}")


def first_difference(a: str, b: str) -> str:
    index = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    return f"first difference at character {index}: streamchat {a[index : index + 20]!r} vs SDK {b[index : index + 20]!r} (lengths {len(a)} vs {len(b)})"


def compare(got: Parsed, sdk: dict, what: str) -> str:
    """streamchat's text and usage must be the SDK's exactly; the reason says what matched."""
    if got.text != sdk["text"]:
        raise StepFailed(
            f"{what}: text differs from the SDK's: {first_difference(got.text, sdk['text'])}; streamchat's done line: {got.done}"
        )
    if sdk.get("usage") is not None and got.usage_core() != sdk["usage"]:
        raise StepFailed(f"{what}: usage {got.usage_core()} differs from the SDK's {sdk['usage']}")
    if sdk.get("usage") is None and got.usage is not None:
        raise StepFailed(f"{what}: streamchat reports usage {got.usage_core()} but the SDK saw none")
    usage = (
        "no usage on either side" if sdk.get("usage") is None else f"usage {sdk['usage']['input_tokens']}→{sdk['usage']['output_tokens']}"
    )
    return f"{len(got.text)} characters identical to the SDK's, {usage}"


def visible_controls(text: str) -> str:
    """``3 U+FFFD, 5 C0/C1 controls (NUL, SOH, ...)``: the hard characters a reply carried, so a PASS says
    what fidelity it proved."""
    controls = sorted({ord(ch) for ch in text if unicodedata.category(ch) == "Cc" and ch not in "\n"})
    names = ", ".join(CONTROL_NAMES.get(code, f"0x{code:02x}") for code in controls)
    count = sum(1 for ch in text if unicodedata.category(ch) == "Cc" and ch != "\n")
    return f"{text.count(chr(0xFFFD))} U+FFFD, {count} C0/C1 controls ({names or 'none'})"


def require_pipe_text(ran: Ran, text: str) -> str:
    """Into a pipe, text mode writes the server's characters exactly (neutralising is for terminals only):
    stdout must be ``text`` as UTF-8, plus a newline if it has none. Returns what a PASS says."""
    expected = text if text.endswith("\n") else text + "\n"
    if ran.stdout != expected.encode():
        raise StepFailed(f"stdout {ran.stdout[:80]!r}… is not the SDK's text as UTF-8 plus a newline {expected.encode()[:80]!r}…")
    return f"stdout is the SDK's text byte for byte ({visible_controls(expected)})"
