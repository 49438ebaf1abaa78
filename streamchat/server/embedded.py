"""Running the reference server: in a background thread (the embedded default, tests) or in front."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import socket
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass

import uvicorn

from .app import create_app
from .config import ServerConfig
from .connections import MAX_HEAD, Limits, guarded_protocol, raise_open_file_limit
from .faults import DropConnection


class _HideInjectedDrops(logging.Filter):
    """An injected drop is the server doing its job, not an error worth a traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        while exc is not None:
            if isinstance(exc, DropConnection):
                return False
            exc = (
                exc.__cause__ or exc.__context__ or (exc.exceptions[0] if isinstance(exc, BaseExceptionGroup) and exc.exceptions else None)
            )
        return True


def quiet_logging(silent: bool) -> None:
    log = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _HideInjectedDrops) for f in log.filters):
        log.addFilter(_HideInjectedDrops())
    if silent:
        log.setLevel(logging.CRITICAL + 1)
        logging.getLogger("uvicorn.access").setLevel(logging.CRITICAL + 1)
        return
    # --access-log: uvicorn runs without its logging config (log_config=None), so its loggers need a
    # handler of their own, or their INFO records (one a request) go nowhere.
    access = logging.getLogger("uvicorn.access")
    if not access.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        access.addHandler(handler)
    access.setLevel(logging.INFO)
    access.propagate = False


def bind(host: str = "127.0.0.1", port: int = 0, reuse_port: bool = False) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def uvicorn_config(app: object, config: ServerConfig, *, silent: bool, access_log: bool = False) -> uvicorn.Config:
    limits = Limits(config.limit_concurrency, config.head_timeout, config.idle_timeout)
    return uvicorn.Config(
        app,
        log_config=None,
        log_level="critical" if silent else "info",
        access_log=access_log,
        lifespan="off",
        http=guarded_protocol(limits),  # head and idle timeouts, the connection limit (connections.py)
        timeout_keep_alive=config.idle_timeout,  # type: ignore[arg-type]  # uvicorn takes any number of seconds
        h11_max_incomplete_event_size=MAX_HEAD,  # (when h11 parses) the same head cap as the guard's
        timeout_graceful_shutdown=1,  # SIGTERM: streams still running after 1 s are cancelled
        ws="websockets-sansio" if _has_sansio() else "auto",
        ws_max_size=min(64 * 1024 * 1024, config.max_body),  # requests carry images inline (up to 50 MB)
    )


def _has_sansio() -> bool:
    try:
        import uvicorn.protocols.websockets.websockets_sansio_impl  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass
class RunningServer:
    url: str
    server: uvicorn.Server
    thread: threading.Thread
    app: object

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_in_thread(config: ServerConfig | None = None, host: str = "127.0.0.1", port: int = 0) -> RunningServer:
    """Start the server on a daemon thread; returns once it accepts connections."""
    quiet_logging(silent=True)
    config = config or ServerConfig()
    raise_open_file_limit(config.limit_concurrency)
    app = create_app(config)
    sock = bind(host, port)
    server = uvicorn.Server(uvicorn_config(app.state.asgi, config, silent=True))
    failure: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(server.serve(sockets=[sock]))
        except BaseException as exc:  # noqa: BLE001 - reported to the starting thread
            failure.append(exc)

    thread = threading.Thread(target=run, name="streamchat-server", daemon=True)
    thread.start()
    while not server.started and thread.is_alive():
        thread.join(0.01)
    if not server.started:
        raise RuntimeError(f"the built-in server did not start: {failure[0] if failure else 'unknown'}")
    bound_host, bound_port = sock.getsockname()[:2]
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    return RunningServer(f"http://{shown}:{bound_port}", server, thread, app)


def _serve_until_stopped(config: ServerConfig, sock: socket.socket, access_log: bool, ready: Callable[[], None]) -> None:
    quiet_logging(silent=not access_log)
    raise_open_file_limit(config.limit_concurrency)
    server = uvicorn.Server(uvicorn_config(create_app(config).state.asgi, config, silent=not access_log, access_log=access_log))

    async def serve() -> None:
        task = asyncio.ensure_future(server.serve(sockets=[sock]))
        while not server.started and not task.done():
            await asyncio.sleep(0.01)
        if server.started:
            ready()
        await task

    asyncio.run(serve())


def _worker_main(config: ServerConfig, sock: socket.socket, access_log: bool, ready: object) -> None:
    _serve_until_stopped(config, sock, access_log, ready.set)  # type: ignore[attr-defined]


def run_foreground(
    config: ServerConfig, sock: socket.socket, *, workers: int = 1, access_log: bool = False, on_ready: Callable[[], None]
) -> None:
    """Serve until interrupted; ``on_ready`` once every process accepts connections.

    With ``workers`` > 1, that many processes accept on the one listening socket (the kernel spreads
    connections among them), so a load test's streams are not all paced by one event loop. Each
    process keeps its own state: fault counters and recorded requests are per process.
    """
    if workers <= 1:
        _serve_until_stopped(config, sock, access_log, on_ready)
        return
    context = multiprocessing.get_context("spawn")  # no fork of a process that may hold threads
    ready = [context.Event() for _ in range(workers)]
    # One listening socket a process on the same port (SO_REUSEPORT): the kernel spreads new
    # connections evenly, where processes sharing one socket let whichever woke first take a burst.
    sockets = [sock] + [bind(*sock.getsockname()[:2], reuse_port=True) for _ in range(workers - 1)]
    processes = [
        context.Process(target=_worker_main, args=(config, each, access_log, event), daemon=True)
        for each, event in zip(sockets, ready, strict=True)
    ]
    for process in processes:
        process.start()
    try:
        for event, process in zip(ready, processes, strict=True):
            while not event.wait(0.05):
                if not process.is_alive():
                    raise RuntimeError("a server worker process exited while starting")
        on_ready()
        while all(process.is_alive() for process in processes):
            processes[0].join(0.2)
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join(5)
