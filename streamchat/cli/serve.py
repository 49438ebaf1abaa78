"""``streamchat serve``: the built-in reference server in the foreground."""

from __future__ import annotations

from typing import Annotated, Optional

from ..server.limits import CAMERA_FPS, CAMERA_HEIGHT, CAMERA_WIDTH, LIMIT_CONCURRENCY  # plain numbers: the camera bounds a request may ask
from . import app
from . import options as o
from .helpformat import GroupedCommand

EXAMPLES = """
Examples:

\b
  streamchat serve --port 8000
  streamchat serve --port 0 --itl-ms 5 --reply-tokens 200      # fast and long
  streamchat serve --workers 2 --reply-tokens 128 --itl-ms 10   # enough to keep up with bench at 64 streams
  streamchat serve --host 0.0.0.0 --token "$(openssl rand -hex 16)" --max-body 8MB   # reachable from other hosts
  curl -N -H 'X-Streamchat-Fault: drop-after=5' -d '{"message":"hi"}' http://127.0.0.1:8000/api/chat/stream
"""
LISTEN = "Listening"
REPLIES = "Replies"
CAMERA = "Camera streams"


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to any interface


@app.command(cls=GroupedCommand, epilog=EXAMPLES)
def serve(
    host: Annotated[str, o.option("--host", "ADDRESS", "Address to bind (loopback unless you say otherwise).", LISTEN)] = "127.0.0.1",
    port: Annotated[int, o.option("--port", "N", "Port; 0 = any free port.", LISTEN, min=0, max=65535)] = 8000,
    ttft_ms: Annotated[float, o.option("--ttft-ms", "MS", "Delay before the first token.", REPLIES, min=0)] = 50.0,
    itl_ms: Annotated[float, o.option("--itl-ms", "MS", "Delay between tokens.", REPLIES, min=0)] = 15.0,
    tokens_per_second: Annotated[
        Optional[float], o.option("--tokens-per-second", "N", "Pacing as a rate (overrides --itl-ms).", REPLIES, min=0.001)
    ] = None,
    reply_tokens: Annotated[int, o.option("--reply-tokens", "N", "Tokens in each reply.", REPLIES, min=0)] = 24,
    seed: Annotated[int, o.option("--seed", "N", "Changes the deterministic replies.", REPLIES)] = 0,
    reasoning: Annotated[bool, o.flag("--reasoning", "Stream reasoning first for every model.", REPLIES)] = False,
    token: Annotated[
        Optional[str],
        o.option(
            "--token",
            "TOKEN",
            "Require this bearer token on every endpoint but /healthz (the one left open, for liveness probes).",
            LISTEN,
            envvar="STREAMCHAT_SERVE_TOKEN",
        ),
    ] = None,
    access_log: Annotated[bool, o.flag("--access-log", "Log each request on stderr.", LISTEN)] = False,
    fps: Annotated[
        float, o.option("--fps", "N", "Camera frames per second (0 = as fast as possible).", CAMERA, min=CAMERA_FPS[0], max=CAMERA_FPS[1])
    ] = 10.0,
    width: Annotated[int, o.option("--width", "PIXELS", "Camera frame width.", CAMERA, min=CAMERA_WIDTH[0], max=CAMERA_WIDTH[1])] = 640,
    height: Annotated[
        int, o.option("--height", "PIXELS", "Camera frame height.", CAMERA, min=CAMERA_HEIGHT[0], max=CAMERA_HEIGHT[1])
    ] = 360,
    workers: Annotated[
        int,
        o.option("--workers", "N", "Processes accepting on the one port (for load tests; state is per process).", LISTEN, min=1, max=64),
    ] = 1,
    max_body: Annotated[
        str, o.option("--max-body", "SIZE", "Largest request body accepted (bytes, KB, MB, GB); larger ones get 413 unread.", LISTEN)
    ] = "64MB",
    limit_concurrency: Annotated[
        int, o.option("--limit-concurrency", "N", "Open connections at most (per process); more are closed.", LISTEN, min=1, max=1_000_000)
    ] = LIMIT_CONCURRENCY,
) -> int:
    """Run the built-in reference server (every protocol, plus fault knobs).

    With --token (or STREAMCHAT_SERVE_TOKEN) every endpoint wants the token except GET /healthz, which
    stays open for liveness probes. A --host other than loopback without --token gets a warning.
    """
    import math
    import sys

    from ..errors import UsageError
    from ..server.config import ServerConfig
    from ..server.embedded import bind, run_foreground
    from ..session.inputs import check_finite, parse_size

    if tokens_per_second is not None and not math.isfinite(tokens_per_second):
        # (inf would pace at 1000/inf = 0 ms, a finite --itl-ms the check below lets through)
        raise UsageError(f"--tokens-per-second: {tokens_per_second} is not a finite number")
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
        max_body=parse_size(max_body, "--max-body"),
        limit_concurrency=limit_concurrency,
    )
    check_finite(config, {"itl_ms": "--tokens-per-second" if tokens_per_second else "--itl-ms"})  # (nan passes click's ranges)
    if not token and not _is_loopback(host):
        sys.stderr.write(f"streamchat: warning: serving on {host} without --token: anyone who can reach it may use it\n")
    try:
        sock = bind(host, port, reuse_port=workers > 1)
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    bound_host, bound_port = sock.getsockname()[:2]
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host

    def announce() -> None:
        sys.stdout.write(f"listening on http://{shown}:{bound_port}\n")
        sys.stdout.flush()

    run_foreground(config, sock, workers=workers, access_log=access_log, on_ready=announce)
    return 0
