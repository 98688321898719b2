"""Polling economy side by side: the seed's fixed 2 s loop against the client's wait, on the same
sandbox jobs of 20 s and 60 s.

For each job: how many GETs the wait made, and how long after the job's end it noticed
(the completion time the sandbox reports, against the moment the wait returned). The client's
wait runs twice: from the job's progress alone, and with a prior (how long earlier jobs of the
same model and length took, as the job ledger gives it). Prints a table; asserts nothing.

    python benchmarks/bench_polling.py
"""

from __future__ import annotations

import asyncio
import statistics
import time
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


async def client_wait(server: SandboxServer, expected: float | None) -> tuple[int, float]:
    async with AsyncApiframeClient(SANDBOX_API_KEY, server.url) as client:
        job = await client.submit(MusicRequest("bench", music_length_ms=5000))
        gets = 0

        def count(_: object) -> None:
            nonlocal gets
            gets += 1

        done = await client.wait(job.job_id, on_progress=count, expected_seconds=expected, look_first=False)
        return gets, time.time() - completed_at(dict(done.raw))


async def row(seconds: float, label: str, make: object) -> list[str]:
    servers = [SandboxServer(job_seconds=seconds + phase) for phase in PHASES]
    try:
        for server in servers:
            server.start()
        runs = await asyncio.gather(*(make(server) for server in servers))  # type: ignore[operator]
    finally:
        for server in servers:
            server.stop()
    gets = statistics.mean(r[0] for r in runs)
    delay = statistics.mean(r[1] for r in runs)
    return [f"{seconds:.0f} s", label, f"{gets:.1f}", f"{delay:.2f}"]


async def main() -> None:
    rows: list[list[str]] = []
    for seconds in (20.0, 60.0):
        baseline = await row(seconds, "fixed 2 s loop (seed)", seed_loop)
        progress = await row(seconds, "wait: progress", lambda s: client_wait(s, None))
        prior = await row(seconds, "wait: progress + prior", lambda s, d=seconds: client_wait(s, d + 0.75))
        base_gets, base_delay = float(baseline[2]), float(baseline[3])
        for r in (baseline, progress, prior):
            r += [f"{float(r[2]) / base_gets:.2f}", f"{float(r[3]) / base_delay:.2f}" if base_delay else "-"]
            rows.append(r)
    title = (f"Polling economy (mean of {JOBS_PER_ROW} jobs each; targets: at most 0.5x the loop's "
             "GETs and delay)")
    header = ["job", "waiter", "GETs per job", "delay after end (s)", "GETs vs loop", "delay vs loop"]
    table(title, header, rows)


if __name__ == "__main__":
    asyncio.run(main())
