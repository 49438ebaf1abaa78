"""streamchat against Hugging Face `transformers serve`, with a tiny random model built on the spot.

What this server sends is worth testing: on `/v1/chat/completions` a first chunk holding only the role, the
finish reason and usage in one last chunk, and no `data: [DONE]` (the stream just closes); its Responses stream
has `data:` lines carrying `"type"` and no `event:` lines. Random weights emit U+FFFD and raw C0 controls, and
streamchat's text must equal the SDK's exactly, character for character.
"""

from __future__ import annotations

from pathlib import Path

from clients import (
    Sdk,
    Streamchat,
    chat_body,
    clean_env,
    compare,
    parse_json,
    parse_ndjson,
    require_exit,
    require_pipe_text,
    responses_body,
    visible_controls,
)
from envs import python_of
from harness import LOOPBACK, ServedSuite, Step, StepFailed, record_exchanges, run

TINY_MODEL_SCRIPT = Path(__file__).resolve().parent / "tiny_model.py"
MESSAGE = "Hello there"
MAX_TOKENS = 48
OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1"}


class HFServeSuite(ServedSuite):
    def __init__(self, venv: Path, streamchat_exe: str, workdir: Path) -> None:
        super().__init__(venv, workdir / "hfserve")
        self.model_dir = self.workdir / "tiny-llama"
        self.streamchat = Streamchat(streamchat_exe, self.workdir)
        self.sdk = Sdk(python_of(venv), self.workdir)

    @property
    def model(self) -> str:
        # A server started on a directory is pinned to it and answers only to that exact name.
        return str(self.model_dir)

    def build_model(self) -> str:
        built = run(
            [str(python_of(self.venv)), str(TINY_MODEL_SCRIPT), str(self.model_dir)], env=clean_env(self.workdir, OFFLINE), timeout=600
        )
        if built.returncode != 0:
            raise StepFailed(f"building the tiny model failed: {built.stderr_tail()}")
        return built.out.strip().splitlines()[-1]

    def start(self) -> str:
        argv = [
            str(self.venv / "bin" / "transformers"),
            "serve",
            self.model,
            "--host",
            LOOPBACK,
            "--port",
            str(self.port),
            "--device",
            "cpu",
        ]
        return self.launch("transformers serve", argv, clean_env(self.workdir, OFFLINE), "serve.log", "/health", timeout=300)

    def record_raw_answers(self) -> None:
        requests = {
            "chat-stream": ("/v1/chat/completions", chat_body(self.model, MESSAGE, MAX_TOKENS), {}),
            "responses-stream": ("/v1/responses", responses_body(self.model, MESSAGE, MAX_TOKENS), {}),
        }
        record_exchanges(self.root, requests, self.workdir / "raw")

    def plan(self) -> list[Step]:
        return [
            Step("hf.model", self.build_model, needed_by_rest="the tiny model could not be built"),
            Step("hf.start", self.start, needed_by_rest="transformers serve did not start"),
            Step("hf.chat.ndjson", self.chat_ndjson),
            Step("hf.chat.json", self.chat_json),
            Step("hf.chat.text", self.chat_text),
            Step("hf.discovery", self.discovery),
            Step("hf.models", self.models),
            Step("hf.responses", self.responses),
        ]

    def sdk_chat(self) -> dict:
        return self.sdk.ask("chat", f"{self.root}/v1", model=self.model, message=MESSAGE, max_tokens=MAX_TOKENS)

    def chat(self, *args: str) -> object:
        return self.streamchat(
            "chat", "--url", f"{self.root}/v1/chat/completions", "-m", self.model, "--max-tokens", str(MAX_TOKENS), *args, MESSAGE
        )

    def chat_ndjson(self) -> str:
        ran = self.chat("-o", "ndjson")
        require_exit(ran, 0, "chat -o ndjson (a stream that closes after finish_reason, no [DONE])")
        parsed, events = parse_ndjson(ran)
        if events[-1].get("type") != "done":
            raise StepFailed(f"the last line is {events[-1]}, not done")
        reference = self.sdk_chat()
        ending = (
            "ended by [DONE]"
            if b"data: [DONE]" in (self.workdir / "raw" / "chat-stream.http").read_bytes()
            else "the server sent no [DONE]"
        )
        return f"{compare(parsed, reference, 'chat -o ndjson')}; {ending}; the text holds {visible_controls(reference['text'])}"

    def chat_json(self) -> str:
        ran = self.chat("-o", "json")
        require_exit(ran, 0, "chat -o json")
        parsed, document = parse_json(ran)
        if not parsed.done or document.get("error") is not None or document.get("finish_reason") != self.sdk_chat()["finish_reason"]:
            raise StepFailed(
                f"done={document.get('done')!r} error={document.get('error')!r} finish_reason={document.get('finish_reason')!r}"
            )
        return compare(parsed, self.sdk_chat(), "chat -o json")

    def chat_text(self) -> str:
        """Into a pipe, text mode writes the server's characters exactly (neutralising is for terminals only)."""
        ran = self.chat("-o", "text")
        require_exit(ran, 0, "chat -o text")
        return require_pipe_text(ran, self.sdk_chat()["text"])

    def discovery(self) -> str:
        # The full endpoint URL, so this step tests discovery alone, not the base-URL forms.
        ran = self.streamchat("chat", "--url", f"{self.root}/v1/chat/completions", "--max-tokens", str(MAX_TOKENS), "-o", "ndjson", MESSAGE)
        require_exit(ran, 0, "chat with no -m")
        parsed, _ = parse_ndjson(ran)
        verdict = compare(parsed, self.sdk_chat(), "chat with no -m")
        if self.model not in ran.err:
            raise StepFailed(f"the reply matched, but stderr does not name the discovered model: {ran.stderr_tail()}")
        return f"the pinned model was discovered; {verdict}"

    def models(self) -> str:
        ran = self.streamchat("models", "--url", self.root)
        require_exit(ran, 0, "models")
        if ran.out.splitlines() != [self.model]:
            raise StepFailed(f"listed {ran.out.splitlines()}, expected the pinned model alone")
        return "the pinned model, alone"

    def responses(self) -> str:
        reference = self.sdk.ask("responses", f"{self.root}/v1", model=self.model, message=MESSAGE, max_tokens=MAX_TOKENS)
        ran = self.streamchat(
            "chat", "--url", f"{self.root}/v1/responses", "-m", self.model, "--max-tokens", str(MAX_TOKENS), "-o", "ndjson", MESSAGE
        )
        require_exit(ran, 0, "chat on /v1/responses")
        parsed, _ = parse_ndjson(ran)
        return f"{compare(parsed, reference, 'responses dialect')}; the text holds {visible_controls(reference['text'])}"
