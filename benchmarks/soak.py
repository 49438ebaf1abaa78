"""Soak: many sequential chats, then rounds of 200 concurrent bench requests, against the built-in
server (loopback only, bounded in count and time), checking that open file descriptors and memory
do not grow.

Each chat is a full library call (request, stream, decode, render to an in-memory sink), over a new
HTTP connection, the way the CLI makes it. The bench half runs bench's own load generator (raw
asyncio client, 200 requests in flight) round after round in this process. RSS and open fds are
sampled as it goes; the bounds are +2 fds and +10 MiB from the first sample after warm-up.

    python3 benchmarks/soak.py [--chats 2000] [--bench-rounds 10] [--max-seconds 300]
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from streamchat.client.http import HTTPOptions  # noqa: E402
from streamchat.env import Environment  # noqa: E402
from streamchat.protocol.requests import ChatRequest  # noqa: E402
from streamchat.server.config import ServerConfig  # noqa: E402
from streamchat.server.embedded import start_in_thread  # noqa: E402
from streamchat.session.http import ChatTarget, run_http_chat  # noqa: E402
from streamchat.session.output import OutputOptions, make_renderer  # noqa: E402


def rss_kib() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=2000)
    parser.add_argument("--max-seconds", type=float, default=300)
    parser.add_argument("--bench-rounds", type=int, default=10, help="rounds of 200 concurrent bench requests")
    args = parser.parse_args()
    samples = []
    deadline = time.monotonic() + args.max_seconds
    with start_in_thread(ServerConfig(ttft_ms=0, itl_ms=0, reply_tokens=32)) as server:
        target = ChatTarget(server.url + "/v1/chat/completions", "openai")
        done = 0
        for i in range(args.chats):
            if time.monotonic() > deadline:
                break
            sink = io.BytesIO()
            env = Environment(stdin=None, stdout=sink, stderr=io.StringIO(), stdout_isatty=False, stderr_isatty=False)
            renderer = make_renderer(env, OutputOptions(mode="ndjson", quiet=True))
            reply = run_http_chat(target, ChatRequest(message=f"soak {i % 50}"), HTTPOptions(retries=0), renderer)
            assert reply.done and reply.content
            done += 1
            if i % 100 == 0 or i == args.chats - 1:
                samples.append((i, rss_kib(), open_fds()))
    ok = report(f"{done} sequential chats (ndjson, 32 tokens each, new connection each)", samples, "chat")
    ok = soak_bench(args.bench_rounds, deadline) and ok
    print("bounds (fds +2, RSS +10 MiB):", "held" if ok else "EXCEEDED")
    sys.exit(0 if ok else 1)


def report(title: str, samples: list[tuple[int, int, int]], unit: str) -> bool:
    warm = samples[min(2, len(samples) - 1)]
    last = samples[-1]
    print(title)
    print(
        f"  RSS after {unit} {warm[0]}: {warm[1] / 1024:.1f} MiB, after {unit} {last[0]}: {last[1] / 1024:.1f} MiB "
        f"(growth {(last[1] - warm[1]) / 1024:+.1f} MiB)"
    )
    print(f"  open fds after {unit} {warm[0]}: {warm[2]}, after {unit} {last[0]}: {last[2]} (growth {last[2] - warm[2]:+d})")
    return last[2] - warm[2] <= 2 and (last[1] - warm[1]) <= 10 * 1024


def soak_bench(rounds: int, deadline: float) -> bool:
    """Rounds of 200 concurrent requests through bench's load generator, against `serve --workers 2`."""
    import asyncio

    from streamchat.bench.command import serve_process
    from streamchat.bench.runner import LoadSpec, run_load

    samples = []
    failed = 0
    with serve_process({"--workers": 2, "--ttft-ms": 20, "--itl-ms": 5, "--reply-tokens": 32}) as base:
        spec = LoadSpec(base + "/api/chat/stream", requests=200, concurrency=200, prompts=[ChatRequest(message="soak")])
        for round_no in range(1, rounds + 1):
            if time.monotonic() > deadline:
                break
            records, _wall, _lag = asyncio.run(run_load(spec))
            failed += sum(r["status"] != "ok" for r in records)
            samples.append((round_no, rss_kib(), open_fds()))
    ok = report(f"{len(samples)} rounds of 200 concurrent bench requests ({failed} failed)", samples, "round")
    return ok and failed == 0


if __name__ == "__main__":
    main()
