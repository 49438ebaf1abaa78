"""The same bench load with `--workers 2` (local processes) and `--ray local --workers 2` (Ray actors).

Against one built-in server (`serve --workers 2`, TTFT 50 ms, 64 tokens 10 ms apart), each mode runs
``--runs`` times, alternating; the table shows TTFT and ITL percentiles of every run, then each
mode's mean and the spread between runs of the same mode (the run-to-run noise) next to the
difference between the modes.

    python3 benchmarks/ray_vs_workers.py [--runs 3] [--requests 96] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from streamchat.bench.command import serve_process  # noqa: E402

KEYS = (("ttft_ms", "p50"), ("ttft_ms", "p95"), ("itl_ms", "p50"), ("itl_ms", "p95"))


def run(url: str, mode: list[str], args: argparse.Namespace) -> dict:
    cmd = [sys.executable, "-m", "streamchat", "bench", "--url", url, "-q", "-o", "json", "--workers", "2",
           "--requests", str(args.requests), "--concurrency", str(args.concurrency), "--warmup", str(args.concurrency), *mode]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--requests", type=int, default=96)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    modes = {"--workers 2": [], "--ray local": ["--ray", "local"]}
    values: dict[str, list[list[float]]] = {name: [] for name in modes}
    print(f"{'mode':<12} " + " ".join(f"{k}.{s:<4}" for k, s in KEYS))
    with serve_process({"--workers": 2, "--ttft-ms": 50, "--itl-ms": 10, "--reply-tokens": 64}) as base:
        url = base + "/api/chat/stream"
        for _ in range(args.runs):
            for name, extra in modes.items():
                summary = run(url, extra, args)
                row = [summary[k][s] for k, s in KEYS]
                values[name].append(row)
                print(f"{name:<12} " + " ".join(f"{v:>11.2f}" for v in row), flush=True)
    print()
    for index, (key, stat) in enumerate(KEYS):
        means = {name: sum(r[index] for r in rows) / len(rows) for name, rows in values.items()}
        noise = max(max(r[index] for r in rows) - min(r[index] for r in rows) for rows in values.values())
        a, b = means.values()
        print(f"{key}.{stat}: workers {a:.2f} ms, ray {b:.2f} ms, difference {b - a:+.2f} ms; run-to-run spread up to {noise:.2f} ms")


if __name__ == "__main__":
    main()
