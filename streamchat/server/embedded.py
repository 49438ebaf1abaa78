"""Running the reference server: in a background thread (the embedded default, tests) or in front."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from dataclasses import dataclass

import uvicorn

from .app import create_app
from .config import ServerConfig
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


def bind(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def uvicorn_config(app: object, *, silent: bool, access_log: bool = False) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        log_config=None,
        log_level="critical" if silent else "info",
        access_log=access_log,
        lifespan="off",
        timeout_graceful_shutdown=1,
        ws="websockets-sansio" if _has_sansio() else "auto",
        ws_max_size=64 * 1024 * 1024,  # requests carry images inline (the seed allows 50 MB)
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
    app = create_app(config)
    sock = bind(host, port)
    server = uvicorn.Server(uvicorn_config(app.state.asgi, silent=True))
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
