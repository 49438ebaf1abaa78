"""How far bench's TTFT and ITL are from the truth: self-checks against the built-in server.

The built-in server's TTFT and ITL are configured, so measured − configured is bench's error (plus
whatever the server itself adds when it cannot keep up). Each setting runs ``--runs`` times; the
table shows every run, then a concurrency scan finds the highest concurrency whose p95 TTFT error
stays under the limit in every run.

    python3 benchmarks/bench_accuracy.py                       # 64 streams × 128 tokens, 10 ms apart
    python3 benchmarks/bench_accuracy.py --scan 64,96,128,192,256 --runs 2
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys


def run(concurrency: int, args: argparse.Namespace) -> dict:
    cmd = [
        sys.executable, "-m", "streamchat", "bench", "-q", "-o", "json",
        "--requests", str(concurrency * args.rounds), "--concurrency", str(concurrency), "--warmup", str(concurrency),
        "--server-tokens", str(args.tokens), "--server-itl-ms", str(args.itl_ms), "--server-ttft-ms", str(args.ttft_ms),
        "--server-workers", str(args.server_workers),
    ]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def row(concurrency: int, summary: dict) -> tuple[str, float]:
    ttft = summary["self_check"]["ttft_ms"]["measured_minus_configured"]
    itl = summary["self_check"]["itl_ms"]["measured_minus_configured"]
    lag = summary["client_loop_lag_ms"]
    text = (
        f"{concurrency:>6} {summary['ok']:>5}/{summary['requests']:<5} "
        f"{ttft['mean']:>+9.1f} {ttft['p95']:>+9.1f} {itl['mean']:>+9.1f} {itl['p95']:>+9.1f} {lag.get('p99', 0):>9.1f}"
    )
    return text, ttft["p95"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--itl-ms", type=float, default=10.0)
    parser.add_argument("--ttft-ms", type=float, default=50.0)
    parser.add_argument("--rounds", type=int, default=3, help="measured requests = concurrency × rounds")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--server-workers", type=int, default=2)
    parser.add_argument("--scan", default="", help="comma-separated concurrencies to scan")
    parser.add_argument("--limit-ms", type=float, default=10.0, help="p95 TTFT error limit for the scan")
    args = parser.parse_args()
    print(f"{args.tokens} tokens {args.itl_ms:g} ms apart, TTFT {args.ttft_ms:g} ms, server workers {args.server_workers}")
    print(
        f"{'conc':>6} {'ok/req':<11} {'ttft mean':>9} {'ttft p95':>9} {'itl mean':>9} {'itl p95':>9} {'loop p99':>9}  (ms, measured − configured)"
    )
    for _ in range(args.runs):
        print(row(args.concurrency, run(args.concurrency, args))[0], flush=True)
    if args.scan:
        best = None
        for concurrency in (int(c) for c in args.scan.split(",")):
            worst = max(row(concurrency, s)[1] for s in [run(concurrency, args) for _ in range(args.runs)])
            print(f"scan {concurrency:>5}: worst p95 TTFT error {worst:+.1f} ms", flush=True)
            if worst < args.limit_ms:
                best = concurrency
        print(f"highest concurrency with p95 TTFT error under {args.limit_ms:g} ms in every run: {best}")


if __name__ == "__main__":
    main()
