"""Memory: peak RSS of `streamchat chat` on a 200,000-event stream against a 100-event one, per output mode.

The same raw loopback server as throughput.py; each client is its own process and its peak RSS comes
from the kernel (``os.wait4``'s rusage). ndjson must stay within 10 MB of the small run (it keeps
nothing per event); text and json keep the reply (json prints it at the end; text keeps it for -C
and the checks), so their growth is compared with the reply's own size.

    python3 benchmarks/memory.py [--events 200000]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests"))  # the raw loopback servers the tests use
from raw_servers import raw_server  # noqa: E402
from throughput import openai_events  # noqa: E402

# The client reports its own peak at exit, VmHWM of its own address space: ru_maxrss would carry
# over the pages the fork shared with this process (which holds the 31 MB bodies) before exec.
CLIENT = (
    "import atexit, re, sys\n"
    "hwm = lambda: re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1)\n"
    "atexit.register(lambda: sys.stderr.write('MAXRSS %s\\n' % hwm()))\n"
    "sys.argv = ['streamchat'] + sys.argv[1:]\n"
    "from streamchat.cli import main\n"
    "main()\n"
)


def peak_rss_mb(args: list[str]) -> float:
    with open(os.devnull, "wb") as sink:
        proc = subprocess.run([sys.executable, "-c", CLIENT, *args], stdout=sink, stderr=subprocess.PIPE, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"streamchat {' '.join(args)} exited {proc.returncode}: {proc.stderr[-300:]}")
    return int(proc.stderr.rsplit("MAXRSS ", 1)[1].split()[0]) / 1024  # kB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=200_000)
    args = parser.parse_args()
    small_body, big_body = openai_events(100), openai_events(args.events)
    reply_mb = sum(len(f" tok{i % 1000}") for i in range(args.events)) / 2**20
    print(f"reply: {args.events} events, {len(big_body) / 2**20:.1f} MiB on the wire, {reply_mb:.2f} MiB of content")
    with raw_server(small_body) as small_url, raw_server(big_body) as big_url:
        for mode in ("ndjson", "text", "json"):
            runs = {}
            for label, url in (("100", small_url), (str(args.events), big_url)):
                runs[label] = peak_rss_mb(["chat", "--url", url, "-m", "m", "-o", mode, "-q", "--max-response-size", "1GB", "hi"])
            small, big = runs["100"], runs[str(args.events)]
            print(f"-o {mode:<7} peak RSS 100 events {small:6.1f} MiB, {args.events} events {big:6.1f} MiB: +{big - small:.1f} MiB")


if __name__ == "__main__":
    main()
