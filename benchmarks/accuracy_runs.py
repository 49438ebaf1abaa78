"""The runs bench_accuracy.py compares: the raw peer, bench's load generator, and GuideLLM.

Each load tester gets the same load against a fresh raw peer (benchmarks/raw_peer.py) and gives back,
per measured request, its prompt's id and its own TTFT; the peer's stamps give the server's TTFT for
the same prompt. Prompts are ``req-N ...``, one a request, so a request is matched by its id.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PROMPT = "req-{} Tell me about streaming."
PROMPT_ID = re.compile(r"req-(\d+)")


@dataclass
class Load:
    streams: int
    requests: int  # measured
    warmup: int
    tokens: int
    ttft_ms: float
    itl_ms: float
    peer_workers: int


@dataclass
class Measured:
    """One measured request as a load tester saw it; ``sent``/``read`` are CLOCK_MONOTONIC seconds
    when the tester's clock is that one (bench), else None."""

    prompt_id: int
    ttft_ms: float
    sent: float | None = None
    read: float | None = None


@contextlib.contextmanager
def peer(load: Load, folder: str) -> Iterator[tuple[str, str]]:
    """A fresh raw peer; yields (base URL, its stamps file)."""
    stamps = os.path.join(folder, f"stamps-{time.monotonic_ns()}.ndjson")
    cmd = [sys.executable, str(HERE / "raw_peer.py"), "--port", "0", "--stamps", stamps, "--tokens", str(load.tokens)]
    cmd += ["--ttft-ms", str(load.ttft_ms), "--itl-ms", str(load.itl_ms), "--workers", str(load.peer_workers)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        if not line.startswith("listening on "):
            raise SystemExit("the raw peer did not start")
        yield line.split()[-1], stamps
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def peer_stamps(path: str) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


# bench: its load generator, run_load, the function `streamchat bench` runs for one process, in a child
# process of its own. run_load's before_measure hook is awaited just before it stamps the start of the
# measured part, so a perf_counter() taken there is that start to within microseconds: a record's
# send time is that start plus its start_s, and its first-token read is the send time plus its TTFT
# (the records carry no raw stamps, so the read stamp is computed that way).

BENCH_CHILD = """
import asyncio, json, sys, time
from streamchat.bench.runner import LoadSpec, run_load
from streamchat.protocol.validation import chat_request
url, streams, requests, warmup, prompt = sys.argv[1], *map(int, sys.argv[2:5]), sys.argv[5]
prompts = [chat_request({"model_id": "m", "message": prompt.format(i)}, "prompt") for i in range(requests)]
spec = LoadSpec(url=url, dialect="openai", transport="sse", requests=requests, concurrency=streams, warmup=warmup, prompts=prompts)
start = []
async def before_measure():
    start.append(time.perf_counter())
records, wall, lag = asyncio.run(run_load(spec, before_measure=before_measure))
json.dump({"start": start[0], "records": records, "wall": wall, "lag": lag}, sys.stdout)
"""


def run_bench(url: str, load: Load) -> list[Measured]:
    cmd = [sys.executable, "-c", BENCH_CHILD, url + "/v1/chat/completions", str(load.streams), str(load.requests), str(load.warmup), PROMPT]
    out = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT).stdout)
    measured = []
    for record in out["records"]:
        if record.get("status") == "ok" and record.get("ttft_ms") is not None:
            sent = out["start"] + record["start_s"]
            measured.append(Measured(record["id"], record["ttft_ms"], sent, sent + record["ttft_ms"] / 1000.0))
    return measured


# GuideLLM: its CLI, as a person runs it, on the same peer and load. It has no notion of bench's
# warmup requests, so it sends warmup + measured requests and the first `warmup` to start are left out.


def find_guidellm(given: str | None) -> str | None:
    for candidate in (given, os.environ.get("GUIDELLM"), shutil.which("guidellm")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


TOKENIZER = """
import sys
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast
tok = Tokenizer(models.BPE())
tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
tok.decoder = decoders.ByteLevel()
trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=["<|endoftext|>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
tok.train_from_iterator(["req-0123456789 Tell me about streaming. tok tok tok The quick brown fox jumps over the lazy dog."] * 50, trainer)
fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>", bos_token="<|endoftext|>")
fast.chat_template = "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\\n{% endfor %}"
fast.save_pretrained(sys.argv[1])
"""


def build_tokenizer(guidellm: str, folder: str) -> str:
    """A tiny byte-level BPE tokenizer trained on the spot (nothing downloaded), with the
    `tokenizers` and `transformers` that GuideLLM's own environment has."""
    python = os.path.join(os.path.dirname(guidellm), "python")
    path = os.path.join(folder, "tokenizer")
    subprocess.run([python, "-c", TOKENIZER, path], check=True, capture_output=True)
    return path


def run_guidellm(guidellm: str, url: str, load: Load, tokenizer: str, folder: str) -> list[Measured]:
    total = load.warmup + load.requests
    data = os.path.join(folder, "prompts.jsonl")
    with open(data, "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps({"prompt": PROMPT.format(i)}) + "\n" for i in range(total))
    out = os.path.join(folder, f"guidellm-{time.monotonic_ns()}.json")
    cmd = [
        guidellm, "run", "--backend", f"kind=openai_http,target={url},model=m",
        "--data", f"kind=json_file,path={data}", "--profile", f"kind=concurrent,streams={load.streams}",
        "--constraint", f"kind=max_requests,count={total}", "--tokenizer", f"kind=huggingface_auto,model={tokenizer}",
        "--disable-console-interactive", "--output", f"kind=json,path={out}",
    ]  # fmt: skip
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    subprocess.run(cmd, capture_output=True, text=True, check=True, env=env, cwd=folder)
    with open(out, encoding="utf-8") as fh:
        requests = json.load(fh)["benchmarks"][0]["requests"]["successful"]
    rows = []
    for request in requests:
        timings = request["info"]["timings"]
        found = PROMPT_ID.search(request["request_args"])
        if found and timings.get("first_token_iteration") and timings.get("request_start"):
            ttft = request.get("time_to_first_token_ms") or 1000.0 * (timings["first_token_iteration"] - timings["request_start"])
            rows.append((timings["request_start"], Measured(int(found.group(1)), ttft)))
    rows.sort(key=lambda row: row[0])
    return [measured for _, measured in rows[load.warmup :]]


def scratch() -> tempfile.TemporaryDirectory:
    return tempfile.TemporaryDirectory(prefix="bench-accuracy-")
