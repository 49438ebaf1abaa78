"""Make the bench report's test fixtures by running bench against the built-in server.

    python3 tests/data/bench/make_fixtures.py

Each run is ``bench -o ndjson`` (records, then the summary) folded into the one-file shape a run's
JSON has: the summary with every record under ``"records"``. The sweep is built the way ``--sweep``
builds one: a closed-loop run gives the saturation rate, then open-loop runs at rates up to it.
Floats are rounded to microseconds to keep the files small. Two runs also carry failures: the first
requests a server process sees answer 503.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SERVER = ["--server-tokens", "24", "--server-itl-ms", "10", "--server-ttft-ms", "40"]


def rounded(value):
    if isinstance(value, float):
        return round(value, 3)
    if isinstance(value, list):
        return [rounded(v) for v in value]
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    return value


def run(*args: str) -> dict:
    cmd = [sys.executable, "-m", "streamchat", "bench", "-q", "-o", "ndjson", *SERVER, *args]
    lines = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.splitlines()
    *records, summary = (json.loads(line) for line in lines if line.strip())
    return rounded({**summary, "records": records})


def write(name: str, value: dict) -> None:
    (HERE / name).write_text(json.dumps(value) + "\n", encoding="utf-8")


def main() -> None:
    fault = ["-H", "X-Streamchat-Fault: status=503,count=2"]
    write("run_c8.json", run("--requests", "120", "--concurrency", "8"))
    write("run_c32.json", run("--requests", "120", "--concurrency", "32", *fault))
    # One server process, so the top rates come near what it can serve and latency climbs.
    saturation = run("--requests", "256", "--concurrency", "128", "--server-workers", "1")["requests_per_s"]
    rates = [round(saturation * share, 1) for share in (0.25, 0.5, 0.75, 1.0)]
    entries = []
    for rate in rates:
        entry = run("--requests", str(max(24, int(rate / 2))), "--rate", str(rate), "--server-workers", "1")
        entries.append({"rate": rate, **entry})
    best = max((e["rate"] for e in entries if (e["ttft_ms"] or {}).get("p95", 1e9) <= 200), default=None)
    write("sweep.json", {"sweep": entries, "saturation_rate": round(saturation, 2), "max_rate_meeting_slo": best})
    # A run as today's -o json writes it: the summary alone, no records.
    summary = json.loads((HERE / "run_c8.json").read_text())
    summary.pop("records")
    write("summary_only.json", summary)


if __name__ == "__main__":
    main()
