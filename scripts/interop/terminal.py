"""Run a command with a pseudo-terminal as its stdout and stderr.

What a server's text does to a terminal can only be seen on one: streamchat neutralises controls there and
writes bytes exactly into a pipe.
"""

from __future__ import annotations

import os
import pty
import subprocess
import time


def run_on_terminal(argv: list[str], env: dict[str, str], timeout: float = 120) -> tuple[int, str]:
    """(exit status, everything the terminal received, decoded as UTF-8)."""
    controller, terminal = pty.openpty()
    try:
        process = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=terminal, stderr=terminal, close_fds=True)
    finally:
        os.close(terminal)
    received = bytearray()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # EIO: every writer of the terminal is gone
                break
            if not chunk:
                break
            received += chunk
        status = process.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(controller)
    return status, received.decode("utf-8", "replace")
