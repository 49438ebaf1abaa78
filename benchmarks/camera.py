"""Camera throughput: frames per second saved to disk at 1280x720, streamchat against a minimal loop.

The built-in server runs as its own process (`streamchat serve --fps 0`: frames as fast as it can,
rendered once and reused); both clients run as their own process, take N frames and write each to a
file. (With the server in the harness's own process the minimal loop stalled for seconds at a time.)

    python3 benchmarks/camera.py [--frames 300] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

MINIMAL_LOOP = r"""
import base64, json, os, sys
from websockets.sync.client import connect
url, count, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with connect(url, max_size=None, max_queue=None) as ws:  # no read pause: the close must get through
    for seq in range(1, count + 1):
        frame = json.loads(ws.recv())
        with open(os.path.join(out, f"cam-{seq:06d}.jpg"), "wb") as fh:
            fh.write(base64.b64decode(frame["frame"]))
"""


def timed(cmd: list[str], runs: int) -> float:
    best = float("inf")
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as out:
            cmd_run = [c.replace("{OUT}", out) for c in cmd]
            start = time.perf_counter()
            proc = subprocess.run(cmd_run, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            elapsed = time.perf_counter() - start
            if proc.returncode != 0:
                raise SystemExit(f"{cmd[:4]} failed: {proc.stderr.decode()[-400:]}")
        best = min(best, elapsed)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    py = sys.executable
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    serve = [py, "-m", "streamchat", "serve", "--port", "0", "--fps", "0", "--width", "1280", "--height", "720"]
    server = subprocess.Popen(serve, stdout=subprocess.PIPE, text=True, env=env)
    try:
        url = server.stdout.readline().split()[-1].replace("http", "ws", 1) + "/ws/stream/cam"
        timed([py, "-c", MINIMAL_LOOP, url, "48", "{OUT}"], 1)  # warm-up: the server renders its frames once
        minimal = timed([py, "-c", MINIMAL_LOOP, url, str(args.frames), "{OUT}"], args.runs)
        camera = [py, "-m", "streamchat", "camera", "cam", "--url", url, "--frames", str(args.frames), "--save-dir", "{OUT}", "-q"]
        ours = timed(camera, args.runs)
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(f"{args.frames} frames of 1280x720, best of {args.runs} runs, {os.cpu_count()} cores")
    print(f"minimal websockets + base64 loop  {minimal:6.2f} s  {args.frames / minimal:7.1f} fps")
    print(f"streamchat camera --save-dir      {ours:6.2f} s  {args.frames / ours:7.1f} fps  {ours / minimal:.2f}x the loop's time")


if __name__ == "__main__":
    main()
