"""How far bench's TTFT is from the truth, side by side with GuideLLM on the same peer and load.

    python3 benchmarks/bench_accuracy.py                        # 128 streams, 2 runs of each tool
    python3 benchmarks/bench_accuracy.py --streams 64 --runs 3 --guidellm /path/to/bin/guidellm
    python3 benchmarks/bench_accuracy.py --self-check --scan 64,96,128   # against the built-in server

The truth is a raw asyncio peer (benchmarks/raw_peer.py, none of streamchat's code) that streams
OpenAI chat completions with a fixed TTFT and ITL and stamps CLOCK_MONOTONIC when each request's last
byte arrives and when each first token's write returns. Per request, the TTFT error is the load
tester's TTFT minus the peer's (first write − arrival): what the client adds, sending and reading.
For bench it is split, on the one clock both use, into send → arrival and first write → bench's read
(bench's own share; its read stamp is computed as send time + TTFT, since records carry no raw
stamp). GuideLLM stamps time.time(), another clock, so only its TTFT error (a difference of two
durations) is shown. Without GuideLLM (see benchmarks/README.md to install it) the comparison is
skipped and said so. Tools alternate run by run, each against a fresh peer.

``--self-check`` keeps the older measurement: bench against the built-in server, measured minus
configured, with a concurrency scan.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import accuracy_runs as runs

from streamchat.bench.metrics import describe


def same_clock() -> bool:
    """bench stamps time.perf_counter(), the peer time.monotonic_ns(): comparable only when both read
    CLOCK_MONOTONIC, as they do on Linux."""
    names = [time.get_clock_info(name).implementation for name in ("perf_counter", "monotonic")]
    return all("CLOCK_MONOTONIC" in name and "RAW" not in name for name in names)


def match(measured: list[runs.Measured], stamps: list[dict]) -> list[dict]:
    """Each measured request with the peer's stamps for its prompt (the first arrival after it was
    sent, when the tester's clock is the peer's: bench's warmup sent the same prompts earlier)."""
    by_prompt: dict[int, list[dict]] = {}
    for stamp in stamps:
        found = runs.PROMPT_ID.search(stamp["prompt"])
        if found:
            by_prompt.setdefault(int(found.group(1)), []).append(stamp)
    rows = []
    for m in measured:
        candidates = sorted(by_prompt.get(m.prompt_id, []), key=lambda s: s["arrive_ns"])
        if m.sent is not None:
            candidates = [s for s in candidates if s["arrive_ns"] / 1e9 >= m.sent]
        if not candidates:
            continue
        stamp = candidates[0] if m.sent is not None else candidates[-1]
        server_ttft = (stamp["first_ns"] - stamp["arrive_ns"]) / 1e6
        row = {"client_ttft": m.ttft_ms, "server_ttft": server_ttft, "error": m.ttft_ms - server_ttft}
        if m.sent is not None and m.read is not None:
            row["send_to_arrival"] = (stamp["arrive_ns"] / 1e9 - m.sent) * 1000.0
            row["write_to_read"] = (m.read - stamp["first_ns"] / 1e9) * 1000.0
        rows.append(row)
    return rows


def summary(tool: str, number: int, rows: list[dict], load: runs.Load) -> dict:
    out = {"tool": tool, "run": number, "matched": len(rows)}
    for key in ("error", "client_ttft", "server_ttft", "send_to_arrival", "write_to_read"):
        stats = describe([row[key] for row in rows if key in row])
        if stats:
            out[key] = stats
    late = describe([row["server_ttft"] - load.ttft_ms for row in rows])
    out["peer_late"] = late
    return out


def line(result: dict) -> str:
    def cell(key: str, stat: str) -> str:
        return f"{result[key][stat]:>+8.1f}" if key in result else f"{'–':>8}"

    return (
        f"{result['tool']:<9} {result['run']:>3} {result['matched']:>7} "
        f"{cell('error', 'mean')} {cell('error', 'p95')} {cell('send_to_arrival', 'mean')} {cell('write_to_read', 'mean')} "
        f"{cell('write_to_read', 'p95')} {cell('peer_late', 'mean')}"
    )


HEADER = (
    f"{'tool':<9} {'run':>3} {'matched':>7} {'err mean':>8} {'err p95':>8} {'send→arr':>8} {'wr→read':>8} {'wr→r p95':>8} {'peer late':>8}"
    "   (ms; err = client TTFT − peer TTFT)"
)


def compare(args: argparse.Namespace) -> None:
    if not same_clock():
        raise SystemExit("time.perf_counter and time.monotonic are not both CLOCK_MONOTONIC here: the stamps cannot be compared")
    load = runs.Load(args.streams, args.streams * args.rounds, args.streams, args.tokens, args.ttft_ms, args.itl_ms, args.peer_workers)
    guidellm = runs.find_guidellm(args.guidellm)
    print(
        f"{load.streams} streams, {load.requests} measured requests after {load.warmup} warmup, {load.tokens} tokens "
        f"{load.itl_ms:g} ms apart, TTFT {load.ttft_ms:g} ms, peer processes {load.peer_workers}; clocks: perf_counter and "
        f"monotonic are {time.get_clock_info('perf_counter').implementation}"
    )
    if guidellm is None:
        print("GuideLLM is not installed (--guidellm PATH, $GUIDELLM, or on PATH): comparison skipped, bench alone")
    results = []
    with runs.scratch() as folder:
        tokenizer = runs.build_tokenizer(guidellm, folder) if guidellm else None
        if guidellm:
            version = subprocess.run([guidellm, "--version"], capture_output=True, text=True).stdout.strip()
            print(f"GuideLLM: {guidellm} ({version})")
        print(HEADER, flush=True)
        for number in range(1, args.runs + 1):
            tools = ["bench", "guidellm"] if guidellm else ["bench"]
            if number % 2 == 0:
                tools.reverse()  # neither tool always runs on a cooler machine
            for tool in tools:
                with runs.peer(load, folder) as (url, stamps_path):
                    if tool == "bench":
                        measured = runs.run_bench(url, load)
                    else:
                        measured = runs.run_guidellm(guidellm, url, load, tokenizer, folder)  # type: ignore[arg-type]
                    time.sleep(0.2)  # the peer appends a stream's line as it ends; the last ones land now
                    rows = match(measured, runs.peer_stamps(stamps_path))
                result = summary(tool, number, rows, load)
                results.append(result)
                print(line(result), flush=True)
    verdict(results)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"load": load.__dict__, "results": results}, fh, indent=1)


def verdict(results: list[dict]) -> None:
    def means(tool: str) -> list[float]:
        return [r["error"]["mean"] for r in results if r["tool"] == tool and "error" in r]

    bench, guide = means("bench"), means("guidellm")
    if not guide:
        print("comparison with GuideLLM skipped: GuideLLM is not installed")
        return
    ratio = (sum(bench) / len(bench)) / (sum(guide) / len(guide))
    print(
        f"mean TTFT error: bench {min(bench):+.1f} … {max(bench):+.1f} ms, GuideLLM {min(guide):+.1f} … {max(guide):+.1f} ms; "
        f"bench / GuideLLM = {ratio:.2f} (target ≤ 0.5: {'met' if ratio <= 0.5 else 'missed'})"
    )


# --self-check: bench against the built-in server, measured minus configured.


def self_check_run(concurrency: int, args: argparse.Namespace) -> dict:
    cmd = [
        sys.executable, "-m", "streamchat", "bench", "-q", "-o", "json",
        "--requests", str(concurrency * args.rounds), "--concurrency", str(concurrency), "--warmup", str(concurrency),
        "--server-tokens", str(args.tokens), "--server-itl-ms", str(args.itl_ms), "--server-ttft-ms", str(args.ttft_ms),
        "--server-workers", str(args.server_workers),
    ]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def self_check_row(concurrency: int, summary: dict) -> tuple[str, float]:
    ttft = summary["self_check"]["ttft_ms"]["measured_minus_configured"]
    itl = summary["self_check"]["itl_ms"]["measured_minus_configured"]
    lag = summary["client_loop_lag_ms"]
    text = (
        f"{concurrency:>6} {summary['ok']:>5}/{summary['requests']:<5} "
        f"{ttft['mean']:>+9.1f} {ttft['p95']:>+9.1f} {itl['mean']:>+9.1f} {itl['p95']:>+9.1f} {lag.get('p99', 0):>9.1f}"
    )
    return text, ttft["p95"]


def self_check(args: argparse.Namespace) -> None:
    concurrency = args.streams
    print(f"{args.tokens} tokens {args.itl_ms:g} ms apart, TTFT {args.ttft_ms:g} ms, server workers {args.server_workers}")
    print(
        f"{'conc':>6} {'ok/req':<11} {'ttft mean':>9} {'ttft p95':>9} {'itl mean':>9} {'itl p95':>9} {'loop p99':>9}  (ms, measured − configured)"
    )
    for _ in range(args.runs):
        print(self_check_row(concurrency, self_check_run(concurrency, args))[0], flush=True)
    if args.scan:
        best = None
        for concurrency in (int(c) for c in args.scan.split(",")):
            worst = max(self_check_row(concurrency, s)[1] for s in [self_check_run(concurrency, args) for _ in range(args.runs)])
            print(f"scan {concurrency:>5}: worst p95 TTFT error {worst:+.1f} ms", flush=True)
            if worst < args.limit_ms:
                best = concurrency
        print(f"highest concurrency with p95 TTFT error under {args.limit_ms:g} ms in every run: {best}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--streams", type=int, default=128, help="concurrent streams (self-check: its concurrency)")
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--itl-ms", type=float, default=10.0)
    parser.add_argument("--ttft-ms", type=float, default=50.0)
    parser.add_argument("--rounds", type=int, default=2, help="measured requests = streams × rounds (after streams warmup)")
    parser.add_argument("--runs", type=int, default=2, help="runs of each tool")
    parser.add_argument("--peer-workers", type=int, default=1, help="raw peer processes")
    parser.add_argument("--guidellm", help="the guidellm executable [default: $GUIDELLM, else PATH]")
    parser.add_argument("--json", help="also write every run's numbers here")
    parser.add_argument("--self-check", action="store_true", help="bench against the built-in server instead (no peer, no GuideLLM)")
    parser.add_argument("--server-workers", type=int, default=2, help="self-check: the built-in server's processes")
    parser.add_argument("--scan", default="", help="self-check: comma-separated concurrencies to scan")
    parser.add_argument("--limit-ms", type=float, default=10.0, help="self-check: p95 TTFT error limit for the scan")
    args = parser.parse_args()
    self_check(args) if args.self_check else compare(args)


if __name__ == "__main__":
    main()
