"""Polling economy side by side: the seed's fixed 2 s loop against the client's wait, on the same
sandbox jobs of 20 s and 60 s, with the service reporting progress and without it.

For each job: how many GETs the wait made, and how long after the job's end it noticed
(the completion time the sandbox reports, against the moment the wait returned). The client's
wait runs as for a first job (no prior) and as for a known job (a prior: how long earlier jobs
of the same model and length took, as the job ledger gives it; here the middle of the row's
job lengths). "Progress off" is a service that reports 0 until the job is done, as ElevenLabs
may: the sandbox's answers pass through a transport that sets their progress to 0 (or 100 once
COMPLETED). The fixed loop never reads progress, so it runs once per job length. Prints a table
with ratios to the loop; asserts nothing.

    python benchmarks/bench_polling.py
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import datetime

import httpx
from _table import table  # benchmarks/_table.py: run as a script, this folder is on the path

from apiframe_magic import AsyncApiframeClient, MusicRequest
from apiframe_magic.sandbox import SANDBOX_API_KEY, SandboxServer

# Each row runs jobs whose ends fall at several phases of a 2 s loop (20.0, 20.5, 21.0, 21.5 s
# for "20 s"), so the fixed loop's delay is its honest average rather than a lucky 0.
PHASES = (0.0, 0.5, 1.0, 1.5)
JOBS_PER_ROW = len(PHASES)
HEADERS = {"X-API-Key": SANDBOX_API_KEY}

Waiter = Callable[[SandboxServer], Awaitable[tuple[int, float]]]


class NoProgress(httpx.AsyncBaseTransport):
    """A transport whose job snapshots report no progress: 0 until COMPLETED, then 100."""

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        if request.method != "GET" or not request.url.path.startswith("/v2/jobs/"):
            return response
        body = json.loads(await response.aread())
        body["progress"] = 100 if body.get("status") == "COMPLETED" else 0
        return httpx.Response(response.status_code, headers={"content-type": "application/json"},
                              content=json.dumps(body).encode(), request=request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def completed_at(job: dict[str, object]) -> float:
    """The job's completion as a Unix time (the sandbox stamps it with milliseconds)."""
    stamp = str(job["completedAt"]).replace("Z", "+00:00")
    return datetime.fromisoformat(stamp).timestamp()


async def seed_loop(server: SandboxServer) -> tuple[int, float]:
    """The seed's example: GET every 2 s until COMPLETED."""
    async with httpx.AsyncClient(base_url=server.url, headers=HEADERS) as http:
        body = {"prompt": "bench", "model": "elevenlabs-music", "elevenlabsParams": {"music_length_ms": 5000}}
        job_id = (await http.post("/v2/music/generate", json=body)).json()["jobId"]
        gets = 0
        while True:
            await asyncio.sleep(2.0)
            gets += 1
            job = (await http.get(f"/v2/jobs/{job_id}")).json()
            if job["status"] == "COMPLETED":
                return gets, time.time() - completed_at(job)


def client_wait(expected: float | None, *, progress: bool) -> Waiter:
    async def wait(server: SandboxServer) -> tuple[int, float]:
        transport = None if progress else NoProgress()
        async with AsyncApiframeClient(SANDBOX_API_KEY, server.url, transport=transport) as client:
            job = await client.submit(MusicRequest("bench", music_length_ms=5000))
            gets = 0

            def count(_: object) -> None:
                nonlocal gets
                gets += 1

            done = await client.wait(job.job_id, on_progress=count, expected_seconds=expected,
                                     look_first=False)
            return gets, time.time() - completed_at(dict(done.raw))

    return wait


async def row(seconds: float, make: Waiter) -> tuple[float, float]:
    """Mean GETs and mean delay over the row's jobs, one sandbox per job."""
    servers = [SandboxServer(job_seconds=seconds + phase) for phase in PHASES]
    try:
        for server in servers:
            server.start()
        runs = await asyncio.gather(*(make(server) for server in servers))
    finally:
        for server in servers:
            server.stop()
    return statistics.mean(r[0] for r in runs), statistics.mean(r[1] for r in runs)


async def main() -> None:
    rows: list[list[str]] = []
    for seconds in (20.0, 60.0):
        prior = seconds + statistics.mean(PHASES)
        waiters: list[tuple[str, str, Waiter]] = [("-", "fixed 2 s loop (seed)", seed_loop)]
        for progress in (True, False):
            on = "on" if progress else "off"
            waiters.append((on, "first job (no prior)", client_wait(None, progress=progress)))
            waiters.append((on, "known job (prior)", client_wait(prior, progress=progress)))
        # All rows of one job length at once: the same conditions for each, in one job's time.
        results = await asyncio.gather(*(row(seconds, make) for _, _, make in waiters))
        base_gets, base_delay = results[0]
        for (on, label, _), (gets, delay) in zip(waiters, results, strict=True):
            rows.append([f"{seconds:.0f} s", on, label, f"{gets:.1f}", f"{delay:.2f}",
                         f"{gets / base_gets:.2f}", f"{delay / base_delay:.2f}" if base_delay else "-"])
    title = (f"Polling economy (mean of {JOBS_PER_ROW} jobs each; targets with a prior, progress on "
             "and off: at most 0.5x the loop's GETs and delay)")
    header = ["job", "progress", "waiter", "GETs per job", "delay after end (s)", "GETs vs loop",
              "delay vs loop"]
    table(title, header, rows)


if __name__ == "__main__":
    asyncio.run(main())
