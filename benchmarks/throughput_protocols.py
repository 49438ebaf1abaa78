"""Throughput of the newer wire protocols: 200,000 Responses-API text deltas and 200,000 Ollama NDJSON
lines through ``streamchat chat -o ndjson``, each against a reference loop measured in the same run.

The references parse the same stream the plain way and write the same NDJSON: httpx + httpx-sse +
``json.loads`` per event for the Responses stream, httpx ``iter_lines`` + ``json.loads`` per line for
Ollama. A raw loopback server (``tests/raw_servers.py``) sends each body as one HTTP chunk per event,
as uvicorn (vLLM, LiteLLM) and Go's net/http (Ollama) flush them. Each client is its own process,
stdout to /dev/null, wall time, best of N rounds (each client once a round).

    python3 benchmarks/throughput_protocols.py [--events 200000] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from throughput import best_times, compile_bytecode, raw_server  # noqa: E402

RESPONSES_LOOP = r"""
import json, sys, httpx
from httpx_sse import connect_sse
END = ("response.completed", "response.incomplete", "response.failed", "error")
with httpx.Client(timeout=60) as client:
    with connect_sse(client, "POST", sys.argv[1], json={"model": "m", "input": "hi", "stream": True}) as source:
        out = sys.stdout
        for sse in source.iter_sse():
            event = json.loads(sse.data)
            kind = event["type"]
            if kind == "response.output_text.delta":
                if event["delta"]:
                    out.write(json.dumps({"type": "content", "text": event["delta"]}) + "\n")
            elif kind in END:
                break
"""

OLLAMA_LOOP = r"""
import json, sys, httpx
with httpx.Client(timeout=60) as client:
    with client.stream("POST", sys.argv[1], json={"model": "m", "messages": [], "stream": True}) as response:
        out = sys.stdout
        for line in response.iter_lines():
            if not line:
                continue
            obj = json.loads(line)
            text = obj.get("message", {}).get("content")
            if text:
                out.write(json.dumps({"type": "content", "text": text}) + "\n")
            if obj.get("done"):
                break
"""


def token(i: int) -> str:
    return f" tok{i % 1000}"


def responses_events(events: int) -> bytes:
    """A Responses stream as OpenAI sends one: lifecycle events, one message item whose text streams as
    ``events`` deltas, the item's ``.done`` events (the whole text again), ``response.completed``."""
    seq = iter(range(events + 100))
    item = "msg_" + "6" * 48
    response = {
        "id": "resp_" + "6" * 48,
        "object": "response",
        "created_at": 1,
        "status": "in_progress",
        "model": "m",
        "output": [],
        "usage": None,
    }

    def event(kind: str, **fields: object) -> bytes:
        data = json.dumps({"type": kind, "sequence_number": next(seq), **fields}, separators=(",", ":"))
        return f"event: {kind}\ndata: {data}\n\n".encode()

    where = {"item_id": item, "output_index": 0, "content_index": 0}
    parts = [
        event("response.created", response=response),
        event("response.in_progress", response=response),
        event(
            "response.output_item.added",
            output_index=0,
            item={"id": item, "type": "message", "status": "in_progress", "content": [], "role": "assistant"},
        ),
        event("response.content_part.added", **where, part={"type": "output_text", "annotations": [], "text": ""}),
    ]
    parts += [event("response.output_text.delta", **where, delta=token(i), logprobs=[]) for i in range(events)]
    text = "".join(token(i) for i in range(events))
    part = {"type": "output_text", "annotations": [], "logprobs": [], "text": text}
    done_item = {"id": item, "type": "message", "status": "completed", "content": [part], "role": "assistant"}
    usage = {
        "input_tokens": 1,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": events,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": events + 1,
    }
    parts += [
        event("response.output_text.done", **where, text=text, logprobs=[]),
        event("response.content_part.done", **where, part=part),
        event("response.output_item.done", output_index=0, item=done_item),
        event("response.completed", response={**response, "status": "completed", "output": [done_item], "usage": usage}),
    ]
    return b"".join(parts)


def ollama_lines(events: int) -> bytes:
    """An Ollama /api/chat stream: ``events`` lines of one token each (every line its own timestamp), then
    the last line with the counts and durations."""
    parts = [
        b'{"model":"m","created_at":"2025-06-09T17:58:%09.6fZ","message":{"role":"assistant","content":%s},"done":false}\n'
        % (i * 0.0001 % 60, json.dumps(token(i)).encode())
        for i in range(events)
    ]
    parts.append(
        b'{"model":"m","created_at":"2025-06-09T17:59:00.000000Z","message":{"role":"assistant","content":""},"done_reason":"stop","done":true,'
        b'"total_duration":23595672042,"load_duration":24478458,"prompt_eval_count":1,"prompt_eval_duration":339942708,"eval_count":%d,"eval_duration":23230435042}\n'
        % events
    )
    return b"".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    compile_bytecode()
    py = sys.executable
    shapes = [
        ("Responses API", responses_events(args.events), "text/event-stream", "/v1/responses", "httpx-sse loop", RESPONSES_LOOP),
        ("Ollama /api/chat", ollama_lines(args.events), "application/x-ndjson", "/api/chat", "httpx iter_lines loop", OLLAMA_LOOP),
    ]
    print(f"{args.events} events a stream, best of {args.runs} runs, {os.cpu_count()} cores")
    for title, body, content_type, path, reference, loop in shapes:
        with raw_server(body, framing="chunked", pieces=args.events + 8, content_type=content_type, path=path) as url:
            clients = {
                f"{reference} (reference)": [py, "-c", loop, url],
                "streamchat -o ndjson": [
                    py,
                    "-m",
                    "streamchat",
                    "chat",
                    "--url",
                    url,
                    "-m",
                    "m",
                    "-q",
                    "--max-response-size",
                    "1GB",
                    "-o",
                    "ndjson",
                    "hi",
                ],
            }
            times = best_times(clients, args.runs)
        ref, ours = times[f"{reference} (reference)"], times["streamchat -o ndjson"]
        print(f"== {title}: {len(body) / 1e6:.1f} MB, one HTTP chunk per event")
        for name, elapsed in times.items():
            if elapsed is None:
                print(f"{name:34s}  failed")
                continue
            ratio = f"{elapsed / ref:5.2f}x the reference" if ref else ""
            print(f"{name:34s} {elapsed:7.2f} s  {args.events / elapsed / 1000:8.0f} k events/s  {ratio}")
        if ref and ours:
            print(f"chat -o ndjson / {reference}: {ours / ref:.3f}x (target: at most 0.3x)")


if __name__ == "__main__":
    main()
