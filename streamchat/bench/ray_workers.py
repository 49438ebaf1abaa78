"""``bench --ray ADDRESS``: the same bench workers as ``--workers``, run as Ray actors (issue #10).

Imported only when ``--ray`` is given (Ray is the optional extra ``streamchat[ray]``). Each actor runs
``workers.run_share`` on its share: every request is timed on the host that sent it, so clock offsets
between hosts never enter a latency. Actors warm up, then meet at a barrier actor so the measured
parts start together; the driver polls each actor for finished records (progress, NDJSON) and pools
them exactly as for local workers. An actor that fails has its unreported requests counted as
``worker_failed``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import UsageError
from .runner import LoadSpec
from .workers import ShareResult, merge, missing_records, split

INSTALL_HINT = "install the extra: python3 -m pip install 'streamchat[ray]'"
POLL_SECONDS = 0.25


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise UsageError("--ray needs Ray, which is not installed", hint=INSTALL_HINT) from None
    return ray


def connect(ray: Any, address: str, actors: int) -> None:
    """``local`` starts a Ray instance for this run; ``auto`` joins this host's cluster; else an address."""
    options: dict[str, Any] = {"include_dashboard": False, "logging_level": "ERROR", "log_to_driver": False}
    try:
        if address == "local":
            ray.init(num_cpus=max(2, actors), **options)
        else:
            ray.init(address=address, **options)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise UsageError(f"cannot connect to the Ray cluster at {address!r}: {exc}") from None


def _actor_classes(ray: Any) -> tuple[Any, Any]:
    @ray.remote(num_cpus=0)
    class Barrier:
        """Holds the actors until all have warmed up."""

        def __init__(self, parties: int) -> None:
            import asyncio

            self.parties = parties
            self.arrived = 0
            self.all_here = asyncio.Event()

        async def arrive(self) -> None:
            self.arrived += 1
            if self.arrived >= self.parties:
                self.all_here.set()
            await self.all_here.wait()

        def release(self) -> None:
            """A party that will never arrive (its actor failed) must not hold the others."""
            self.parties -= 1
            if self.arrived >= self.parties:
                self.all_here.set()

    @ray.remote(num_cpus=1, max_concurrency=2)
    class BenchActor:
        """One share of the load; ``drain`` runs alongside ``run`` and hands over finished records."""

        def __init__(self) -> None:
            self.pending: list[dict[str, Any]] = []

        def run(self, spec_json: dict[str, Any], barrier: Any) -> dict[str, Any]:
            import asyncio

            from streamchat.bench.workers import run_share

            async def before_measure() -> None:
                await barrier.arrive.remote()

            result = asyncio.run(run_share(spec_json, before_measure, self.pending.append))
            del result["records"]  # already handed over through drain()
            return result

        def drain(self) -> list[dict[str, Any]]:
            # The same list object run() appends to (from its own thread): take a prefix of it.
            count = len(self.pending)
            taken = self.pending[:count]
            del self.pending[:count]
            return taken

    return Barrier, BenchActor


def run_on_ray(
    spec: LoadSpec, address: str, workers: int, on_record: Callable[[dict[str, Any]], None]
) -> tuple[list[dict[str, Any]], float, list[float], dict[str, Any]]:
    """Split ``spec`` over ``workers`` actors (one a CPU of the cluster when 1 or fewer), run, merge."""
    ray = import_ray()
    connect(ray, address, max(workers, 2))
    try:
        actors_wanted = workers if workers > 1 else max(1, int(ray.cluster_resources().get("CPU", 1)))
        shares = split(spec, actors_wanted)
        barrier_class, actor_class = _actor_classes(ray)
        barrier = barrier_class.remote(len(shares))
        actors = [actor_class.remote() for _ in shares]
        runs = {actor.run.remote(share.to_json(), barrier): index for index, (actor, share) in enumerate(zip(actors, shares, strict=True))}
        results = [ShareResult() for _ in shares]
        pending = set(runs)
        while pending:
            done, _ = ray.wait(list(pending), num_returns=len(pending), timeout=POLL_SECONDS)
            for index, actor in enumerate(actors):
                if results[index].error is None:
                    _collect(ray, actor, results[index], on_record)
            for ref in done:
                pending.discard(ref)
                index = runs[ref]
                result = results[index]
                try:
                    end = ray.get(ref)
                    _collect(ray, actors[index], result, on_record)
                    result.wall, result.lag, result.host = end["wall"], end["lag"], end["host"]
                except Exception as exc:  # noqa: BLE001 - RayTaskError / RayActorError: the share failed
                    result.error = f"actor failed: {_reason(exc)}"
                    barrier.release.remote()
                    for record in missing_records(shares[index], result.records, result.error):
                        result.records.append(record)
                        on_record(record)
        records, wall, lag = merge(results)
        where = {
            "address": address,
            "actors": len(shares),
            "hosts": len({r.host for r in results if r.host}),
            "failed_actors": sum(r.error is not None for r in results),
        }
        return records, wall, lag, where
    finally:
        ray.shutdown()


def _collect(ray: Any, actor: Any, result: ShareResult, on_record: Callable[[dict[str, Any]], None]) -> None:
    try:
        records = ray.get(actor.drain.remote(), timeout=30)
    except Exception:  # noqa: BLE001 - a dead actor: its run() reports the failure
        return
    for record in records:
        result.records.append(record)
        on_record(record)


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    last = [line for line in text if line.strip()]
    return (last[-1] if last else type(exc).__name__)[:200]
