"""Run a command with a pseudo-terminal as its stdout and stderr, and name the control characters a text holds.

What a server's text does to a terminal can only be seen on one: streamchat neutralises controls there and
writes bytes exactly into a pipe.
"""

from __future__ import annotations

import os
import pty
import subprocess
import time
import unicodedata

NAMES = {0: "NUL", 7: "BEL", 8: "BS", 9: "TAB", 10: "LF", 13: "CR", 27: "ESC", 127: "DEL"}


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


def visible_controls(text: str) -> str:
    """``3 U+FFFD, 5 C0/C1 controls (NUL, SOH, ...)``: what makes a text a fidelity test."""
    controls = sorted({ord(ch) for ch in text if unicodedata.category(ch) == "Cc" and ch not in "\n"})
    names = ", ".join(NAMES.get(code, f"0x{code:02x}") for code in controls)
    count = sum(1 for ch in text if unicodedata.category(ch) == "Cc" and ch != "\n")
    return f"{text.count(chr(0xFFFD))} U+FFFD, {count} C0/C1 controls ({names or 'none'})"
