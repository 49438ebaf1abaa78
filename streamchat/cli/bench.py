"""``streamchat bench``: load-test a streaming chat endpoint; ``bench compare`` for regressions (SPEC §9)."""

from __future__ import annotations

from typing import Annotated, Literal, Optional

import typer

from . import app
from . import options as o

bench_app = typer.Typer(
    help="Load-test a streaming chat endpoint and report latency and throughput.", rich_markup_mode=None, no_args_is_help=False
)
app.add_typer(bench_app, name="bench")

EXAMPLES = """
Examples:

  streamchat bench --requests 50 --concurrency 8              # the built-in server: a self-check
  streamchat bench --url http://127.0.0.1:8000/v1/chat/completions -m m --rate 20 --duration 30 -o json > new.json
  streamchat bench compare base.json new.json --threshold 10
  streamchat bench --ray auto --workers 16 --url "$SERVER_URL" -m m --concurrency 512
"""


@bench_app.callback(invoke_without_command=True, epilog=EXAMPLES)
def bench(
    ctx: typer.Context,
    url: o.Url = None,
    profile: o.Profile = None,
    dialect: o.Dialect = None,
    transport: Annotated[Literal["sse", "ws"], typer.Option("--transport", help="sse, or ws (one WebSocket a request).")] = "sse",
    token_file: o.TokenFile = None,
    header: o.Header = None,
    model: o.Model = "deepseek/deepseek-chat",
    max_tokens: o.MaxTokens = None,
    requests: Annotated[int, typer.Option("--requests", min=1, help="Measured requests.")] = 100,
    concurrency: Annotated[
        Optional[int], typer.Option("--concurrency", min=1, help="Requests in flight at most [default: 8; no cap with --rate].")
    ] = None,
    workers: Annotated[int, typer.Option("--workers", min=1, max=256, help="Processes sharing the load; records merge exactly.")] = 1,
    ray: Annotated[
        Optional[str],
        typer.Option(
            "--ray",
            help="Run the workers as Ray actors: local (a Ray instance for this run), auto (this host's cluster) or an address; "
            "--workers = actors [default: one a CPU]. Needs streamchat[ray].",
        ),
    ] = None,
    rate: Annotated[
        Optional[float], typer.Option("--rate", min=0.001, help="Send R requests/s (open loop) instead of back to back.")
    ] = None,
    arrival: Annotated[Literal["poisson", "constant"], typer.Option("--arrival", help="Arrivals for --rate.")] = "poisson",
    duration: Annotated[Optional[float], typer.Option("--duration", min=0.001, help="Stop sending after S seconds.")] = None,
    warmup: Annotated[int, typer.Option("--warmup", min=0, help="Requests sent first and not counted.")] = 0,
    prompt: Annotated[Optional[list[str]], typer.Option("--prompt", help="A prompt (repeatable).")] = None,
    prompts: Annotated[Optional[str], typer.Option("--prompts", help="Prompts file: text lines or JSONL requests.")] = None,
    output: Annotated[
        Literal["text", "json", "ndjson"],
        typer.Option("-o", "--output", help="text (table on stderr), json (summary), ndjson (records, then the summary)."),
    ] = "text",
    records: Annotated[Optional[str], typer.Option("--records", help="Write per-request records (NDJSON) here.")] = None,
    read_timeout: o.ReadTimeout = 60.0,
    server_ttft_ms: Annotated[float, typer.Option("--server-ttft-ms", min=0, help="Built-in server only: configured TTFT.")] = 50.0,
    server_itl_ms: Annotated[float, typer.Option("--server-itl-ms", min=0, help="Built-in server only: configured ITL.")] = 10.0,
    server_tokens: Annotated[int, typer.Option("--server-tokens", min=1, help="Built-in server only: tokens a reply.")] = 64,
    server_workers: Annotated[
        int, typer.Option("--server-workers", min=1, max=64, help="Built-in server only: its processes (serve --workers).")
    ] = 2,
    quiet: o.Quiet = False,
) -> int:
    """Load-test a streaming chat endpoint and report latency and throughput."""
    values = {k: v for k, v in locals().items() if k != "ctx"}
    if ctx.invoked_subcommand is not None:
        return 0
    from ..bench.command import BenchArgs, run_bench

    return run_bench(BenchArgs(**values))


COMPARE_EXAMPLES = """
Examples:

  streamchat bench -q -o json > base.json && streamchat bench -q -o json > new.json
  streamchat bench compare base.json new.json --threshold 10 || echo "regression"
"""


@bench_app.command("compare", epilog=COMPARE_EXAMPLES)
def compare(
    base: Annotated[str, typer.Argument(help="Baseline summary (bench -o json).")],
    new: Annotated[str, typer.Argument(help="New summary.")],
    threshold: Annotated[float, typer.Option("--threshold", min=0, help="Percent worse that counts as a regression.")] = 10.0,
) -> int:
    """Compare two bench summaries; exit 8 on a regression beyond --threshold percent."""
    from ..bench.command import compare_files

    return compare_files(base, new, threshold)


REPORT_EXAMPLES = """
Examples:

  streamchat bench -q -o json > run.json && streamchat bench report run.json -o report.html
  streamchat bench report base.json new.json -o compare.html      # side by side, one colour a run
  streamchat bench report sweep.json -o sweep.html                # a --sweep run: latency against rate
"""


@bench_app.command("report", epilog=REPORT_EXAMPLES)
def report(
    runs: Annotated[list[str], typer.Argument(help="Runs (what bench -o json or -o ndjson wrote), single runs or sweeps.")],
    output: Annotated[str, typer.Option("-o", "--output", help="The HTML page to write; - for stdout.")] = "-",
    title: Annotated[Optional[str], typer.Option("--title", help="The page's title.")] = None,
    quiet: o.Quiet = False,
) -> int:
    """Write one self-contained HTML page with plots of bench runs (needs streamchat[report])."""
    from ..bench.report import write_report

    return write_report(runs, output, title, quiet)
