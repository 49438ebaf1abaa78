"""serve under attack: `streamchat serve --token T` on loopback against hostile clients, all at once,
while a legitimate client streams chats back to back.

The attack (every knob below): 1,000 idle connections that never send a byte; 200 slowloris heads
that send one header byte a second and never finish; 2 GB of unauthenticated request body offered
over several connections (half with a Content-Length, half chunked; each sender reconnects when cut
off, until its share is offered or the attack is over); a 16000×16000 camera request, again every
second. It prints the server's peak RSS (VmHWM) and open descriptors, /healthz latency (a new
connection per probe, every 20 ms), whether every attacker connection was closed within 15 s, and how
many chats failed; it exits 1 when a target is missed.

    python3 benchmarks/serve_abuse.py [--idle 1000] [--slowloris 200] [--body-gb 2] [--body-connections 8]

Targets: peak RSS < 150 MB, /healthz p99 < 50 ms, every attacker connection closed within 15 s, no
chat failed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOKEN = "abuse-token-0123456789"
HOST = "127.0.0.1"
CLOSE_WITHIN = 15.0
CHUNK = b"x" * 65536


@dataclass
class Tally:
    """Attacker connections: when each opened and when the server closed it."""

    lifetimes: dict[str, list[float]] = field(default_factory=dict)
    open_at_end: dict[str, int] = field(default_factory=dict)

    def closed(self, kind: str, opened: float) -> None:
        self.lifetimes.setdefault(kind, []).append(time.monotonic() - opened)

    def still_open(self, kind: str) -> None:
        self.open_at_end[kind] = self.open_at_end.get(kind, 0) + 1


async def until_closed(reader: asyncio.StreamReader, limit: float) -> bool:
    """Read and drop until the server closes; False if it has not within ``limit`` seconds."""
    try:
        async with asyncio.timeout(limit):
            while await reader.read(65536):
                pass
    except TimeoutError:
        return False
    except OSError:
        pass
    return True


async def idle(port: int, tally: Tally, limit: float) -> None:
    reader, writer = await asyncio.open_connection(HOST, port)
    opened = time.monotonic()
    if await until_closed(reader, limit):
        tally.closed("idle", opened)
    else:
        tally.still_open("idle")
    writer.close()


async def slowloris(port: int, tally: Tally, limit: float) -> None:
    reader, writer = await asyncio.open_connection(HOST, port)
    opened = time.monotonic()
    closed = asyncio.ensure_future(until_closed(reader, limit))
    try:
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        for _ in range(int(limit) + 1):
            if closed.done():
                break
            writer.write(b"X")  # a byte a second of a header name that never ends
            await asyncio.wait({closed}, timeout=1.0)
    except OSError:
        pass
    if await closed:
        tally.closed("slowloris", opened)
    else:
        tally.still_open("slowloris")
    writer.close()


async def body_sender(port: int, share: int, chunked: bool, tally: Tally, stop: float, taken: list[int], statuses: list[int]) -> None:
    """Offer ``share`` bytes of unauthenticated body, reconnecting whenever the server cuts us off."""
    offered = 0
    while offered < share and time.monotonic() < stop:
        reader, writer = await asyncio.open_connection(HOST, port)
        opened = time.monotonic()
        framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {share - offered}"
        writer.write(f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{framing}\r\n\r\n".encode())
        answer = asyncio.ensure_future(reader.read(12))
        piece = b"%x\r\n%s\r\n" % (len(CHUNK), CHUNK) if chunked else CHUNK
        try:
            while offered < share and not answer.done():
                writer.write(piece)
                await writer.drain()
                offered += len(CHUNK)
                taken[0] += len(CHUNK)
        except OSError:
            pass
        try:
            head = await asyncio.wait_for(answer, CLOSE_WITHIN)
        except OSError:
            done = True  # reset before we read the answer: closed all the same
        except TimeoutError:
            done = False
        else:
            if head[:9] == b"HTTP/1.1 ":
                statuses.append(int(head[9:12]))
            done = await until_closed(reader, CLOSE_WITHIN)
        if done:
            tally.closed("body", opened)
        else:
            tally.still_open("body")
        writer.close()


async def camera(port: int, tally: Tally, stop: float, statuses: list[int]) -> None:
    while time.monotonic() < stop:
        reader, writer = await asyncio.open_connection(HOST, port)
        opened = time.monotonic()
        writer.write(
            f"GET /ws/stream/cam?width=16000&height=16000&token={TOKEN} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        head = await reader.read(12)
        statuses.append(int(head[9:12]) if head[:9] == b"HTTP/1.1 " else 0)
        if await until_closed(reader, CLOSE_WITHIN):
            tally.closed("camera", opened)
        else:
            tally.still_open("camera")
        writer.close()
        await asyncio.sleep(1.0)


async def request(port: int, raw: bytes) -> bytes:
    reader, writer = await asyncio.open_connection(HOST, port)
    writer.write(raw)
    data = await reader.read()  # the server closes after the answer (Connection: close)
    writer.close()
    return data


async def healthz_probe(port: int, stop: float, latencies: list[float], failures: list[str]) -> None:
    raw = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    while time.monotonic() < stop:
        began = time.perf_counter()
        try:
            answer = await asyncio.wait_for(request(port, raw), 5)
            if not answer.startswith(b"HTTP/1.1 200"):
                failures.append(answer[:40].decode("latin-1"))
        except (TimeoutError, OSError) as exc:
            failures.append(type(exc).__name__)
        latencies.append((time.perf_counter() - began) * 1000)
        await asyncio.sleep(0.02)


async def chats(port: int, stop: float, outcomes: list[str]) -> None:
    body = json.dumps({"model": "m", "messages": [{"role": "user", "content": "Hi"}], "stream": True}).encode()
    raw = (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode() + body
    while time.monotonic() < stop:
        try:
            answer = await asyncio.wait_for(request(port, raw), 30)
            ok = answer.startswith(b"HTTP/1.1 200") and b"data: [DONE]" in answer and b'"finish_reason":"stop"' in answer
            outcomes.append("ok" if ok else "bad: " + answer[:60].decode("latin-1"))
        except (TimeoutError, OSError) as exc:
            outcomes.append(f"failed: {type(exc).__name__}")


def proc_status(pid: int, key: str) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


async def sample_fds(pid: int, stop: asyncio.Event, peak: list[int]) -> None:
    while not stop.is_set():
        try:
            peak[0] = max(peak[0], len(os.listdir(f"/proc/{pid}/fd")))
        except OSError:
            return
        await asyncio.sleep(0.05)


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def attack(pid: int, port: int, args: argparse.Namespace) -> bool:
    tally = Tally()
    stop_at = time.monotonic() + args.attack_seconds
    latencies: list[float] = []
    probe_failures: list[str] = []
    outcomes: list[str] = []
    taken = [0]
    body_statuses: list[int] = []
    camera_statuses: list[int] = []
    fds_done, peak_fds = asyncio.Event(), [0]
    sampler = asyncio.ensure_future(sample_fds(pid, fds_done, peak_fds))
    limit = CLOSE_WITHIN + 5  # how long an attacker waits for the server before counting it as kept open
    idle_conns = []
    for start in range(0, args.idle, 100):  # open them in bursts, as a scanner would
        idle_conns += [asyncio.ensure_future(idle(port, tally, limit)) for _ in range(min(100, args.idle - start))]
        await asyncio.sleep(0.01)
    lorises = [asyncio.ensure_future(slowloris(port, tally, limit)) for _ in range(args.slowloris)]
    share = int(args.body_gb * 1024**3) // args.body_connections
    bodies = [
        asyncio.ensure_future(body_sender(port, share, i % 2 == 1, tally, stop_at, taken, body_statuses))
        for i in range(args.body_connections)
    ]
    cam = asyncio.ensure_future(camera(port, tally, stop_at, camera_statuses))
    probe = asyncio.ensure_future(healthz_probe(port, stop_at, latencies, probe_failures))
    chatter = asyncio.ensure_future(chats(port, stop_at, outcomes))
    await asyncio.gather(*idle_conns, *lorises, *bodies, cam, probe, chatter)
    fds_done.set()
    await sampler

    peak_rss = proc_status(pid, "VmHWM") / 1024
    lifetimes = [t for values in tally.lifetimes.values() for t in values]
    kept = sum(tally.open_at_end.values())
    slowest = max(lifetimes, default=0.0)
    all_closed = kept == 0 and slowest <= CLOSE_WITHIN
    failed = [o for o in outcomes if o != "ok"]
    p99 = p(latencies, 0.99)
    print(
        f"attack: {args.idle} idle, {args.slowloris} slowloris, {args.body_gb:g} GB unauthenticated body offered over "
        f"{args.body_connections} senders, camera 16000x16000 every second; {args.attack_seconds:g} s"
    )
    print(f"peak RSS of the server: {peak_rss:.1f} MB (target < 150 MB)")
    print(f"peak open descriptors of the server: {peak_fds[0]}")
    print(
        f"/healthz during the attack: {len(latencies)} probes, p50 {p(latencies, 0.5):.1f} ms, p99 {p99:.1f} ms, "
        f"max {max(latencies, default=0):.1f} ms, {len(probe_failures)} failed (target p99 < 50 ms)"
    )
    for kind in ("idle", "slowloris", "body", "camera"):
        times = tally.lifetimes.get(kind, [])
        print(
            f"  {kind:9} connections closed by the server: {len(times)}, slowest after {max(times, default=0):.2f} s, "
            f"median {statistics.median(times) if times else 0:.2f} s; still open: {tally.open_at_end.get(kind, 0)}"
        )
    print(f"every attacker connection closed within {CLOSE_WITHIN:g} s: {'yes' if all_closed else 'NO'} (slowest {slowest:.2f} s)")
    statuses = sorted(set(body_statuses))
    print(
        f"unauthenticated body: {taken[0] / 1024**2:.1f} MB got into sockets before the cut-offs "
        f"({len(tally.lifetimes.get('body', []))} connections, answers {statuses})"
    )
    print(f"camera 16000x16000: answers {sorted(set(camera_statuses))}")
    print(f"chats: {len(outcomes)} streamed, {len(failed)} failed (target: none){': ' + failed[0] if failed else ''}")
    met = peak_rss < 150 and p99 < 50 and all_closed and not failed and not probe_failures
    print("targets met" if met else "TARGET MISSED")
    return met


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idle", type=int, default=1000)
    parser.add_argument("--slowloris", type=int, default=200)
    parser.add_argument("--body-gb", type=float, default=2.0)
    parser.add_argument("--body-connections", type=int, default=8)
    parser.add_argument(
        "--attack-seconds", type=float, default=14.0, help="how long the senders, the camera, the probe and the chats go on"
    )
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, args.idle + args.slowloris + 512)), hard))
    env = {**os.environ, "PYTHONPATH": ROOT}
    server = subprocess.Popen(
        [sys.executable, "-m", "streamchat", "serve", "--port", "0", "--token", TOKEN],
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        line = server.stdout.readline() if server.stdout else ""
        if not line.startswith("listening on"):
            raise SystemExit(f"the server did not start: {line!r}")
        port = int(line.rsplit(":", 1)[1])
        print(f"server: streamchat serve --token T, pid {server.pid}, RSS at start {proc_status(server.pid, 'VmRSS') / 1024:.1f} MB")
        met = asyncio.run(attack(server.pid, port, args))
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
    sys.exit(0 if met else 1)


if __name__ == "__main__":
    main()
