"""Splitting one load across worker processes, and merging what they measured.

Each worker runs the very same ``run_load`` on its share; every request's record is measured in the
process that sent it, so merging is just pooling the records: the summary of the merged records is
the summary of all samples at once (no averaging of percentiles). Workers warm up, say ``ready``,
and start the measured part together on ``go``; the merged wall time is the longest worker's.

The protocol with a worker is NDJSON on its stdin and stdout (``python -m streamchat.bench.workers``):
in, one spec line, later ``go``; out, ``{"ready": true}``, one record a line, then ``{"end": ...}``.
Ray actors (#10) run the same ``run_share`` function.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from .runner import LoadSpec, run_load

WORKER_FAILED = "worker_failed"


def _shares(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


# An unbounded share (no --requests, only --duration) numbers its records from its own block of ids.
UNBOUNDED_BLOCK = 10**9


def split(spec: LoadSpec, workers: int) -> list[LoadSpec]:
    """``workers`` disjoint shares of ``spec`` that together are the same load."""
    if spec.concurrency and not spec.rate:
        workers = min(workers, spec.concurrency)  # a lane is the smallest unit of a closed loop
    workers = max(1, workers if spec.requests is None else min(workers, spec.requests))
    requests: list[int | None] = [None] * workers if spec.requests is None else list(_shares(spec.requests, workers))
    warmups = _shares(spec.warmup, workers)
    lanes = _shares(spec.concurrency, workers) if spec.concurrency else [None] * workers
    shares = []
    first = spec.first_id
    for i in range(workers):
        shares.append(
            replace(
                spec,
                requests=requests[i],
                warmup=warmups[i],
                concurrency=lanes[i] if lanes[i] is None else max(1, lanes[i]),
                rate=spec.rate / workers if spec.rate else None,
                # Constant arrivals interleave: worker i starts i/R after worker 0, each then every P/R.
                phase=spec.phase + (i / spec.rate if spec.rate and spec.arrival == "constant" else 0.0),
                seed=spec.seed * 1000 + i,
                first_id=first,
            )
        )
        size = requests[i]
        first += UNBOUNDED_BLOCK if size is None else size
    return [share for share in shares if share.requests is None or share.requests]


@dataclass
class ShareResult:
    records: list[dict[str, Any]] = field(default_factory=list)
    wall: float = 0.0
    lag: list[float] = field(default_factory=list)
    host: str = ""
    error: str | None = None


def missing_records(spec: LoadSpec, got: list[dict[str, Any]], reason: str) -> list[dict[str, Any]]:
    """A failed worker's requests that never reported: counted as failed, never silently dropped."""
    seen = {r["id"] for r in got}
    if spec.requests is None:  # an unbounded share: how many it would have sent is unknown, its failure is not
        return [{"id": max(seen, default=spec.first_id - 1) + 1, "status": WORKER_FAILED, "error": reason}]
    return [
        {"id": i, "status": WORKER_FAILED, "error": reason} for i in range(spec.first_id, spec.first_id + spec.requests) if i not in seen
    ]


def merge(results: list[ShareResult]) -> tuple[list[dict[str, Any]], float, list[float]]:
    records = sorted((r for result in results for r in result.records), key=lambda r: r.get("id", 0))
    wall = max((result.wall for result in results), default=0.0)
    lag = [sample for result in results for sample in result.lag]
    return records, wall, lag


async def run_share(spec_json: dict[str, Any], before_measure: Any = None, on_record: Any = None) -> dict[str, Any]:
    """One worker's part, in whatever process runs it: JSON in, JSON out."""
    import socket

    records, wall, lag = await run_load(LoadSpec.from_json(spec_json), on_record, before_measure)
    return {"records": records, "wall": wall, "lag": lag, "host": socket.gethostname()}


async def run_processes(
    shares: list[LoadSpec], on_record: Callable[[dict[str, Any]], None]
) -> tuple[list[dict[str, Any]], float, list[float]]:
    """Run each share in its own ``python -m streamchat.bench.workers`` process; merge the results."""
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-P", "-m", "streamchat.bench.workers", stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
        )
        for _ in shares
    ]
    results = [ShareResult() for _ in shares]
    ready = [asyncio.Event() for _ in shares]
    go = asyncio.Event()

    async def drive(spec: LoadSpec, proc: asyncio.subprocess.Process, result: ShareResult, is_ready: asyncio.Event) -> None:
        assert proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write(json.dumps(spec.to_json()).encode() + b"\n")
            await proc.stdin.drain()
            async for line in proc.stdout:
                message = json.loads(line)
                if "ready" in message:
                    is_ready.set()
                    await go.wait()
                    proc.stdin.write(b"go\n")
                    await proc.stdin.drain()
                elif "end" in message:
                    result.wall, result.lag, result.host = message["end"]["wall"], message["end"]["lag"], message["end"]["host"]
                else:
                    result.records.append(message)
                    on_record(message)
        except (OSError, ValueError) as exc:
            result.error = f"lost the worker: {exc}"
        except asyncio.CancelledError:  # the run was interrupted: the worker would run its share to the end
            proc.kill()
            raise
        finally:
            is_ready.set()  # a worker that died before its warmup ended must not hold the others
            code = await proc.wait()
        if code != 0 and result.error is None:
            result.error = f"worker exited with status {code}"
        if result.error is not None:
            for record in missing_records(spec, result.records, result.error):
                result.records.append(record)
                on_record(record)

    drivers = [asyncio.ensure_future(drive(*args)) for args in zip(shares, procs, results, ready, strict=True)]
    for event in ready:
        await event.wait()
    go.set()
    try:
        await asyncio.gather(*drivers)
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    return merge(results)


def _worker_main() -> int:
    """The worker process: a spec on stdin, records on stdout."""
    out = sys.stdout

    def emit(obj: dict[str, Any]) -> None:
        out.write(json.dumps(obj) + "\n")
        out.flush()

    # Ctrl-C reaches the whole process group; the parent decides (it reports what finished, then stops
    # the workers), so a worker does not also count its unfinished requests as failed.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    spec_json = json.loads(sys.stdin.readline())

    async def before_measure() -> None:
        emit({"ready": True})
        line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        if line.strip() != "go":
            raise SystemExit(3)

    try:
        result = asyncio.run(run_share(spec_json, before_measure, emit))
    except Exception as exc:  # noqa: BLE001 - one line; the parent counts this worker's requests as failed
        sys.stderr.write(f"streamchat: bench worker failed: {exc}\n")
        return 1
    emit({"end": {"wall": result["wall"], "lag": result["lag"], "host": result["host"]}})
    return 0


if __name__ == "__main__":
    raise SystemExit(_worker_main())
