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
from .metrics import STAT_KEYS, compare, histogram, summarise

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
    concurrency: int | None
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
    workers: int = 1
    profile: str | None = None
    ray: str | None = None


def load_prompts(args: BenchArgs) -> list[Any]:
    from ..inputs import read_file_bytes, stdin_has_data
    from ..protocol.validation import chat_request

    base = {"model_id": args.model, "max_tokens": args.max_tokens}
    texts: list[Any] = list(args.prompt or [])
    if args.prompts:
        for number, line in enumerate(read_file_bytes(args.prompts, "prompts file").decode("utf-8", "replace").split("\n"), 1):
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
        texts = [line for line in sys.stdin.read().split("\n") if line.strip()]
    if not texts:
        texts = ["Tell me about streaming."]
    out = []
    for item in texts:
        fields = {**base, **(item if isinstance(item, dict) else {"message": item})}
        out.append(chat_request({k: v for k, v in fields.items() if v is not None}, f"bad prompt {str(item)[:40]!r}"))
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
    options = {
        "--ttft-ms": args.server_ttft_ms,
        "--itl-ms": args.server_itl_ms,
        "--reply-tokens": args.server_tokens,
        "--workers": args.server_workers,
    }
    with serve_process(options) as base:
        if not args.quiet:
            print(f"streamchat: no --url given; benchmarking the built-in server at {base}", file=sys.stderr)
        yield base + path, {"ttft_ms": args.server_ttft_ms, "itl_ms": args.server_itl_ms}


@contextlib.contextmanager
def serve_process(options: dict[str, object]) -> Iterator[str]:
    """``streamchat serve --port 0`` with these options as a child process; yields its base URL."""
    # -P: the user's working directory stays off sys.path (a stray nt.py or email.py there would
    # shadow a module the server imports).
    cmd = [sys.executable, "-P", "-m", "streamchat", "serve", "--port", "0"]
    for name, value in options.items():
        cmd += [name, str(value)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env={**os.environ})
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        if not line.startswith("listening on "):
            raise UsageError("the built-in server did not start")
        yield line.split()[-1]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def run_bench(args: BenchArgs) -> int:
    from ..cli.resolve import ChatArgs, parse_headers, resolve_token
    from ..dialects import infer
    from ..env import Environment
    from .runner import LoadSpec

    if args.ray is not None:
        from .ray_workers import import_ray

        import_ray()  # no Ray: say so before starting anything
    prompts = load_prompts(args)
    # The token and headers resolve as chat's do: --token-file, STREAMCHAT_TOKEN, the profile's token_command.
    connection = ChatArgs.from_locals({"token_file": args.token_file, "header": args.header, "profile": args.profile})
    token = resolve_token(connection, Environment(), lambda line: print(line, file=sys.stderr))
    headers = dict(parse_headers(connection.header))
    if token:
        headers.setdefault("Authorization", f"Bearer {token}")
    concurrency = args.concurrency if args.concurrency is not None else (None if args.rate else 8)
    record_file = open(args.records, "w", encoding="utf-8") if args.records else None  # noqa: SIM115
    progress = Progress(args.requests, enabled=not args.quiet and sys.stderr.isatty())
    try:
        with target(args) as (url, configured):
            spec = LoadSpec(
                url,
                args.dialect or infer(url).name,
                args.transport,
                args.requests,
                concurrency,
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
                progress.update(record)

            where = None
            if args.ray is not None:
                from .ray_workers import run_on_ray

                records, wall, lag, where = run_on_ray(spec, args.ray, args.workers, on_record)
            else:
                records, wall, lag = asyncio.run(execute(spec, args.workers, on_record))
    finally:
        progress.close()
        if record_file is not None:
            record_file.close()
    summary = summarise(records, wall)
    summary["client_loop_lag_ms"] = _lag(lag)
    summary["workers"] = args.workers
    if where is not None:
        summary["ray"] = where
        summary["workers"] = where["actors"]
    if args.rate:
        summary["target_rate"] = args.rate
        summary["achieved_rate"] = achieved_rate(records)
    if configured is not None:
        summary["self_check"] = {
            key: {"configured": value, "measured_minus_configured": _minus(summary.get(key), value)} for key, value in configured.items()
        }
    if args.output in ("json", "ndjson"):
        sys.stdout.write(json.dumps(summary) + "\n")
    if not args.quiet:
        sys.stderr.write(table(summary, [r["ttft_ms"] for r in records if r.get("ttft_ms") is not None]))
    return 0


def achieved_rate(records: list[dict[str, Any]]) -> float | None:
    """Requests started per second, first start to last (what the arrival schedule achieved)."""
    starts = sorted(r["start_s"] for r in records if r.get("start_s") is not None)
    if len(starts) < 2 or starts[-1] <= starts[0]:
        return None
    return (len(starts) - 1) / (starts[-1] - starts[0])


async def execute(spec: Any, workers: int, on_record: Any) -> tuple[list[dict[str, Any]], float, list[float]]:
    """The load in this process, or split over ``workers`` processes and merged."""
    from .runner import run_load
    from .workers import run_processes, split

    if workers <= 1:
        return await run_load(spec, on_record)
    return await run_processes(split(spec, workers), on_record)


class Progress:
    """A one-line progress bar on stderr (terminals only), redrawn at most ten times a second."""

    WIDTH = 30

    def __init__(self, total: int, enabled: bool) -> None:
        self.total = max(total, 1)
        self.enabled = enabled
        self.done = 0
        self.failed = 0
        self._drawn = 0.0

    def update(self, record: dict[str, Any]) -> None:
        self.done += 1
        self.failed += record.get("status") != "ok"
        if not self.enabled:
            return
        import time

        now = time.monotonic()
        if now - self._drawn < 0.1 and self.done < self.total:
            return
        self._drawn = now
        filled = int(self.WIDTH * min(self.done, self.total) / self.total)
        bar = "#" * filled + "." * (self.WIDTH - filled)
        sys.stderr.write(f"\r\x1b[2K[{bar}] {self.done}/{self.total} requests, {self.failed} failed")
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled and self._drawn:
            sys.stderr.write("\r\x1b[2K")
            sys.stderr.flush()


def _lag(samples: list[float]) -> dict[str, Any]:
    from .metrics import describe

    stats = describe(samples) or {}
    warn = bool(stats) and stats.get("p99", 0.0) > LAG_WARN_MS
    return {**stats, "warning": warn}


def _minus(stats: dict[str, float] | None, configured: float) -> dict[str, float] | None:
    if not stats:
        return None
    return {k: stats[k] - configured for k in ("mean", "p50", "p95", "p99")}


def table(summary: dict[str, Any], ttfts: list[float] | None = None) -> str:
    lines = [
        f"requests: {summary['ok']} ok, {summary['failed']} failed {summary['errors'] or ''}".rstrip(),
        f"throughput: {summary['requests_per_s'] or 0:.2f} req/s, {summary['output_tokens_per_s'] or 0:.1f} output tokens/s over {summary['wall_s']:.2f} s",
    ]
    if summary.get("ray"):
        ray = summary["ray"]
        failed = f", {ray['failed_actors']} failed" if ray["failed_actors"] else ""
        lines.append(f"ray: {ray['actors']} actors on {ray['hosts']} host{'s' if ray['hosts'] != 1 else ''}{failed} ({ray['address']})")
    if summary.get("target_rate"):
        lines.append(f"rate: {summary['achieved_rate'] or 0:.2f} req/s achieved of {summary['target_rate']:g} targeted")
    lines.append(f"{'ms':<16}" + "".join(f"{k:>9}" for k in STAT_KEYS))
    for key in ("ttft_ms", "itl_ms", "tpot_ms", "e2e_ms", "schedule_lag_ms"):
        stats = summary.get(key)
        if stats:
            lines.append(f"{key:<16}" + "".join(f"{stats[k]:>9.1f}" for k in STAT_KEYS))
    if ttfts:
        lines.append("ttft_ms histogram:")
        lines += [f"  {low:>9.1f} – {high:<9.1f} {bar} {count}" for low, high, count, bar in histogram_rows(ttfts)]
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


def histogram_rows(values: list[float], bins: int = 8, width: int = 30) -> list[tuple[float, float, int, str]]:
    counts = histogram(values, bins)
    top = max(count for _, _, count in counts) or 1
    return [(low, high, count, "█" * max(1 if count else 0, round(width * count / top))) for low, high, count in counts]


def compare_files(base_path: str, new_path: str, threshold: float) -> int:
    def load(path: str) -> dict[str, Any]:
        try:
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
        except OSError as exc:
            raise UsageError(f"cannot read {path!r}: {exc.strerror or exc}") from exc
        for line in reversed(text.strip().split("\n")):  # a summary, or ndjson ending with one
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
