"""``streamchat bench``: load-test a streaming chat endpoint; ``bench compare`` for regressions."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Optional

import typer

from . import app
from . import options as o
from .helpformat import GroupedCommand, GroupedGroup
from .signature import p, takes

bench_app = typer.Typer(
    help="Load-test a streaming chat endpoint and report latency and throughput.",
    rich_markup_mode=None,
    no_args_is_help=False,
    cls=GroupedGroup,
    subcommand_metavar="[COMMAND [ARGS]...]",  # bench alone runs the load test
)
app.add_typer(bench_app, name="bench")

EXAMPLES = """
Examples:

\b
  streamchat bench --requests 50 --concurrency 8              # the built-in server: a self-check
  streamchat bench --url http://127.0.0.1:8000/v1/chat/completions -m m --rate 20 --duration 30 -o json > new.json
  streamchat bench --url "$URL" -m m --slo 'ttft_p95<=500' --max-error-rate 1     # a CI gate: exit 8 when it fails
  streamchat bench --url "$URL" -m m --prompt-tokens 256 --output-tokens 128 --sweep 5 -o json > sweep.json
  streamchat bench compare base.json new.json --threshold 10
  streamchat bench --ray auto --workers 16 --url "$SERVER_URL" -m m --concurrency 512
"""
BENCH_TRANSPORTS = ("sse", "ws", "socketio")
BENCH_OUTPUTS = ("text", "json", "ndjson")
ARRIVALS = ("poisson", "constant")
SERVER = "Built-in server (no --url)"


TRANSPORT = Annotated[
    Literal[BENCH_TRANSPORTS],  # type: ignore[valid-type]
    o.option(
        "--transport",
        o.one_of(BENCH_TRANSPORTS),
        "sse, ws (one WebSocket a request), or socketio (Open WebUI's channel; --url is its base URL).",
        o.CONN,
    ),
]


@bench_app.callback(invoke_without_command=True, epilog=EXAMPLES)
@takes(
    *o.WHERE,
    *o.DIALECT,
    p("transport", TRANSPORT, "sse"),
    *o.CREDENTIALS,
    *o.timeouts(connect=10.0, retries=0),
    p("max_response_size", o.MaxResponseSize, "10MB"),
    p("max_message_size", o.MaxMessageSize, "50MB"),
    *o.TLS,
    *o.MODEL,
    *o.SAMPLING,
    *o.SYSTEM_PROMPT,
    *o.IMAGES,
)
def bench(
    ctx: typer.Context,
    requests: Annotated[
        Optional[int], o.option("--requests", "N", "Measured requests [default: 100; no count with --duration].", o.LOAD, min=1)
    ] = None,
    concurrency: Annotated[
        Optional[int],
        o.option(
            "--concurrency",
            "N",
            "Requests in flight at most [default: 8; no cap with --rate; --sweep tries up to 256 lanes].",
            o.LOAD,
            min=1,
        ),
    ] = None,
    workers: Annotated[int, o.option("--workers", "N", "Processes sharing the load; records merge exactly.", o.LOAD, min=1, max=256)] = 1,
    ray: Annotated[
        Optional[str],
        o.option(
            "--ray",
            "local|auto|ADDRESS",
            (
                "Run the workers as Ray actors: local (a Ray instance for this run), auto (this host's cluster) or an address; "
                "--workers = actors [default: one a CPU]. Needs streamchat[ray]."
            ),
            o.LOAD,
        ),
    ] = None,
    rate: Annotated[
        Optional[float], o.option("--rate", "N", "Send N requests a second (open loop) instead of back to back.", o.LOAD, min=0.001)
    ] = None,
    arrival: Annotated[
        Literal[ARRIVALS],  # type: ignore[valid-type]
        o.option("--arrival", o.one_of(ARRIVALS), "Arrivals for --rate.", o.LOAD),
    ] = "poisson",
    duration: Annotated[
        Optional[float],
        o.option(
            "--duration", "SECONDS", "Stop sending after this many seconds; end what still runs --grace seconds later.", o.LOAD, min=0.001
        ),
    ] = None,
    grace: Annotated[
        float, o.option("--grace", "SECONDS", "Seconds after --duration before running requests are ended (incomplete).", o.LOAD, min=0)
    ] = 30.0,
    warmup: Annotated[int, o.option("--warmup", "N", "Requests sent first and not counted.", o.LOAD, min=0)] = 0,
    sweep: Annotated[
        Optional[int],
        o.option(
            "--sweep",
            "N",
            "Find the saturation rate, then run N rates up to it; report the best meeting every --slo.",
            o.LOAD,
            min=1,
            max=100,
        ),
    ] = None,
    prompt: Annotated[Optional[list[str]], o.option("--prompt", "TEXT", "A prompt (repeatable).", o.IN)] = None,
    prompts: Annotated[Optional[str], o.option("--prompts", "PATH", "Prompts file: text lines or JSONL requests.", o.IN)] = None,
    prompt_tokens: Annotated[
        Optional[int], o.option("--prompt-tokens", "N", "Synthetic prompts of N tokens (see --tokenizer).", o.IN, min=1)
    ] = None,
    output_tokens: Annotated[
        Optional[int], o.option("--output-tokens", "N", "Ask for N tokens: max_tokens (and ignore_eos for openai).", o.IN, min=1)
    ] = None,
    tokenizer: Annotated[
        Optional[str],
        o.option(
            "--tokenizer", "DIR", "Local Hugging Face tokenizer directory for --prompt-tokens [default: ~4 characters a token].", o.IN
        ),
    ] = None,
    ignore_stdin: o.IgnoreStdin = False,
    slo: Annotated[
        Optional[list[str]],
        o.option(
            "--slo", "RULE", "Threshold METRIC<=VALUE or METRIC>=VALUE, e.g. 'ttft_p95<=500' (ms), 'output_tps>=100' (repeatable).", o.CHECK
        ),
    ] = None,
    max_error_rate: Annotated[
        float, o.option("--max-error-rate", "PERCENT", "Percent of requests that may fail.", o.CHECK, min=0, max=100)
    ] = 0.0,
    output: Annotated[
        Literal[BENCH_OUTPUTS],  # type: ignore[valid-type]
        o.option(
            "-o --output",
            o.one_of(BENCH_OUTPUTS),
            "text (table on stderr), json (summary with every record), ndjson (records, then the summary).",
            o.OUT,
        ),
    ] = "text",
    records: Annotated[Optional[str], o.option("--records", "PATH", "Write per-request records (NDJSON) here.", o.OUT)] = None,
    quiet: o.Quiet = False,
    server_ttft_ms: Annotated[float, o.option("--server-ttft-ms", "MS", "Configured TTFT.", SERVER, min=0)] = 50.0,
    server_itl_ms: Annotated[float, o.option("--server-itl-ms", "MS", "Configured ITL.", SERVER, min=0)] = 10.0,
    server_tokens: Annotated[int, o.option("--server-tokens", "N", "Tokens a reply.", SERVER, min=1)] = 64,
    server_workers: Annotated[int, o.option("--server-workers", "N", "Its processes (serve --workers).", SERVER, min=1, max=64)] = 2,
    **options: Any,
) -> int:
    """Load-test a streaming chat endpoint and report latency and throughput."""
    values = {**{k: v for k, v in locals().items() if k not in ("ctx", "options")}, **options}
    if ctx.invoked_subcommand is not None:
        return 0
    from ..bench.command import BenchArgs, run_bench

    return run_bench(BenchArgs(**values))


COMPARE_EXAMPLES = """
Examples:

\b
  streamchat bench -q -o json > base.json && streamchat bench -q -o json > new.json
  streamchat bench compare base.json new.json --threshold 10 || echo "regression"
"""


@bench_app.command("compare", cls=GroupedCommand, epilog=COMPARE_EXAMPLES)
def compare(
    base: Annotated[str, typer.Argument(metavar="BASE_PATH", help="Baseline summary (what bench -o json wrote).")],
    new: Annotated[str, typer.Argument(metavar="NEW_PATH", help="New summary.")],
    threshold: Annotated[
        float, typer.Option("--threshold", min=0, metavar="PERCENT", help="Percent worse that counts as a regression.")
    ] = 10.0,
) -> int:
    """Compare two bench summaries; exit 8 on a regression beyond --threshold percent."""
    from ..bench.compare import compare_files

    return compare_files(base, new, threshold)


REPORT_EXAMPLES = """
Examples:

\b
  streamchat bench -q -o json > run.json && streamchat bench report run.json -o report.html
  streamchat bench report base.json new.json -o compare.html      # side by side, one colour a run
  streamchat bench report sweep.json -o sweep.html                # a --sweep run: latency against rate
"""


@bench_app.command("report", cls=GroupedCommand, epilog=REPORT_EXAMPLES)
def report(
    runs: Annotated[list[str], typer.Argument(metavar="PATH", help="Runs (what bench -o json or -o ndjson wrote), single runs or sweeps.")],
    output: Annotated[str, typer.Option("-o", "--output", metavar="PATH", help="The HTML page to write; - for stdout.")] = "-",
    title: Annotated[Optional[str], typer.Option("--title", metavar="TEXT", help="The page's title.")] = None,
    quiet: o.Quiet = False,
) -> int:
    """Write one self-contained HTML page with plots of bench runs (needs streamchat[report])."""
    from ..bench.report import write_report

    return write_report(runs, output, title, quiet)
