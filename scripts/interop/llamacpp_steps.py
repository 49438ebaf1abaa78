"""streamchat against llama.cpp's server (llama-cpp-python), with a tiny random Llama written as GGUF on the spot.

Two servers run on the same model file: the default one, which interrupts a request when another one waits
(it sends the role chunk and `[DONE]`, then closes the connection with the chunked body unfinished), and a serial
one (`--interrupt_requests False`, with an API key) whose waiting requests get their headers and then silence:
what `--read-timeout`, model discovery's timeout, authentication and queueing in `bench` are tested on.

llama.cpp sends no usage (not even when `stream_options.include_usage` asks), no `timings` on this server, and a
chunk a token, many of them `"content": ""`; random weights emit raw C0 controls (NUL included). Greedy decoding
(`temperature` 0) makes replies reproducible, so streamchat is compared with the OpenAI SDK character for character.
"""

from __future__ import annotations

import json
import secrets
import socket
import threading
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
    visible_controls,
)
from envs import python_of
from harness import LOOPBACK, Ran, ServedSuite, Server, Step, StepFailed, free_port, record_exchanges, run
from terminal import run_on_terminal

HERE = Path(__file__).resolve().parent
MESSAGE = "A tiny model"
MAX_TOKENS = 48
GREEDY = ("--temperature", "0")
CONTEXT = 1024  # tokens: a longer prompt is the server's context-window error
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather for a city",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string", "maxLength": 12}, "days": {"type": "integer"}},
                "required": ["city", "days"],
            },
        },
    }
]


class LlamaCppSuite(ServedSuite):
    def __init__(self, venv: Path, streamchat_exe: str, workdir: Path) -> None:
        super().__init__(venv, workdir / "llamacpp")
        self.gguf = self.workdir / "tiny-llama.gguf"
        self.streamchat = Streamchat(streamchat_exe, self.workdir)
        self.sdk = Sdk(python_of(venv), self.workdir)
        self.key = "sk-interop-" + secrets.token_hex(16)
        self.serial_port = free_port()
        self.serial_root = f"http://{LOOPBACK}:{self.serial_port}"
        self.serial: Server | None = None
        self.with_key = Streamchat(streamchat_exe, self.workdir, self.key)

    @property
    def chat_url(self) -> str:
        return f"{self.root}/v1/chat/completions"

    # -- the model and the servers -------------------------------------------------------------------

    def build_model(self) -> str:
        env = clean_env(self.workdir, {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})
        hf_dir = self.workdir / "tiny-llama"
        python = str(python_of(self.venv))
        built = run([python, str(HERE / "tiny_model.py"), str(hf_dir)], env=env, timeout=600)
        if built.returncode != 0:
            raise StepFailed(f"building the tiny model failed: {built.stderr_tail()}")
        converted = run([python, str(HERE / "tiny_gguf.py"), str(hf_dir), str(self.gguf)], env=env, timeout=300)
        if converted.returncode != 0:
            raise StepFailed(f"writing the GGUF failed: {converted.stderr_tail()}")
        return converted.out.strip().splitlines()[-1]

    def server_argv(self, port: int, *extra: str) -> list[str]:
        return [
            str(python_of(self.venv)), "-m", "llama_cpp.server", "--model", str(self.gguf), "--host", LOOPBACK, "--port", str(port),
            "--model_alias", "tiny.gguf", "--n_ctx", str(CONTEXT), "--n_threads", "1", "--verbose", "False", *extra,
        ]  # fmt: skip

    def start(self) -> str:
        return self.launch(
            "llama.cpp server", self.server_argv(self.port), clean_env(self.workdir), "server.log", "/v1/models", timeout=120
        )

    def start_serial(self) -> str:
        argv = self.server_argv(self.serial_port, "--interrupt_requests", "False", "--api_key", self.key)
        self.serial = Server("serial llama.cpp server", argv, clean_env(self.workdir), self.workdir / "serial.log", self.workdir)
        # /v1/models needs the key here: 401 is not ready, so wait for the port and then check the answer.
        seconds = self.serial.wait_ready(self.serial_root + "/docs", timeout=120)
        return f"listening on {self.serial_root} after {seconds:.1f} s, interrupting nothing, requiring an API key"

    def stop(self) -> None:
        super().stop()
        if self.serial is not None:
            self.serial.stop()

    def record_raw_answers(self) -> None:
        body = chat_body("tiny.gguf", MESSAGE, MAX_TOKENS, 0)
        overflow = chat_body("tiny.gguf", "hello there " * CONTEXT)
        requests = {
            "chat-stream": ("/v1/chat/completions", body, {}),
            "chat-answer": ("/v1/chat/completions", body | {"stream": False}, {}),
            "context-overflow-stream": ("/v1/chat/completions", overflow, {}),
            "context-overflow-answer": ("/v1/chat/completions", overflow | {"stream": False}, {}),
            "bad-param": ("/v1/chat/completions", body | {"max_tokens": "abc"}, {}),
        }
        record_exchanges(self.root, requests, self.workdir / "raw")

    # -- the steps -----------------------------------------------------------------------------------------

    def plan(self) -> list[Step]:
        from llamacpp_more import more_steps

        return [
            Step("llamacpp.model", self.build_model, needed_by_rest="the tiny GGUF could not be built"),
            Step("llamacpp.start", self.start, needed_by_rest="the llama.cpp server did not start"),
            Step("llamacpp.chat.ndjson", self.chat_ndjson),
            Step("llamacpp.chat.json", self.chat_json),
            Step("llamacpp.chat.text", self.chat_text),
            Step("llamacpp.chat.terminal", self.chat_terminal),
            Step("llamacpp.url.root", lambda: self.base_url(self.root)),
            Step("llamacpp.url.v1", lambda: self.base_url(f"{self.root}/v1")),
            Step("llamacpp.discovery", self.discovery),
            Step("llamacpp.models.text", self.models_text),
            Step("llamacpp.models.json", self.models_json),
            *more_steps(self),
        ]

    def sdk_chat(self, max_tokens: int = MAX_TOKENS) -> dict:
        return self.sdk.ask("chat", f"{self.root}/v1", model="tiny.gguf", message=MESSAGE, max_tokens=max_tokens, temperature=0)

    def chat(self, *args: str) -> object:
        return self.streamchat("chat", "--url", self.chat_url, "-m", "tiny.gguf", "--max-tokens", str(MAX_TOKENS), *GREEDY, *args, MESSAGE)

    def chat_ndjson(self) -> str:
        ran = self.chat("-o", "ndjson")
        require_exit(ran, 0, "chat -o ndjson")
        parsed, events = parse_ndjson(ran)
        if events[-1] != {"type": "done", "finish_reason": "length"}:
            raise StepFailed(f"the last line is {events[-1]}, not done with finish reason length")
        if any(e.get("type") == "content" and not e.get("text") for e in events):
            raise StepFailed('an empty content line was written (the server sends many "content": "")')
        return f"{compare(parsed, self.sdk_chat(), 'chat -o ndjson')}; {visible_controls(parsed.text)}"

    def chat_json(self) -> str:
        ran = self.chat("-o", "json")
        require_exit(ran, 0, "chat -o json")
        parsed, document = parse_json(ran)
        if not parsed.done or document.get("error") is not None or document.get("finish_reason") != "length":
            raise StepFailed(f"done={document.get('done')!r} error={document.get('error')!r} finish={document.get('finish_reason')!r}")
        if document.get("usage") is not None or document.get("tps") is not None:
            raise StepFailed(f"usage {document.get('usage')} / tps {document.get('tps')} reported, but the server sent neither")
        if not document.get("timing", {}).get("client_tps"):
            raise StepFailed(f"no measured rate in timing: {document.get('timing')}")
        return compare(parsed, self.sdk_chat(), "chat -o json") + f", measured {document['timing']['client_tps']:.0f} tok/s"

    def chat_text(self) -> str:
        ran = self.chat("-o", "text")
        require_exit(ran, 0, "chat -o text")
        verdict = require_pipe_text(ran, self.sdk_chat()["text"])
        if "measured" not in ran.err:
            raise StepFailed(f"the report line does not call its rate measured: {ran.stderr_tail()}")
        return verdict

    def chat_terminal(self) -> str:
        argv = [
            self.streamchat.executable,
            "chat",
            "--url",
            self.chat_url,
            "-m",
            "tiny.gguf",
            "--max-tokens",
            str(MAX_TOKENS),
            *GREEDY,
            MESSAGE,
        ]
        status, shown = run_on_terminal(argv, clean_env(self.workdir))
        if status != 0:
            raise StepFailed(f"exit status {status} on a terminal: {shown[-300:]!r}")
        raw = [hex(ord(ch)) for ch in shown if (ord(ch) < 0x20 and ch not in "\r\n") or 0x7F <= ord(ch) < 0xA0]
        if raw:
            raise StepFailed(f"raw control characters reached the terminal: {sorted(set(raw))}")
        return f"the server's controls ({visible_controls(self.sdk_chat()['text'])}) are shown visibly; only CR LF reached the terminal raw"

    def base_url(self, url: str) -> str:
        ran = self.streamchat("chat", "--url", url, "-m", "tiny.gguf", "--max-tokens", str(MAX_TOKENS), *GREEDY, "-o", "ndjson", MESSAGE)
        require_exit(ran, 0, f"chat --url {url}")
        parsed, _ = parse_ndjson(ran)
        if self.chat_url not in ran.err:
            raise StepFailed(f"stderr does not name {self.chat_url}: {ran.stderr_tail()}")
        return f"sent to {self.chat_url}, said so on stderr; " + compare(parsed, self.sdk_chat(), f"--url {url}")

    def discovery(self) -> str:
        ran = self.streamchat("chat", "--url", self.chat_url, "--max-tokens", str(MAX_TOKENS), *GREEDY, "-o", "ndjson", MESSAGE)
        require_exit(ran, 0, "chat with no -m")
        parsed, _ = parse_ndjson(ran)
        if "tiny.gguf" not in ran.err:
            raise StepFailed(f"stderr does not name the discovered model: {ran.stderr_tail()}")
        quiet = self.streamchat("chat", "--url", self.root, "-q", "--max-tokens", "2", "-o", "ndjson", MESSAGE)
        require_exit(quiet, 0, "chat -q with no -m and a base URL")
        if quiet.err:
            raise StepFailed(f"-q still wrote notices: {quiet.stderr_tail()}")
        return "the model file's name was discovered; " + compare(parsed, self.sdk_chat(), "chat with no -m") + "; -q: nothing on stderr"

    def models_text(self) -> str:
        ran = self.streamchat("models", "--url", self.root)
        require_exit(ran, 0, "models")
        if ran.out.splitlines() != self.sdk.ask("models", f"{self.root}/v1")["ids"]:
            raise StepFailed(f"listed {ran.out.splitlines()}")
        if f"{self.root}/v1/models" not in ran.err:
            raise StepFailed(f"stderr does not say the list came from /v1/models: {ran.stderr_tail()}")
        return "the SDK's list, one id a line; stderr names /v1/models"

    def models_json(self) -> str:
        ran = self.streamchat("models", "--url", self.chat_url, "-o", "json")
        require_exit(ran, 0, "models -o json")
        document = json.loads(ran.stdout)
        if document.get("models") != self.sdk.ask("models", f"{self.root}/v1")["ids"] or not document.get("url", "").endswith("/v1/models"):
            raise StepFailed(f"-o json: {document}")
        return f"from the endpoint URL: {json.dumps(document)}"

    # -- helpers for the steps in llamacpp_more ---------------------------------------------------------

    def occupy_serial(self, tokens: int = 420) -> threading.Thread:
        """Keep the serial server busy with one long greedy request (420 tokens: about 10 s here; greedy, because
        the server's cost per token depends on what it generates), so the next request waits: its 200 head comes at once, then nothing but a
        ping comment every 15 s. The server does not stop when a client hangs up, so the request is read to
        its end: join the thread before the next step."""
        # min_tokens: no early end of sequence; the first chunk may come late (the server holds back bytes that are
        # no UTF-8 yet), so the head is what says the request was taken.
        body = json.dumps(chat_body("tiny.gguf", MESSAGE, tokens, 0) | {"min_tokens": tokens}).encode()
        started = threading.Event()

        def hold() -> None:
            try:
                with socket.create_connection((LOOPBACK, self.serial_port), timeout=300) as conn:
                    conn.sendall(
                        b"POST /v1/chat/completions HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nConnection: close\r\n"
                        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                        % (LOOPBACK.encode(), self.key.encode(), len(body), body)
                    )
                    seen = b""
                    while more := conn.recv(65536):
                        seen += more
                        if b"\r\n\r\n" in seen:  # its head: the model is taken a moment later, before any client starts
                            started.set()
            except OSError:
                pass
            finally:
                started.set()

        thread = threading.Thread(target=hold, daemon=True)
        thread.start()
        started.wait(60)
        return thread

    def while_busy(self, *args: str) -> Ran:
        """Run ``streamchat ARGS`` (with the serial server's key) while the serial server is busy, and make sure it
        still was when streamchat ended; the long request is then read to its end."""
        holder = self.occupy_serial()
        try:
            ran = self.with_key(*args)
            busy = holder.is_alive()
        finally:
            holder.join(300)
        if not busy:
            raise StepFailed(f"the long request ended before streamchat did (exit {ran.returncode}): the server was not kept busy")
        return ran
