"""Throughput: a 200,000-chunk OpenAI stream through streamchat, an httpx-sse loop and curl, in one run.

A raw loopback server (no framework: it must not be the bottleneck) answers every request with the
same pre-built chunked event stream. Each client runs as its own process, output to /dev/null, and
is timed by wall clock, best of N rounds (each client once a round); the script prints each time and the ratios against the
httpx-sse reference loop measured in the same run.

    python3 benchmarks/throughput.py [--events 200000] [--runs 3]
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests"))  # the raw loopback servers the tests use
from raw_servers import raw_server, raw_ws_server  # noqa: E402

REFERENCE_LOOP = r"""
import json, sys, httpx
from httpx_sse import connect_sse
with httpx.Client(timeout=60) as client:
    with connect_sse(client, "POST", sys.argv[1], json={"model": "m", "messages": [], "stream": True}) as source:
        out = sys.stdout
        for sse in source.iter_sse():
            if sse.data == "[DONE]":
                break
            chunk = json.loads(sse.data)
            for choice in chunk["choices"]:
                text = choice["delta"].get("content")
                if text:
                    out.write(json.dumps({"type": "content", "text": text}) + "\n")
"""

OPENAI_SDK_LOOP = r"""
import sys
from openai import OpenAI
client = OpenAI(base_url=sys.argv[1].rsplit("/chat/completions", 1)[0], api_key="x")
for chunk in client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}], stream=True):
    for choice in chunk.choices:
        if choice.delta.content:
            sys.stdout.write(choice.delta.content)
"""


def openai_events(events: int) -> bytes:
    """The SSE body: ``events`` content chunks, a finish chunk and ``[DONE]``."""
    head = '{"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":'
    parts = [("data: " + head + json.dumps(f" tok{i % 1000}") + '},"finish_reason":null}]}\n\n').encode() for i in range(events)]
    parts.append(
        b'data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n'
    )
    parts.append(b"data: [DONE]\n\n")
    return b"".join(parts)


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def compile_bytecode() -> None:
    """What ``pip install`` does: write streamchat's bytecode. The clients run from this checkout
    (cwd), and where nothing writes it (PYTHONDONTWRITEBYTECODE, as on the machines this was measured
    on) every run would compile its ~45 modules again: about 45 ms that no installed copy spends."""
    compileall.compile_dir(os.path.join(ROOT, "streamchat"), quiet=1)


def timed_once(cmd: list[str]) -> float | None:
    start = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        print(f"  ! {' '.join(cmd[:4])}… exited {proc.returncode}: {proc.stderr.decode()[-300:]}", file=sys.stderr)
        return None
    return elapsed


def best_times(clients: dict[str, list[str]], runs: int) -> dict[str, float | None]:
    """Each client once a round, round after round, so the machine's drift hits all alike; best run each."""
    best: dict[str, float | None] = {}
    for _ in range(runs):
        for name, cmd in clients.items():
            if name in best and best[name] is None:
                continue  # failed once: not timed again
            elapsed = timed_once(cmd)
            best[name] = None if elapsed is None else min(elapsed, best.get(name) or elapsed)
    return best


def seed_ws_messages(events: int) -> list[bytes]:
    """The same reply as WebSocket frames of the seed protocol."""
    messages = [b'{"type":"content","text":%s}' % json.dumps(f" tok{i % 1000}").encode() for i in range(events)]
    messages.append(b'{"type":"done","finish_reason":"stop"}')
    return messages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--shape",
        choices=["chunks", "close16k", "both"],
        default="both",
        help="chunks: one HTTP chunk per event (uvicorn, vLLM); close16k: a close-delimited body in 16 KB writes "
        "(a proxy that coalesces the stream); both: one after the other",
    )
    args = parser.parse_args()

    compile_bytecode()
    body = openai_events(args.events)
    if args.shape in ("chunks", "both"):
        print("== one HTTP chunk per event")
        with raw_server(body, framing="chunked", pieces=args.events + 2) as url, raw_ws_server(seed_ws_messages(args.events)) as ws_url:
            run(args, url, ws_url, len(body))
    if args.shape in ("close16k", "both"):
        print("== a close-delimited body in 16 KB writes")
        with raw_server(body, framing="close", write_size=16384) as url, raw_ws_server(seed_ws_messages(args.events)) as ws_url:
            run(args, url, ws_url, len(body))


def run(args: argparse.Namespace, url: str, ws_url: str, size: int) -> None:
    py = sys.executable
    streamchat = [py, "-m", "streamchat", "chat", "--url", url, "-m", "m", "-q", "--max-response-size", "1GB"]
    clients = {
        "httpx-sse loop (reference)": [py, "-c", REFERENCE_LOOP, url],
        "streamchat -o ndjson": streamchat + ["-o", "ndjson", "hi"],
        "streamchat -o text": streamchat + ["-o", "text", "hi"],
        "streamchat -o json": streamchat + ["-o", "json", "hi"],
        "streamchat ws-chat -o ndjson": [py, "-m", "streamchat", "ws-chat", "--url", ws_url, "-q", "-o", "ndjson", "hi"],
    }
    if shutil.which("curl"):
        clients["curl -sN"] = ["curl", "-sN", "-X", "POST", "-d", "{}", url]
    try:
        import openai  # noqa: F401

        clients["OpenAI SDK loop"] = [py, "-c", OPENAI_SDK_LOOP, url]
    except ImportError:
        pass

    print(f"{args.events} events, {size / 1e6:.1f} MB, best of {args.runs} runs, {os.cpu_count()} cores")
    times = best_times(clients, args.runs)
    reference = times["httpx-sse loop (reference)"]
    for name, elapsed in times.items():
        if elapsed is None:
            print(f"{name:30s}  failed")
            continue
        ratio = f"{elapsed / reference:5.2f}x the httpx-sse loop" if reference else ""
        print(f"{name:30s} {elapsed:7.2f} s  {args.events / elapsed / 1000:8.0f} k events/s  {ratio}")
    chat, ws = times["streamchat -o ndjson"], times["streamchat ws-chat -o ndjson"]
    if chat and ws:
        print(f"ws-chat / chat (ndjson): {ws / chat:.2f}x")
    sdk = times.get("OpenAI SDK loop")
    if chat and sdk:
        print(f"chat -o ndjson / OpenAI SDK loop: {chat / sdk:.3f}x")


if __name__ == "__main__":
    main()
