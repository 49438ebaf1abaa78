"""What ``streamchat bench`` does, callable without Typer: load, records, summary, checks, self-check."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from ..errors import CheckFailedError, InterruptedError_, UsageError
from .args import BenchArgs
from .checks import Slo, evaluate, failure, goodput, parse_slo
from .interrupt import Interrupted, sigterm_cancels_the_load
from .metrics import describe, summarise
from .present import Progress, table

LAG_WARN_MS = 5.0
DEFAULT_REQUESTS = 100


@dataclass
class Setup:
    """Everything checked before the first request: what to send, with which headers, judged how."""

    args: BenchArgs
    dialect: str
    prompts: list[Any]
    headers: dict[str, str]
    slos: list[Slo] = field(default_factory=list)
    token: str | None = None
    discover: bool = False  # no model configured, and the dialect has none: ask the server (once)
    caps: tuple[int, int] = (10 * 1024 * 1024, 50 * 1024 * 1024)  # --max-response-size, --max-message-size in bytes

    def spec(self, url: str, **changes: Any) -> Any:
        from .runner import LoadSpec

        args = self.args
        if self.discover:
            self.discover = False
            self.prompts = with_model(self.prompts, self.server_model(url))
        requests = args.requests if args.requests is not None else (None if args.duration else DEFAULT_REQUESTS)
        spec = LoadSpec(
            url,
            dialect=self.dialect,
            transport=args.transport,
            requests=requests,
            concurrency=args.concurrency if args.concurrency is not None else (None if args.rate else 8),
            rate=args.rate,
            arrival=args.arrival,
            duration=args.duration,
            grace=args.grace,
            warmup=args.warmup,
            prompts=self.prompts,
            headers=self.headers,
            read_timeout=args.read_timeout,
            connect_timeout=args.connect_timeout,
            retries=args.retries,
            max_response_size=self.caps[0],
            max_message_size=self.caps[1],
            insecure=args.insecure,
            cacert=args.cacert,
        )
        return replace(spec, **changes)

    def server_model(self, url: str) -> str:
        """Model discovery, as chat does it: the first model the server lists (docs/protocols.md#model-discovery)."""
        from ..client.http import HTTPOptions
        from ..session.settings import ChatArgs, choose_model

        args = self.args
        opts = HTTPOptions(
            connect_timeout=args.connect_timeout,
            read_timeout=args.read_timeout,
            insecure=args.insecure,
            cacert=args.cacert,
            headers=self.headers,
        )
        notice = (lambda line: None) if args.quiet else (lambda line: print(line, file=sys.stderr))
        return choose_model(ChatArgs(), url, self.dialect, opts, notice)


def with_model(prompts: list[Any], model: str) -> list[Any]:
    """The prompts that asked for no model in particular, now asking for ``model``."""
    from ..dialects import DEFAULT_MODEL

    return [replace(prompt, model_id=model) if prompt.model_id == DEFAULT_MODEL else prompt for prompt in prompts]


def prepare(args: BenchArgs) -> Setup:
    """Options into a Setup; every usage error (exit 2) is raised here, before anything is sent."""
    from ..dialects import DEFAULT_MODEL, infer
    from ..dialects import get as dialect_named
    from ..env import Environment
    from ..session.credentials import check_url, parse_headers, profile_connection, resolve_token
    from ..session.http import ChatTarget
    from ..session.inputs import check_finite, parse_size
    from ..session.params import parse_params
    from .prompts import build_prompts, request_fields, stdin_options, user_prompts

    check_finite(args)
    env = Environment()
    caps = (parse_size(args.max_response_size, "--max-response-size"), parse_size(args.max_message_size, "--max-message-size"))
    if args.url is not None:
        check_url(args.url, ("http", "https", "ws", "wss") if args.transport == "ws" else ("http", "https"))
        if args.transport == "sse":
            from ..dialects import complete_base_url

            full = complete_base_url(args.url, "query" if args.get else args.dialect)  # a base URL: the dialect's endpoint, as chat does
            if full is not None:
                if not args.quiet:
                    print(f"streamchat: {args.url} is a base URL; sending to {full}", file=sys.stderr)
                args.url = full
    if args.sweep is not None and args.rate is not None:
        raise UsageError("--sweep chooses the rates itself: leave --rate out")
    if args.cacert is not None:
        from ..client.tls import client_context

        if not os.path.isfile(args.cacert):
            raise UsageError(f"--cacert {args.cacert!r} is not a file")
        client_context(args.insecure, args.cacert)  # a file that is no CA bundle: exit 2 now, not a failed request each
    slos = [parse_slo(text) for text in args.slo or []]
    if args.get and args.dialect not in (None, "query"):
        raise UsageError(f"--get means --dialect query, not {args.dialect}")
    dialect = "query" if args.get else args.dialect or (infer(args.url).name if args.url else "streamchat")
    stdin_taken = bool(stdin_options(args))
    profile = profile_connection(args.profile)
    token = resolve_token(
        env,
        lambda line: None if args.quiet else print(line, file=sys.stderr),
        token=args.token,
        token_file=args.token_file,
        token_command=profile.token_command,
        token_command_source=profile.token_command_source,
    )
    headers = parse_headers(profile.headers + list(args.header or []))
    scheme = args.auth_scheme or dialect_named(dialect).auth_scheme
    auth = ChatTarget(args.url or "", dialect, token, scheme, headers).request_headers()
    request = request_fields(args, env.stdin)
    prompts = build_prompts(
        items=user_prompts(
            list(args.prompt or []), args.prompts, None if args.ignore_stdin or args.prompt_tokens or stdin_taken else env.stdin
        ),
        model=args.model or DEFAULT_MODEL,
        max_tokens=args.max_tokens,
        dialect=dialect,
        params={**profile.params, **parse_params(list(args.param or []), env)},  # -p wins over the profile's params
        prompt_tokens=args.prompt_tokens,
        output_tokens=args.output_tokens,
        tokenizer=args.tokenizer,
        request=request,
        provider=args.provider,
    )
    discover = args.model is None and dialect_named(dialect).default_model is None and args.url is not None
    return Setup(args, dialect, prompts, auth, slos, token, discover, caps)


@contextlib.contextmanager
def target(args: BenchArgs) -> Iterator[tuple[str, dict[str, float] | None]]:
    """The URL to load, and the configured timing when it is the built-in server (self-check).

    The built-in server runs as its own process, so it never competes with the bench's event loop.
    """
    if args.url is not None:
        yield args.url, None
        return
    path = {"ws": "/api/chat/ws", "socketio": ""}.get(args.transport, "/api/chat/stream")
    options = {
        "--ttft-ms": args.server_ttft_ms,
        "--itl-ms": args.server_itl_ms,
        "--reply-tokens": max(args.server_tokens, args.output_tokens or 0),  # --output-tokens M: replies as long as asked
        "--workers": args.server_workers,
    }
    with serve_process(options) as base:
        if not args.quiet:
            from ..session.settings import DEMO_NOTICE  # the same words chat, ws-chat and camera print

            print(DEMO_NOTICE.format(url=base), file=sys.stderr)
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


class RecordSink:
    """Where each finished request's record goes: ``--records``, ``-o ndjson``, the progress bar."""

    def __init__(self, args: BenchArgs, secret: str | None = None) -> None:
        self.args = args
        self.secret = secret  # the token: never written, even when a server quotes it in an error
        self.tag: dict[str, Any] = {}
        self.file = None
        if args.records:
            try:
                self.file = open(args.records, "w", encoding="utf-8")  # noqa: SIM115 - closed in close()
            except OSError as exc:
                raise UsageError(f"cannot write --records {args.records!r}: {exc.strerror or exc}") from exc
        self.progress = Progress(None, False)
        self.seen: list[dict[str, Any]] = []  # this stage's records: what an interrupted run still reports

    def stage(self, spec: Any, label: str = "", tag: dict[str, Any] | None = None) -> None:
        """A new load begins: its progress bar, and fields every record of it carries (a sweep's stage)."""
        self.tag = tag or {}
        self.seen = []
        self.progress.close()
        enabled = not self.args.quiet and sys.stderr.isatty()
        self.progress = Progress(spec.requests, enabled, spec.duration, label)

    def __call__(self, record: dict[str, Any]) -> None:
        record.update(self.tag)  # (the same object the run keeps: -o json shows what --records has)
        if self.secret and self.secret in record.get("error", ""):
            record["error"] = record["error"].replace(self.secret, "<redacted>")
        self.seen.append(record)
        line = json.dumps(record)
        if self.file is not None:
            self.file.write(line + "\n")
        if self.args.output == "ndjson":
            sys.stdout.write(line + "\n")
            sys.stdout.flush()
        self.progress.update(record)

    def close(self) -> None:
        self.progress.close()
        if self.file is not None:
            self.file.close()


@dataclass
class Measured:
    records: list[dict[str, Any]]
    wall: float
    lag: list[float]
    where: dict[str, Any] | None = None  # Ray's actors and hosts


def measure(spec: Any, args: BenchArgs, sink: RecordSink, label: str = "", tag: dict[str, Any] | None = None) -> Measured:
    """One load, in this process, in ``--workers`` processes, or on Ray actors."""
    sink.stage(spec, label, tag)
    try:
        if args.ray is not None:
            from .ray_workers import run_on_ray

            records, wall, lag, where = run_on_ray(spec, args.ray, args.workers, sink)
            return Measured(records, wall, lag, where)
        records, wall, lag = asyncio.run(execute(spec, args.workers, sink))
        return Measured(records, wall, lag)
    except (KeyboardInterrupt, asyncio.CancelledError):  # Ctrl-C, or SIGTERM's cancellation (interrupt.py)
        raise Interrupted(sink.seen) from None
    finally:
        sink.progress.close()


def build_summary(run: Measured, setup: Setup, spec: Any, configured: dict[str, float] | None = None) -> dict[str, Any]:
    """The summary of one load: statistics, goodput, tokens asked for and received, checks."""
    args = setup.args
    summary = summarise(run.records, run.wall)
    summary["goodput"] = goodput(run.records, setup.slos, run.wall)
    if setup.slos:
        summary["slos"] = [slo.name for slo in setup.slos]
    summary["client_loop_lag_ms"] = _lag(run.lag)
    summary["workers"] = args.workers
    if run.where is not None:
        summary["ray"] = run.where
        summary["workers"] = run.where["actors"]
    if spec.rate:
        summary["target_rate"] = spec.rate
        summary["achieved_rate"] = achieved_rate(run.records)
    if args.prompt_tokens is not None or args.output_tokens is not None:
        ok = [r for r in run.records if r.get("status") == "ok"]
        summary["requested_tokens"] = {"prompt": args.prompt_tokens, "output": args.output_tokens}
        summary["received_tokens"] = {
            "prompt": _range([r["input_tokens"] for r in ok if r.get("input_tokens") is not None]),
            "output": _range([r["output_tokens"] for r in ok if r.get("output_tokens") is not None]),
        }
    if configured is not None:
        summary["self_check"] = {
            key: {"configured": value, "measured_minus_configured": _minus(summary.get(key), value)} for key, value in configured.items()
        }
    summary["checks"] = evaluate(summary, setup.slos, args.max_error_rate)
    return summary


def run_bench(args: BenchArgs) -> int:
    try:
        return _run_bench(args)
    except (Interrupted, KeyboardInterrupt):  # outside a load's own report (a sweep, between loads): 130 all the same
        raise InterruptedError_("interrupted") from None


def _run_bench(args: BenchArgs) -> int:
    if args.ray is not None:
        from .ray_workers import import_ray

        import_ray()  # no Ray: say so before starting anything
    setup = prepare(args)
    if args.sweep is not None:
        from .sweep import run_sweep

        return run_sweep(setup)  # interrupted: what each rate found is already on stdout with -o ndjson
    sink = RecordSink(args, setup.token)
    interrupted = False
    try:
        with target(args) as (url, configured):
            spec = setup.spec(url)
            try:
                run = measure(spec, args, sink)
            except Interrupted as stop:  # report what finished, then exit 130 as any interrupted run
                run, interrupted = Measured(stop.records, stop.wall, []), True
    finally:
        sink.close()
    summary = build_summary(run, setup, spec, configured)
    if interrupted:
        summary["interrupted"] = True  # the requests that had finished; those still running are not counted
    if args.output == "json":
        write_json({**summary, "records": run.records})
    elif args.output == "ndjson":
        write_json(summary)
    if not args.quiet:
        sys.stderr.write(table(summary, [r["ttft_ms"] for r in run.records if r.get("ttft_ms") is not None]))
    if interrupted:
        raise InterruptedError_("interrupted")
    reason = failure(summary, summary["checks"])
    if reason is not None:
        raise CheckFailedError(reason)
    return 0


def write_json(value: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(value) + "\n")
    sys.stdout.flush()


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

    with sigterm_cancels_the_load():
        if workers <= 1:
            return await run_load(spec, on_record)
        return await run_processes(split(spec, workers), on_record)


def _range(values: list[int]) -> dict[str, float] | None:
    if not values:
        return None
    return {"mean": sum(values) / len(values), "min": min(values), "max": max(values)}


def _lag(samples: list[float]) -> dict[str, Any]:
    stats = describe(samples) or {}
    warn = bool(stats) and stats.get("p99", 0.0) > LAG_WARN_MS
    return {**stats, "warning": warn}


def _minus(stats: dict[str, float] | None, configured: float) -> dict[str, float] | None:
    if not stats:
        return None
    return {k: stats[k] - configured for k in ("mean", "p50", "p95", "p99")}
