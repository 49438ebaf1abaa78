"""``streamchat serve``: the built-in reference server in the foreground."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from . import app

EXAMPLES = """
Examples:

  streamchat serve --port 8000
  streamchat serve --port 0 --itl-ms 5 --reply-tokens 200      # fast and long
  curl -N -H 'X-Streamchat-Fault: drop-after=5' -d '{"message":"hi"}' http://127.0.0.1:8000/api/chat/stream
"""


@app.command(epilog=EXAMPLES)
def serve(
    host: Annotated[str, typer.Option("--host", help="Address to bind (loopback unless you say otherwise).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port; 0 = any free port.")] = 8000,
    ttft_ms: Annotated[float, typer.Option("--ttft-ms", min=0, help="Delay before the first token.")] = 50.0,
    itl_ms: Annotated[float, typer.Option("--itl-ms", min=0, help="Delay between tokens.")] = 15.0,
    tokens_per_second: Annotated[
        Optional[float], typer.Option("--tokens-per-second", min=0.001, help="Pacing as a rate (overrides --itl-ms).")
    ] = None,
    reply_tokens: Annotated[int, typer.Option("--reply-tokens", min=0, help="Tokens in each reply.")] = 24,
    seed: Annotated[int, typer.Option("--seed", help="Changes the deterministic replies.")] = 0,
    reasoning: Annotated[bool, typer.Option("--reasoning", help="Stream reasoning first for every model.")] = False,
    token: Annotated[
        Optional[str], typer.Option("--token", envvar="STREAMCHAT_SERVE_TOKEN", help="Require this bearer token on every endpoint.")
    ] = None,
    access_log: Annotated[bool, typer.Option("--access-log", help="Log each request on stderr.")] = False,
    fps: Annotated[float, typer.Option("--fps", min=0, help="Camera frames per second (0 = as fast as possible).")] = 10.0,
    width: Annotated[int, typer.Option("--width", min=16, max=7680, help="Camera frame width.")] = 640,
    height: Annotated[int, typer.Option("--height", min=16, max=4320, help="Camera frame height.")] = 360,
) -> int:
    """Run the built-in reference server (every protocol, plus fault knobs)."""
    import asyncio
    import sys

    import uvicorn

    from ..errors import UsageError
    from ..server.app import create_app
    from ..server.config import ServerConfig
    from ..server.embedded import bind, quiet_logging, uvicorn_config

    config = ServerConfig.with_rate(
        tokens_per_second,
        ttft_ms=ttft_ms,
        itl_ms=itl_ms,
        reply_tokens=reply_tokens,
        seed=seed,
        reasoning=reasoning,
        token=token,
        fps=fps,
        width=width,
        height=height,
    )
    try:
        sock = bind(host, port)
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    quiet_logging(silent=False)
    server = uvicorn.Server(uvicorn_config(create_app(config).state.asgi, silent=not access_log, access_log=access_log))
    bound_host, bound_port = sock.getsockname()[:2]
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host

    async def announce_and_serve() -> None:
        task = asyncio.ensure_future(server.serve(sockets=[sock]))
        while not server.started and not task.done():
            await asyncio.sleep(0.01)
        if server.started:
            sys.stdout.write(f"listening on http://{shown}:{bound_port}\n")
            sys.stdout.flush()
        await task

    asyncio.run(announce_and_serve())
    return 0
