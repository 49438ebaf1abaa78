"""``streamchat bench``: load-test a streaming chat endpoint; ``bench compare`` for regressions."""

from __future__ import annotations

from typing import Annotated, Literal, Optional

import typer

from . import app
from . import options as o
from .helpformat import GroupedCommand, GroupedGroup

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


@bench_app.callback(invoke_without_command=True, epilog=EXAMPLES)
def bench(
    ctx: typer.Context,
    url: o.Url = None,
    profile: o.Profile = None,
    dialect: o.Dialect = None,
    transport: Annotated[
        Literal[BENCH_TRANSPORTS],  # type: ignore[valid-type]
        typer.Option(
            "--transport",
            metavar=o.one_of(BENCH_TRANSPORTS),
            help="sse, ws (one WebSocket a request), or socketio (Open WebUI's channel; --url is its base URL).",
            rich_help_panel=o.CONN,
        ),
    ] = "sse",
    auth_scheme: o.AuthScheme = None,
    token: o.Token = None,
    token_file: o.TokenFile = None,
    header: o.Header = None,
    connect_timeout: o.ConnectTimeout = 10.0,
    read_timeout: o.ReadTimeout = 60.0,
    retries: o.Retries = 0,
    max_response_size: o.MaxResponseSize = "10MB",
    max_message_size: o.MaxMessageSize = "50MB",
    insecure: o.Insecure = False,
    cacert: o.CACert = None,
    get: o.Get = False,
    model: o.Model = None,
    provider: o.Provider = None,
    max_tokens: o.MaxTokens = None,
    temperature: o.Temperature = None,
    top_p: o.TopP = None,
    frequency_penalty: o.FrequencyPenalty = None,
    presence_penalty: o.PresencePenalty = None,
    system: o.System = None,
    system_file: o.SystemFile = None,
    image: o.Image = None,
    max_image_size: o.MaxImageSize = "20MB",
    param: o.Param = None,
    requests: Annotated[
        Optional[int],
        typer.Option(
            "--requests", min=1, metavar="N", help="Measured requests [default: 100; no count with --duration].", rich_help_panel=o.LOAD
        ),
    ] = None,
    concurrency: Annotated[
        Optional[int],
        typer.Option(
            "--concurrency",
            min=1,
            metavar="N",
            help="Requests in flight at most [default: 8; no cap with --rate; --sweep tries up to 256 lanes].",
            rich_help_panel=o.LOAD,
        ),
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            "--workers", min=1, max=256, metavar="N", help="Processes sharing the load; records merge exactly.", rich_help_panel=o.LOAD
        ),
    ] = 1,
    ray: Annotated[
        Optional[str],
        typer.Option(
            "--ray",
            metavar="local|auto|ADDRESS",
            help="Run the workers as Ray actors: local (a Ray instance for this run), auto (this host's cluster) or an address; "
            "--workers = actors [default: one a CPU]. Needs streamchat[ray].",
            rich_help_panel=o.LOAD,
        ),
    ] = None,
    rate: Annotated[
        Optional[float],
        typer.Option(
            "--rate", min=0.001, metavar="N", help="Send N requests a second (open loop) instead of back to back.", rich_help_panel=o.LOAD
        ),
    ] = None,
    arrival: Annotated[
        Literal[ARRIVALS],  # type: ignore[valid-type]
        typer.Option("--arrival", metavar=o.one_of(ARRIVALS), help="Arrivals for --rate.", rich_help_panel=o.LOAD),
    ] = "poisson",
    duration: Annotated[
        Optional[float],
        typer.Option(
            "--duration",
            min=0.001,
            metavar="SECONDS",
            help="Stop sending after this many seconds; end what still runs --grace seconds later.",
            rich_help_panel=o.LOAD,
        ),
    ] = None,
    grace: Annotated[
        float,
        typer.Option(
            "--grace",
            min=0,
            metavar="SECONDS",
            help="Seconds after --duration before running requests are ended (incomplete).",
            rich_help_panel=o.LOAD,
        ),
    ] = 30.0,
    warmup: Annotated[
        int, typer.Option("--warmup", min=0, metavar="N", help="Requests sent first and not counted.", rich_help_panel=o.LOAD)
    ] = 0,
    sweep: Annotated[
        Optional[int],
        typer.Option(
            "--sweep",
            min=1,
            max=100,
            metavar="N",
            help="Find the saturation rate, then run N rates up to it; report the best meeting every --slo.",
            rich_help_panel=o.LOAD,
        ),
    ] = None,
    prompt: Annotated[
        Optional[list[str]], typer.Option("--prompt", metavar="TEXT", help="A prompt (repeatable).", rich_help_panel=o.IN)
    ] = None,
    prompts: Annotated[
        Optional[str], typer.Option("--prompts", metavar="PATH", help="Prompts file: text lines or JSONL requests.", rich_help_panel=o.IN)
    ] = None,
    prompt_tokens: Annotated[
        Optional[int],
        typer.Option("--prompt-tokens", min=1, metavar="N", help="Synthetic prompts of N tokens (see --tokenizer).", rich_help_panel=o.IN),
    ] = None,
    output_tokens: Annotated[
        Optional[int],
        typer.Option(
            "--output-tokens", min=1, metavar="N", help="Ask for N tokens: max_tokens (and ignore_eos for openai).", rich_help_panel=o.IN
        ),
    ] = None,
    tokenizer: Annotated[
        Optional[str],
        typer.Option(
            "--tokenizer",
            metavar="DIR",
            help="Local Hugging Face tokenizer directory for --prompt-tokens [default: ~4 characters a token].",
            rich_help_panel=o.IN,
        ),
    ] = None,
    ignore_stdin: o.IgnoreStdin = False,
    slo: Annotated[
        Optional[list[str]],
        typer.Option(
            "--slo",
            metavar="RULE",
            help="Threshold METRIC<=VALUE or METRIC>=VALUE, e.g. 'ttft_p95<=500' (ms), 'output_tps>=100' (repeatable).",
            rich_help_panel=o.CHECK,
        ),
    ] = None,
    max_error_rate: Annotated[
        float,
        typer.Option(
            "--max-error-rate", min=0, max=100, metavar="PERCENT", help="Percent of requests that may fail.", rich_help_panel=o.CHECK
        ),
    ] = 0.0,
    output: Annotated[
        Literal[BENCH_OUTPUTS],  # type: ignore[valid-type]
        typer.Option(
            "-o",
            "--output",
            metavar=o.one_of(BENCH_OUTPUTS),
            help="text (table on stderr), json (summary with every record), ndjson (records, then the summary).",
            rich_help_panel=o.OUT,
        ),
    ] = "text",
    records: Annotated[
        Optional[str], typer.Option("--records", metavar="PATH", help="Write per-request records (NDJSON) here.", rich_help_panel=o.OUT)
    ] = None,
    quiet: o.Quiet = False,
    server_ttft_ms: Annotated[
        float, typer.Option("--server-ttft-ms", min=0, metavar="MS", help="Configured TTFT.", rich_help_panel=SERVER)
    ] = 50.0,
    server_itl_ms: Annotated[
        float, typer.Option("--server-itl-ms", min=0, metavar="MS", help="Configured ITL.", rich_help_panel=SERVER)
    ] = 10.0,
    server_tokens: Annotated[int, typer.Option("--server-tokens", min=1, metavar="N", help="Tokens a reply.", rich_help_panel=SERVER)] = 64,
    server_workers: Annotated[
        int, typer.Option("--server-workers", min=1, max=64, metavar="N", help="Its processes (serve --workers).", rich_help_panel=SERVER)
    ] = 2,
) -> int:
    """Load-test a streaming chat endpoint and report latency and throughput."""
    values = {k: v for k, v in locals().items() if k != "ctx"}
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
