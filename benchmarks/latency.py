"""Latency: from the server writing an event to streamchat writing it into a pipe, events 10 ms apart.

A raw loopback server, in its own process, writes one OpenAI chunk every ``--gap-ms``; each chunk's
content is the server's ``time.perf_counter()`` just before the write. ``streamchat chat -o ndjson``
reads the stream and writes into a pipe; this script reads the pipe and stamps each line on arrival.
On Linux ``perf_counter`` is CLOCK_MONOTONIC, one clock for every process of the machine, so arrival
minus the server's stamp is the latency through streamchat (plus one pipe hop, a few µs).

    python3 benchmarks/latency.py [--events 500] [--gap-ms 10]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def serve(port_file: str, events: int, gap: float) -> None:
    """One connection: answer with a chunked SSE stream, one stamped event every ``gap`` seconds."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    with open(port_file, "w") as fh:
        fh.write(str(listener.getsockname()[1]))
    conn, _ = listener.accept()
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    data = b""
    while b"\r\n\r\n" not in data:
        data += conn.recv(65536)
    conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n")
    start = time.perf_counter()
    for i in range(events):
        delay = start + i * gap - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        stamp = repr(time.perf_counter())
        body = b'data: {"choices":[{"index":0,"delta":{"content":"%s"}}]}\n\n' % stamp.encode()
        conn.sendall(b"%x\r\n%s\r\n" % (len(body), body))
    tail = b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n'
    conn.sendall(b"%x\r\n%s\r\n0\r\n\r\n" % (len(tail), tail))
    conn.close()


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round((len(ordered) - 1) * pct / 100))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--gap-ms", type=float, default=10.0)
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.events, args.gap_ms / 1000)
        return
    port_file = f"/tmp/streamchat-latency-{os.getpid()}"
    server = subprocess.Popen([sys.executable, __file__, "--serve", port_file, "--events", str(args.events), "--gap-ms", str(args.gap_ms)])
    try:
        while not os.path.exists(port_file) or not open(port_file).read():
            time.sleep(0.01)
        url = f"http://127.0.0.1:{open(port_file).read()}/v1/chat/completions"
        client = subprocess.Popen(
            [sys.executable, "-m", "streamchat", "chat", "--url", url, "-m", "m", "-o", "ndjson", "-q", "hi"], stdout=subprocess.PIPE
        )
        assert client.stdout is not None
        latencies = []
        for line in client.stdout:  # readline: each line as soon as streamchat writes it
            arrived = time.perf_counter()
            event = json.loads(line)
            if event.get("type") == "content":
                latencies.append((arrived - float(event["text"])) * 1000)
        client.wait()
    finally:
        server.wait(timeout=30)
        os.unlink(port_file)
    steady = latencies[5:]  # the first events ride on connection set-up
    print(f"{len(steady)} events {args.gap_ms:g} ms apart, server write → line in the pipe (ms):")
    print(
        f"  mean {sum(steady) / len(steady):.3f}  p50 {percentile(steady, 50):.3f}  p90 {percentile(steady, 90):.3f}  "
        f"p99 {percentile(steady, 99):.3f}  max {max(steady):.3f}   (target p99 < 1 ms)"
    )


if __name__ == "__main__":
    main()
