"""bench --ray: the same workers as Ray actors on a local Ray instance (2 CPUs) started by the test."""

from __future__ import annotations

import json

import pytest
from conftest import ROOT, clean_env, run_cli, run_exe

ray = pytest.importorskip("ray", reason="the ray extra is not installed")


def test_distributed_bench_merges_exactly(server, tmp_path):
    from streamchat.bench.metrics import summarise

    recs = tmp_path / "r.ndjson"
    r = run_cli(
        "bench", "--ray", "local", "--workers", "2", "--url", server.url + "/api/chat/stream",
        "--requests", "24", "--concurrency", "4", "--warmup", "2", "-o", "json", "--records", str(recs),
        timeout=180,
    )  # fmt: skip
    assert r.code == 0, r.stderr
    summary = json.loads(r.out)
    assert summary["ray"] == {"address": "local", "actors": 2, "hosts": 1, "failed_actors": 0}
    assert "ray: 2 actors on 1 host (local)" in r.stderr
    records = [json.loads(line) for line in recs.read_text().splitlines()]
    assert sorted(rec["id"] for rec in records) == list(range(24))
    again = summarise(records, summary["wall_s"])
    for key in ("ok", "failed", "ttft_ms", "itl_ms", "tpot_ms", "e2e_ms", "output_tokens", "requests_per_s"):
        assert again[key] == summary[key], key


def test_a_failed_actor_is_reported_not_hidden(server):
    from dataclasses import replace

    import streamchat.bench.ray_workers as ray_workers
    from streamchat.bench.metrics import summarise
    from streamchat.bench.runner import LoadSpec
    from streamchat.bench.workers import WORKER_FAILED
    from streamchat.protocol.requests import ChatRequest

    spec = LoadSpec(server.url + "/api/chat/stream", requests=6, concurrency=2, prompts=[ChatRequest(message="hi")])
    real_split = ray_workers.split

    def split_with_a_broken_share(spec, workers):
        good, bad = real_split(spec, workers)
        return [good, replace(bad, url="ftp://127.0.0.1:1/nowhere")]  # this actor's task raises at once

    ray_workers.split = split_with_a_broken_share
    try:
        seen = []
        records, wall, _lag, where = ray_workers.run_on_ray(spec, "local", 2, seen.append)
    finally:
        ray_workers.split = real_split
    assert len(records) == len(seen) == 6 and where["failed_actors"] == 1
    s = summarise(records, wall)
    assert s["ok"] == 3 and s["errors"] == {WORKER_FAILED: 3}
    assert all("actor failed" in r["error"] for r in records if r["status"] == WORKER_FAILED)


def test_without_ray_installed_it_is_a_usage_error_with_a_hint(tmp_path):
    fake = tmp_path / "ray"
    fake.mkdir()
    (fake / "__init__.py").write_text("raise ImportError(\"No module named 'ray'\")\n")
    env = clean_env(PYTHONPATH=f"{tmp_path}:{ROOT}")  # (a fresh interpreter: this one has imported Ray)
    r = run_exe("bench", "--ray", "local", "--requests", "1", env=env)
    assert r.code == 2 and "streamchat[ray]" in r.stderr and "Traceback" not in r.stderr


# That a bench run without --ray imports nothing of Ray: test_bench_report.py, in the same fresh interpreter
# that checks it imports no matplotlib.
