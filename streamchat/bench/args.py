"""The options of ``streamchat bench`` as plain values: what the CLI, the Python API and the worker
processes hand to ``command.run_bench``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class BenchArgs:
    """The options of ``streamchat bench``, as plain values (every one has the command line's default)."""

    url: str | None = None
    dialect: str | None = None
    transport: str = "sse"
    token: str | None = None
    token_file: str | None = None
    auth_scheme: str | None = None
    header: list[str] | None = None
    param: list[str] | None = None
    model: str | None = None  # None: the dialect's default, or the first model the server lists
    get: bool = False  # same as --dialect query
    provider: str | None = None
    system: str | None = None
    system_file: str | None = None
    image: list[str] | None = None
    max_image_size: str = "20MB"
    temperature: float | None = None
    top_p: float | None = None
    frequency_penalty: float | None = None
    presence_penalty: float | None = None
    max_tokens: int | None = None
    requests: int | None = None  # None: 100, or no count when --duration is given
    concurrency: int | None = None
    rate: float | None = None
    arrival: str = "poisson"
    duration: float | None = None
    grace: float = 30.0
    warmup: int = 0
    prompt: list[str] | None = None
    prompts: str | None = None
    prompt_tokens: int | None = None
    output_tokens: int | None = None
    tokenizer: str | None = None
    ignore_stdin: bool = False  # never read prompts from stdin (a `while read` loop's stdin is its list)
    slo: list[str] | None = None
    max_error_rate: float = 0.0
    sweep: int | None = None
    output: str = "text"
    records: str | None = None
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    retries: int = 0  # before the first response byte; 0: a failed request is a measurement
    max_response_size: str = "10MB"  # the same caps as chat: the same bytes, the same verdict
    max_message_size: str = "50MB"
    insecure: bool = False
    cacert: str | None = None
    server_ttft_ms: float = 50.0
    server_itl_ms: float = 10.0
    server_tokens: int = 64
    server_workers: int = 2
    quiet: bool = False
    workers: int = 1
    profile: str | None = None
    ray: str | None = None


__all__ = ["BenchArgs"]
