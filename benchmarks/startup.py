"""Startup: `streamchat --help` / `--version`, `config --profiles` (what a TAB after `--profile` runs), and a
whole one-event `chat`, against `python -c "import typer"`.

Medians of N runs each. The chat is answered at once by a raw loopback server (one OpenAI chunk and
[DONE]), so the time is streamchat's own: start, request, one event, exit.

Run it with the interpreter of an environment where streamchat is installed (a non-editable install
is what users have; an editable one adds its import finder):

    python3 benchmarks/startup.py [--runs 25]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time


def medians_ms(cmds: list[list[str]], runs: int) -> list[float]:
    """Each command once a round, round after round (the machine's drift hits all alike); medians."""
    samples: list[list[float]] = [[] for _ in cmds]
    for _ in range(runs):
        for index, cmd in enumerate(cmds):
            start = time.perf_counter()
            subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
            samples[index].append((time.perf_counter() - start) * 1000)
    return [statistics.median(s) for s in samples]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=25)
    args = parser.parse_args()
    exe = shutil.which("streamchat", path=os.path.dirname(sys.executable)) or shutil.which("streamchat")
    if exe is None:
        raise SystemExit("streamchat is not installed next to this interpreter")
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests"))
    from raw_servers import raw_server

    event = {"choices": [{"index": 0, "delta": {"content": "Hi"}, "finish_reason": "stop"}]}
    body = f"data: {json.dumps(event)}\n\ndata: [DONE]\n\n".encode()
    with raw_server(body, framing="length") as url:
        rows = [
            ("python -c 'import typer'", [sys.executable, "-c", "import typer"]),
            ("streamchat --help", [exe, "--help"]),
            ("streamchat --version", [exe, "--version"]),
            ("streamchat chat --help", [exe, "chat", "--help"]),
            ("config --profiles (TAB)", [exe, "config", "--profiles"]),  # what completing --profile NAME runs
            ("streamchat chat (1 event)", [exe, "chat", "-q", "--url", url, "-m", "m", "Hi"]),
        ]
        medians_ms([cmd for _, cmd in rows], 2)  # warm the file cache
        took = medians_ms([cmd for _, cmd in rows], args.runs)
    for (label, _), ms in zip(rows, took, strict=True):
        print(f"{label:<26} {ms:7.1f} ms   {ms / took[0]:.2f}×")


if __name__ == "__main__":
    main()
