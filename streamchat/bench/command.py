"""What ``streamchat bench`` does, callable without Typer: load, records, summary, self-check."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..errors import CheckFailedError, UsageError
from .metrics import STAT_KEYS, compare, summarise

LAG_WARN_MS = 5.0


@dataclass
class BenchArgs:
    url: str | None
    dialect: str | None
    transport: str
    token_file: str | None
    header: list[str] | None
    model: str
    max_tokens: int | None
    requests: int
    concurrency: int
    rate: float | None
    arrival: str
    duration: float | None
    warmup: int
    prompt: list[str] | None
    prompts: str | None
    output: str
    records: str | None
    read_timeout: float
    server_ttft_ms: float
    server_itl_ms: float
    server_tokens: int
    server_workers: int
    quiet: bool


def load_prompts(args: BenchArgs) -> list[Any]:
    from ..inputs import read_file_bytes, stdin_has_data
    from ..protocol.requests import ChatRequest

    base = {"model_id": args.model, "max_tokens": args.max_tokens}
    texts: list[Any] = list(args.prompt or [])
    if args.prompts:
        for number, line in enumerate(read_file_bytes(args.prompts, "prompts file").decode("utf-8", "replace").splitlines(), 1):
            if not line.strip():
                continue
            if line.lstrip().startswith("{"):
                try:
                    obj = json.loads(line)
                except ValueError as exc:
                    raise UsageError(f"{args.prompts}:{number}: invalid JSON: {exc}") from None
                obj.pop("type", None)
                texts.append(obj)
            else:
                texts.append(line)
    if not texts and stdin_has_data(getattr(sys.stdin, "buffer", None)):
        texts = [line for line in sys.stdin.read().splitlines() if line.strip()]
    if not texts:
        texts = ["Tell me about streaming."]
    out = []
    for item in texts:
        fields = {**base, **(item if isinstance(item, dict) else {"message": item})}
        try:
            out.append(ChatRequest.model_validate({k: v for k, v in fields.items() if v is not None}))
        except Exception as exc:  # pydantic's ValidationError
            raise UsageError(f"bad prompt {str(item)[:40]!r}: {exc}") from None
    return out


@contextlib.contextmanager
def target(args: BenchArgs) -> Iterator[tuple[str, dict[str, float] | None]]:
    """The URL to load, and the configured timing when it is the built-in server (self-check).

    The built-in server runs as its own process, so it never competes with the bench's event loop.
    """
    if args.url is not None:
        yield args.url, None
        return
    path = "/api/chat/ws" if args.transport == "ws" else "/api/chat/stream"
    cmd = [
        sys.executable,
        "-m",
        "streamchat",
        "serve",
        "--port",
        "0",
        "--ttft-ms",
        str(args.server_ttft_ms),
        "--itl-ms",
        str(args.server_itl_ms),
        "--reply-tokens",
        str(args.server_tokens),
        "--workers",
        str(args.server_workers),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env={**os.environ})
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        if not line.startswith("listening on "):
            raise UsageError("the built-in server did not start")
        base = line.split()[-1]
        if not args.quiet:
            print(f"streamchat: no --url given; benchmarking the built-in server at {base}", file=sys.stderr)
        yield base + path, {"ttft_ms": args.server_ttft_ms, "itl_ms": args.server_itl_ms}
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def run_bench(args: BenchArgs) -> int:
    from ..cli.resolve import parse_headers
    from ..inputs import load_token_file
    from ..protocol.requests import infer_dialect
    from .runner import LoadSpec, run_load

    prompts = load_prompts(args)
    headers = dict(parse_headers(args.header or []))
    token = load_token_file(args.token_file) if args.token_file else os.environ.get("STREAMCHAT_TOKEN")
    if token:
        headers.setdefault("Authorization", f"Bearer {token}")
    record_file = open(args.records, "w", encoding="utf-8") if args.records else None  # noqa: SIM115
    try:
        with target(args) as (url, configured):
            dialect = args.dialect or infer_dialect(url)
            spec = LoadSpec(
                url,
                dialect,
                args.transport,
                args.requests,
                args.concurrency,
                args.rate,
                args.arrival,
                args.duration,
                args.warmup,
                prompts,
                headers,
                args.read_timeout,
            )

            def on_record(record: dict[str, Any]) -> None:
                line = json.dumps(record)
                if record_file is not None:
                    record_file.write(line + "\n")
                if args.output == "ndjson":
                    sys.stdout.write(line + "\n")
                    sys.stdout.flush()

            records, wall, lag = asyncio.run(run_load(spec, on_record))
    finally:
        if record_file is not None:
            record_file.close()
    summary = summarise(records, wall)
    summary["client_loop_lag_ms"] = _lag(lag)
    if args.rate:
        summary["target_rate"] = args.rate
        summary["achieved_rate"] = len(records) / wall if wall > 0 else None
    if configured is not None:
        summary["self_check"] = {
            key: {"configured": value, "measured_minus_configured": _minus(summary.get(key), value)} for key, value in configured.items()
        }
    if args.output in ("json", "ndjson"):
        sys.stdout.write(json.dumps(summary) + "\n")
    if not args.quiet:
        sys.stderr.write(table(summary))
    return 0


def _lag(samples: list[float]) -> dict[str, Any]:
    from .metrics import describe

    stats = describe(samples) or {}
    warn = bool(stats) and stats.get("p99", 0.0) > LAG_WARN_MS
    return {**stats, "warning": warn}


def _minus(stats: dict[str, float] | None, configured: float) -> dict[str, float] | None:
    if not stats:
        return None
    return {k: stats[k] - configured for k in ("mean", "p50", "p95", "p99")}


def table(summary: dict[str, Any]) -> str:
    lines = [
        f"requests: {summary['ok']} ok, {summary['failed']} failed {summary['errors'] or ''}".rstrip(),
        f"throughput: {summary['requests_per_s'] or 0:.2f} req/s, {summary['output_tokens_per_s'] or 0:.1f} output tokens/s over {summary['wall_s']:.2f} s",
        f"{'ms':<16}" + "".join(f"{k:>9}" for k in STAT_KEYS),
    ]
    for key in ("ttft_ms", "itl_ms", "tpot_ms", "e2e_ms", "schedule_lag_ms"):
        stats = summary.get(key)
        if stats:
            lines.append(f"{key:<16}" + "".join(f"{stats[k]:>9.1f}" for k in STAT_KEYS))
    lag = summary.get("client_loop_lag_ms") or {}
    if lag.get("warning"):
        lines.append(f"warning: the client's event loop lagged (p99 {lag['p99']:.1f} ms): latencies include client overhead")
    check = summary.get("self_check")
    if check:
        for key, value in check.items():
            diff = value["measured_minus_configured"]
            if diff:
                lines.append(f"self-check {key}: measured − configured = mean {diff['mean']:+.1f} ms, p95 {diff['p95']:+.1f} ms")
    return "".join("streamchat: " + line + "\n" for line in lines)


def compare_files(base_path: str, new_path: str, threshold: float) -> int:
    def load(path: str) -> dict[str, Any]:
        try:
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
        except OSError as exc:
            raise UsageError(f"cannot read {path!r}: {exc.strerror or exc}") from exc
        for line in reversed(text.strip().splitlines()):  # a summary, or ndjson ending with one
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict) and "requests" in value and "ok" in value:
                return value
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        if not isinstance(value, dict) or "ok" not in value:
            raise UsageError(f"{path}: not a bench summary (bench -o json)")
        return value

    regressions = compare(load(base_path), load(new_path), threshold)
    if regressions:
        raise CheckFailedError("regression: " + "; ".join(regressions))
    print(f"streamchat: no regression beyond {threshold:g} %", file=sys.stderr)
    return 0
