"""streamchat against LiteLLM's proxy: every output mode, base URLs, model discovery, models, bench, HTTP errors,
the Anthropic messages endpoint and the Responses API, each compared with the official SDK on the same endpoint.

The proxy runs offline on loopback with mock models (no backend): `mock-text` answers a fixed text, `mock-429` and
`mock-500` answer those statuses. A mock model answers `/v1/messages` with one JSON message even when asked to
stream, and LiteLLM cannot stream the Responses API from a mock at all; `relay-text` routes to `mock-text` through
the same proxy's own chat-completions endpoint, which makes LiteLLM translate a real stream into Anthropic events
and Responses events.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from clients import Sdk, Streamchat, chat_body, clean_env, compare, messages_body, parse_json, parse_ndjson, require_exit, responses_body
from envs import python_of
from harness import LOOPBACK, ServedSuite, Step, StepFailed, record_exchanges

MOCK_TEXT = "Hello from the LiteLLM mock: streaming works."
MESSAGE = "Say hello"


def write_config(path: Path, port: int, master_key: str) -> None:
    """LiteLLM reads YAML, and JSON is YAML: no YAML library is needed to write it."""

    def mock(name: str, response: str) -> dict:
        return {"model_name": name, "litellm_params": {"model": "openai/gpt-4o-mini", "mock_response": response, "api_key": "fake"}}

    relay = {
        "model_name": "relay-text",
        "litellm_params": {"model": "custom_openai/mock-text", "api_base": f"http://{LOOPBACK}:{port}/v1", "api_key": master_key},
    }
    config = {
        # The text model first: model discovery must pick it.
        "model_list": [
            mock("mock-text", MOCK_TEXT),
            mock("mock-429", "litellm.RateLimitError"),
            mock("mock-500", "litellm.InternalServerError"),
            relay,
        ],
        "general_settings": {"master_key": master_key},
    }
    path.write_text(json.dumps(config, indent=2))
    path.chmod(0o600)


class LiteLLMSuite(ServedSuite):
    def __init__(self, venv: Path, streamchat_exe: str, workdir: Path) -> None:
        super().__init__(venv, workdir / "litellm")
        self.key = "sk-interop-" + secrets.token_hex(16)
        self.streamchat = Streamchat(streamchat_exe, self.workdir, self.key)
        self.sdk = Sdk(python_of(venv), self.workdir, self.key)

    # -- the server ----------------------------------------------------------------------------------------

    def start(self) -> str:
        config = self.workdir / "config.yaml"
        write_config(config, self.port, self.key)
        env = clean_env(self.workdir)
        env.update(
            {
                "LITELLM_LOCAL_MODEL_COST_MAP": "True",
                "LITELLM_USE_CHAT_COMPLETIONS_URL_FOR_ANTHROPIC_MESSAGES": "true",
                "LITELLM_TELEMETRY": "False",
            }
        )
        argv = [str(self.venv / "bin" / "litellm"), "--config", str(config), "--host", LOOPBACK, "--port", str(self.port)]
        return self.launch("LiteLLM proxy", argv, env, "proxy.log", "/health/liveliness", timeout=240)

    def record_raw_answers(self) -> None:
        """Keep the bytes the proxy sends for each kind of request, to explain any failure in the report."""
        bearer, anthropic_key = {"Authorization": f"Bearer {self.key}"}, {"x-api-key": self.key}
        requests = {
            "chat-stream": ("/v1/chat/completions", chat_body("mock-text", MESSAGE), bearer),
            "http429": ("/v1/chat/completions", chat_body("mock-429", MESSAGE), bearer),
            "messages-mock": ("/v1/messages", messages_body("mock-text", MESSAGE), anthropic_key),
            "messages-relay": ("/v1/messages", messages_body("relay-text", MESSAGE), anthropic_key),
            "responses-relay": ("/v1/responses", responses_body("relay-text", MESSAGE), bearer),
        }
        record_exchanges(self.root, requests, self.workdir / "raw")

    # -- the steps -----------------------------------------------------------------------------------------

    def plan(self) -> list[Step]:
        root, chat_url = self.root, f"{self.root}/v1/chat/completions"
        return [
            Step("litellm.start", self.start, needed_by_rest="the LiteLLM proxy did not start"),
            Step("litellm.chat.text", self.chat_text),
            Step("litellm.chat.ndjson", lambda: self.chat_compared(["--url", chat_url, "-m", "mock-text"])),
            Step("litellm.chat.json", self.chat_json),
            Step("litellm.url.v1", lambda: self.chat_compared(["--url", f"{root}/v1", "-m", "mock-text"], url_note="/v1/chat/completions")),
            Step("litellm.url.root", lambda: self.chat_compared(["--url", root, "-m", "mock-text"], url_note="/v1/chat/completions")),
            Step("litellm.discovery", self.discovery),
            Step("litellm.models.text", self.models_text),
            Step("litellm.models.json", self.models_json),
            Step("litellm.bench", lambda: self.bench(["--url", chat_url, "-m", "mock-text"])),
            Step(
                "litellm.bench.slo",
                lambda: self.bench(["--url", chat_url, "-m", "mock-text", "--slo", "ttft_p95<=5000", "--max-error-rate", "0"], slo=True),
            ),
            Step("litellm.http429.ndjson", lambda: self.http_error_ndjson(429)),
            Step("litellm.http429.json", lambda: self.http_error_json(429)),
            Step("litellm.http500.ndjson", lambda: self.http_error_ndjson(500)),
            Step("litellm.http500.json", lambda: self.http_error_json(500)),
            Step("litellm.anthropic.json-answer", lambda: self.anthropic("mock-text", "messages-json")),
            Step("litellm.anthropic.stream", lambda: self.anthropic("relay-text", "messages")),
            Step(
                "litellm.bench.anthropic", lambda: self.bench(["--url", f"{root}/v1/messages", "--dialect", "anthropic", "-m", "mock-text"])
            ),
            Step("litellm.responses", lambda: self.responses(["--url", f"{root}/v1/responses"])),
            Step(
                "litellm.responses.base-url",
                lambda: self.responses(["--url", f"{root}/v1", "--dialect", "responses"], url_note="/v1/responses"),
            ),
            Step("litellm.bench.responses", lambda: self.bench(["--url", f"{root}/v1/responses", "-m", "relay-text"], expect_content=True)),
        ]

    def sdk_chat(self, model: str = "mock-text") -> dict:
        return self.sdk.ask("chat", f"{self.root}/v1", model=model, message=MESSAGE)

    def chat_text(self) -> str:
        ran = self.streamchat("chat", "--url", f"{self.root}/v1/chat/completions", "-m", "mock-text", "-o", "text", MESSAGE)
        require_exit(ran, 0, "chat -o text")
        expected = self.sdk_chat()["text"]
        expected += "" if expected.endswith("\n") else "\n"
        if ran.out != expected:
            raise StepFailed(f"stdout {ran.out!r} is not the SDK's text plus a final newline {expected!r}")
        return f"stdout is the SDK's {len(expected) - 1} characters plus a newline"

    def chat_compared(self, url_args: list[str], url_note: str | None = None) -> str:
        ran = self.streamchat("chat", *url_args, "-o", "ndjson", MESSAGE)
        require_exit(ran, 0, "chat -o ndjson")
        parsed, events = parse_ndjson(ran)
        if not parsed.done or events[-1].get("type") != "done":
            raise StepFailed(f"the last line is {events[-1] if events else 'missing'}, not done")
        verdict = compare(parsed, self.sdk_chat(), "chat -o ndjson")
        if url_note and url_note not in ran.err:
            raise StepFailed(f"the reply matched, but stderr does not say which URL was used ({url_note}): {ran.stderr_tail()}")
        return verdict

    def chat_json(self) -> str:
        ran = self.streamchat("chat", "--url", f"{self.root}/v1/chat/completions", "-m", "mock-text", "-o", "json", MESSAGE)
        require_exit(ran, 0, "chat -o json")
        parsed, document = parse_json(ran)
        if not parsed.done or document.get("error") is not None:
            raise StepFailed(f"done={document.get('done')!r} error={document.get('error')!r} for a completed reply")
        return compare(parsed, self.sdk_chat(), "chat -o json")

    def discovery(self) -> str:
        first = self.sdk.ask("models", f"{self.root}/v1")["ids"][0]
        # The full endpoint URL, so this step tests discovery alone (the base-URL forms have their own steps).
        ran = self.streamchat("chat", "--url", f"{self.root}/v1/chat/completions", "-o", "ndjson", MESSAGE)
        require_exit(ran, 0, "chat with no -m")
        parsed, _ = parse_ndjson(ran)
        verdict = compare(parsed, self.sdk_chat(first), "chat with no -m")
        if first not in ran.err:
            raise StepFailed(f"the reply matched, but stderr does not name the discovered model {first!r}: {ran.stderr_tail()}")
        return f"used the first listed model {first!r}; {verdict}"

    def models_text(self) -> str:
        ids = self.sdk.ask("models", f"{self.root}/v1")["ids"]
        ran = self.streamchat("models", "--url", self.root)
        require_exit(ran, 0, "models")
        if ran.out.splitlines() != ids:
            raise StepFailed(f"listed {ran.out.splitlines()}, the SDK lists {ids}")
        return f"the SDK's {len(ids)} ids, one a line"

    def models_json(self) -> str:
        ids = self.sdk.ask("models", f"{self.root}/v1")["ids"]
        ran = self.streamchat("models", "--url", f"{self.root}/v1", "-o", "json")
        require_exit(ran, 0, "models -o json")
        document = json.loads(ran.stdout)
        listed = document.get("models") if isinstance(document, dict) else document
        got = [m if isinstance(m, str) else m.get("id") for m in listed or []]
        if got != ids:
            raise StepFailed(f"-o json lists {got}, the SDK lists {ids}")
        return f"the SDK's {len(ids)} ids"

    def bench(self, args: list[str], slo: bool = False, expect_content: bool = False) -> str:
        ran = self.streamchat("bench", *args, "--requests", "8", "--concurrency", "4", "-o", "json", "-q", timeout=300)
        require_exit(ran, 0, "bench")
        summary = json.loads(ran.stdout)
        if summary.get("ok") != 8 or summary.get("failed"):
            raise StepFailed(f"{summary.get('ok')} ok, {summary.get('failed')} failed {summary.get('errors')}; expected 8 ok")
        ttft = summary.get("ttft_ms") or {}
        if expect_content and not ttft.get("p95"):
            # A request that ends cleanly without one content event has no TTFT: it "succeeded" on nothing.
            raise StepFailed(f"8 ok but no TTFT was measured (no content event decoded): ttft_ms={ttft}")
        verdict = f"8 ok, TTFT p95 {ttft.get('p95') or 0:.1f} ms"
        if slo:
            checks = summary.get("checks")
            if not checks or not all(check.get("ok") for check in checks):
                raise StepFailed(f"exit 0 but the checks are {checks!r}")
            verdict += f", checks {[(c['name'], c['ok']) for c in checks]}"
        return verdict

    def http_error_ndjson(self, status: int) -> str:
        ran = self.streamchat(
            "chat", "--url", f"{self.root}/v1/chat/completions", "-m", f"mock-{status}", "--retries", "1", "-o", "ndjson", MESSAGE
        )
        require_exit(ran, 6, f"HTTP {status}")
        if not ran.stdout.strip():
            raise StepFailed(f"exit 6 as expected, but -o ndjson wrote nothing (no error line); stderr: {ran.stderr_tail()}")
        _, events = parse_ndjson(ran)
        last = events[-1]
        if last.get("type") != "error" or last.get("code") != f"http_{status}" or last.get("status") != status:
            raise StepFailed(f"the last line is {last}, expected an error with code http_{status} and status {status}")
        return f"exit 6, last line {json.dumps(last)[:160]}"

    def http_error_json(self, status: int) -> str:
        ran = self.streamchat(
            "chat", "--url", f"{self.root}/v1/chat/completions", "-m", f"mock-{status}", "--retries", "1", "-o", "json", MESSAGE
        )
        require_exit(ran, 6, f"HTTP {status}")
        _, document = parse_json(ran)
        error = document.get("error")
        if not isinstance(error, dict) or document.get("done") is not False:
            raise StepFailed(f"-o json has error={error!r}, done={document.get('done')!r}; expected an error object and done false")
        if error.get("code") != f"http_{status}":
            raise StepFailed(f"the error's code is {error.get('code')!r}, expected 'http_{status}'")
        return f"exit 6, error {json.dumps(error)[:160]}"

    def anthropic(self, model: str, api: str) -> str:
        reference = self.sdk.ask(api, self.root, model=model, message=MESSAGE)
        ran = self.streamchat("chat", "--url", f"{self.root}/v1/messages", "-m", model, "-o", "ndjson", MESSAGE)
        require_exit(ran, 0, "chat on /v1/messages")
        parsed, _ = parse_ndjson(ran)
        if not parsed.done:
            raise StepFailed("no done line")
        shape = "one application/json message" if api == "messages-json" else "an Anthropic event stream"
        return f"{shape}: " + compare(parsed, reference, "anthropic dialect").replace("SDK", "Anthropic SDK")

    def responses(self, url_args: list[str], url_note: str | None = None) -> str:
        # relay-text: a mock model's Responses stream fails inside LiteLLM itself ("Error processing stream start").
        reference = self.sdk.ask("responses", f"{self.root}/v1", model="relay-text", message=MESSAGE)
        ran = self.streamchat("chat", *url_args, "-m", "relay-text", "-o", "ndjson", MESSAGE)
        require_exit(ran, 0, "chat on /v1/responses")
        parsed, _ = parse_ndjson(ran)
        verdict = compare(parsed, reference, "responses dialect")
        if url_note and url_note not in ran.err:
            raise StepFailed(f"the reply matched, but stderr does not say which URL was used ({url_note}): {ran.stderr_tail()}")
        return verdict
